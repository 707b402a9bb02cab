from __future__ import annotations

import json

import pytest

FAKE = {
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "gitlab_token": "glpat-" + "xY9z8W7v6U5t4S3r2Q1p",
    "slack_token": "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "openai_key": "sk-proj-" + "Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hj6Kl9No2Qr5Tu8Wx",
    "anthropic_key": "sk-ant-api03-" + "A1b2C3d4E5f6G7h8I9j0" * 5,
    "google_api_key": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.fixture
def engine(make_engine):
    return make_engine(
        """\
        version: 1
        name: s
        steps:
          - {id: secrets, kind: secrets}
        """
    )


@pytest.mark.parametrize("kind", sorted(FAKE))
def test_each_kind_is_blocked_and_never_echoed(engine, kind):
    secret = FAKE[kind]
    text = f"here it is: {secret} -- thanks"
    decision = engine.check(text)
    assert decision.blocked
    (finding,) = decision.findings
    assert finding.label == kind
    assert text[finding.span[0] : finding.span[1]] == secret
    assert secret not in json.dumps(decision.to_dict())


def test_private_key_block(engine):
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    (finding,) = engine.check(text).findings
    assert finding.label == "private_key"
    assert finding.span == (0, len(text))


@pytest.mark.parametrize(
    "text, expected",
    [
        ('db_password = "hR8#kq2Lz!vW9"', "password_assignment"),
        ("API_KEY: 7f3a9c1e5b2d8f4a6c0e", "password_assignment"),
        ("password=changeme", None),  # low entropy: documentation, not a leak
        ("password: ${DB_PASSWORD}", None),  # a placeholder
        ("the password is long", None),
    ],
)
def test_password_assignments_need_entropy(engine, text, expected):
    labels = [f.label for f in engine.check(text).findings]
    assert labels == ([expected] if expected else [])


def test_words_that_look_like_prefixes_are_not_keys(engine):
    assert engine.check('ask me about sk-learn and ghp_ prefixes, eyJ is base64 for {"').allowed


def test_kinds_can_be_restricted(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: s
        steps:
          - {id: s, kind: secrets, kinds: [jwt]}
        """
    )
    assert engine.check(FAKE["aws_access_key"]).allowed
    assert engine.check(FAKE["jwt"]).blocked
