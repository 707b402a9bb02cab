"""urls: links written the way an attacker writes them are still found, and findings carry no
part of the link."""

from __future__ import annotations

import json

import pytest

from guardrails import Engine

POLICY = """\
version: 1
name: links
defaults: {run_all: true}
steps:
  - {id: links, kind: urls, allow: [good.com], schemes: [https], ip_hosts: true}
"""

DENY = """\
version: 1
name: links
steps:
  - {id: links, kind: urls, deny: [evil.com, 127.0.0.1]}
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_string(POLICY)


def labels(engine: Engine, text: str) -> list[str]:
    return [f.label for f in engine.check(text).findings]


@pytest.mark.parametrize(
    "text",
    ["https://[2001:db8::1]/payload", "see https://user@[::1]:8443/x", "https://[::ffff:7f00:1]/"],
)
def test_ipv6_literal_hosts_are_ip_hosts(engine, text):
    assert labels(engine, text) == ["ip_host"]


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[click](JavaScript:alert(document.cookie))",
        "![img](data:text/html;base64,PHNjcmlwdD4=)",
        "<a href='vbscript:msgbox(1)'>x</a>",
        '<a href="java&#x09;script:alert(1)">x</a>',
        "[r]: file:///etc/passwd",
        "<javascript:alert(1)>",
        "run javascript:alert(1) now",
        "data:text/html,<b>hi</b>",
        "http://good.com/",
    ],
)
def test_schemes_outside_the_list_are_found_in_links(engine, text):
    assert labels(engine, text) == ["disallowed_scheme"]


def test_javascript_link_span_covers_the_target(engine):
    text = "[x](javascript:alert(1))"
    (finding,) = engine.check(text).findings
    assert text[finding.span[0] : finding.span[1]] == "javascript:alert(1)"


@pytest.mark.parametrize(
    "text",
    [
        "note: see the docs",
        "JavaScript: the good parts",
        "data: 42 rows, file: report.txt",
        "at 10:30, ratio 3:1, re:Invent",
        '{"data": 1, "file": "a.txt"}',
        "x = a // b.c and path/to//thing.txt // TODO fix.",
        "[home](/index.html) and [top](#top) and <a href='page.html'>",
        "https: is the secure one",
        "see https://good.com/a//b.c and [docs](https://docs.good.com/a_(b))",
    ],
)
def test_prose_and_relative_links_are_not_links(engine, text):
    assert engine.check(text).allowed, engine.check(text).findings


@pytest.mark.parametrize(
    "text",
    ["//evil.com/x", "see <a href='//evil.com/x'>", "[x](//evil.com)", "[x](\\\\evil.com)"],
)
def test_scheme_relative_urls_are_judged_by_host(engine, text):
    assert labels(engine, text) == ["unlisted_domain"]


@pytest.mark.parametrize(
    "text", ["https:/\\evil.com/", "https:\\\\evil.com/", "[x](https:evil.com)"]
)
def test_browser_tolerated_slashes_still_give_the_host(engine, text):
    assert labels(engine, text) == ["unlisted_domain"]


@pytest.mark.parametrize(
    "text",
    [
        "https://%65vil.com/",
        "https://EV%49L.com/",
        "https://sub.%65vil%2ecom/",
        "https://ｅｖｉｌ.com/",
    ],
)
def test_hosts_are_percent_decoded_before_the_deny_list(text):
    assert labels(Engine.from_string(DENY), text) == ["denied_domain"]


def test_percent_encoded_allowed_host_is_allowed(engine):
    assert engine.check("https://%67ood.com/x").allowed


@pytest.mark.parametrize(
    "text",
    [
        "https://2130706433/",
        "https://127.1/",
        "https://0x7f.0.0.1/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.0.1/",
        "https://127.0.0.1./",
    ],
)
def test_every_ipv4_form_a_browser_accepts_is_an_ip_host(engine, text):
    assert labels(engine, text) == ["ip_host"]


@pytest.mark.parametrize("text", ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/"])
def test_ipv4_hosts_are_compared_in_canonical_form(text):
    assert labels(Engine.from_string(DENY), text) == ["denied_domain"]


def test_numeric_looking_domains_are_not_ip_hosts(engine):
    assert labels(engine, "https://1.2.3.4.5/") == ["unlisted_domain"]
    assert labels(engine, "https://0x7g.com/") == ["unlisted_domain"]


def test_findings_carry_no_part_of_the_link():
    engine = Engine.from_string(
        POLICY.replace("ip_hosts: true", "ip_hosts: true, deny: [evil.com]")
    )
    text = "https://evil.com/x https://other.net/ http://good.com/ https://10.0.0.1/ https://[zz]/"
    decision = engine.check(text)
    assert sorted(f.label for f in decision.findings) == [
        "denied_domain",
        "disallowed_scheme",
        "ip_host",
        "malformed_url",
        "unlisted_domain",
    ]
    dumped = json.dumps(decision.to_dict())
    for fragment in ("evil", "other", "good", "10.0.0.1", "zz"):
        assert fragment not in dumped, fragment
