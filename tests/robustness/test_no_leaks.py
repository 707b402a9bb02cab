"""A secret the policy blocks never leaves: not in the HTTP answer, the logs (at DEBUG), the audit
log or the metrics, through the middleware (requests and responses) and the service, whatever
else the content holds (an e-mail to redact, a zero-width character, a bidi override that blocks
first and skips the secrets step)."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import httpx
import pytest

from guardrails import Engine
from guardrails.audit import AuditLog, audit_record, decision_recorder, full_masker
from guardrails.metrics import Metrics
from guardrails.middleware import GuardrailsMiddleware
from guardrails.server import create_app
from guardrails.testing import RecordingApp, asgi_client

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "Zr8kQ2mX7vLp4nW9" * 2 + "aB3d",
}
ENGINE = Engine.from_path(ROOT / "policies/default.yaml")


def wrappings(secret: str) -> dict[str, str]:
    """The secret alone and beside content that changes which steps run or what is redacted."""
    return {
        "alone": f"my key is {secret}",
        "with an e-mail to redact": f"mail a.b@example.com the key {secret} now",
        "with a zero-width character": f"key {secret}\u200b please",
        "after a bidi override": f"use \u202e {secret} now",
    }


def everything(response: httpx.Response) -> str:
    return response.text + json.dumps(dict(response.headers))


def multipart_text(name: str, text: str) -> tuple[bytes, str]:
    body = (
        f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n--B--\r\n'
    ).encode()
    return body, "multipart/form-data; boundary=B"


@pytest.mark.parametrize("kind", list(SECRETS))
async def test_the_middleware_leaks_no_secret(kind, caplog):
    caplog.set_level(logging.DEBUG)
    secret = SECRETS[kind]
    audit, metrics = io.StringIO(), Metrics()
    recorder = RecordingApp()
    app = GuardrailsMiddleware(
        recorder, policy=ENGINE, on_decision=decision_recorder(AuditLog(audit), metrics)
    )
    async with asgi_client(app) as c:
        answers = []
        for text in wrappings(secret).values():
            data_url = "data:text/plain;base64," + base64.b64encode(text.encode()).decode()
            multipart, multipart_type = multipart_text("q", text)
            answers += [
                await c.post("/chat", json={"messages": [{"role": "user", "content": text}]}),
                await c.post("/chat", json={"prompt": data_url}),
                await c.post("/chat", data={"q": text}),
                await c.post("/chat", content=multipart, headers={"content-type": multipart_type}),
                await c.post("/chat", content=text, headers={"content-type": "text/plain"}),
            ]
    assert all(a.status_code == 400 and a.json()["error"] == "content_blocked" for a in answers)
    assert recorder.bodies == []
    for answer in answers:
        assert secret not in everything(answer)
    assert secret not in caplog.text
    assert audit.getvalue() and secret not in audit.getvalue()
    assert secret not in metrics.exposition()[0].decode()


@pytest.mark.parametrize("kind", list(SECRETS))
async def test_a_secret_in_the_apps_answer_never_reaches_the_client(kind, caplog):
    caplog.set_level(logging.DEBUG)
    secret = SECRETS[kind]
    audit = io.StringIO()
    for text in wrappings(secret).values():
        recorder = RecordingApp(json.dumps({"answer": text}).encode())
        app = GuardrailsMiddleware(
            recorder,
            policy=ENGINE,
            check_responses=True,
            on_decision=decision_recorder(AuditLog(audit)),
        )
        async with asgi_client(app) as c:
            answer = await c.post("/chat", json={"prompt": "what is my key?"})
        assert answer.status_code == 400 and answer.json()["direction"] == "output"
        assert secret not in everything(answer)
    assert secret not in caplog.text and secret not in audit.getvalue()


@pytest.fixture
def logging_policy(tmp_path) -> Path:
    """The default policy with ``audit: {log_content: true}``: content is kept, masked."""
    text = (ROOT / "policies/default.yaml").read_text()
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("steps:", "audit: {log_content: true}\nsteps:", 1))
    return path


@pytest.mark.parametrize("shadow", [False, True])
@pytest.mark.parametrize("kind", list(SECRETS))
async def test_the_service_leaks_no_secret(kind, shadow, logging_policy, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secret = SECRETS[kind]
    log = tmp_path / "audit.jsonl"
    app = create_app(logging_policy, audit=log, shadow=shadow)
    texts = list(wrappings(secret).values())
    async with asgi_client(app) as c:
        answers = [
            await c.post("/v1/moderate", json={"input": texts}),
            await c.post("/v1/moderate?format=openai", json={"input": texts}),
            await c.post(
                "/v1/moderate",
                json={
                    "input": [{"type": "text", "text": t} for t in texts],
                    "direction": "output",
                    "prompt": "say hi",
                },
            ),
            await c.post(
                "/v1/moderate", files={"f": ("notes.txt", texts[0].encode(), "text/plain")}
            ),
            await c.post("/v1/moderate", json={"input": [{"note": texts[0]}]}),  # a 400
        ]
        metrics = (await c.get("/metrics")).text
    app.state.guardrails.audit.close()
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400]
    verdicts = [r["verdict"] for r in answers[0].json()["results"]]
    assert verdicts == (["allow"] * 4 if shadow else ["block"] * 4)
    for answer in answers:
        assert secret not in everything(answer)
    assert secret not in caplog.text
    assert secret not in metrics
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 13 and all(r["verdict"] == "block" for r in records)
    assert secret not in log.read_text()
    masked = records[3]["content"]  # the bidi override blocked first; the key is masked anyway
    assert masked == f"use [BIDI] [{kind.upper()}] now"


def test_audit_content_is_withheld_when_steps_were_skipped_and_nothing_can_mask_them():
    secret = SECRETS["aws_access_key"]
    text = f"use \u202e {secret} and mail a.b@example.com"
    decision = ENGINE.check(text)
    assert decision.blocked and "secrets" in decision.skipped
    plain = audit_record(decision, content=text, log_content=True)
    assert "content" not in plain and plain["content_withheld"].startswith("steps skipped")
    masked = audit_record(decision, content=text, log_content=True, mask=full_masker(ENGINE))
    assert masked["content"] == "use [BIDI] [AWS_ACCESS_KEY] and mail [EMAIL]"
    clean = ENGINE.check("hello there")
    assert audit_record(clean, content="hello there", log_content=True)["content"] == "hello there"
