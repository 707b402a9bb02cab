from __future__ import annotations

import io
import json

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from guardrails import Engine, GuardrailsMiddleware
from guardrails.audit import AuditLog, decision_recorder, masked_content
from guardrails.metrics import Metrics
from guardrails.testing import asgi_client

AWS = "AKIAIOSFODNN7EXAMPLE"


def test_masked_content_hides_every_finding(root):
    engine = Engine.from_path(root / "policies/default.yaml")
    text = f"key {AWS} mail a@b.example.org"
    decision = engine.check(text)
    assert masked_content(text, decision) == "key [AWS_ACCESS_KEY] mail a@b.example.org"


async def test_middleware_decisions_reach_the_audit_log_and_metrics(root):
    stream, metrics = io.StringIO(), Metrics()

    async def chat(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])
    app.add_middleware(
        GuardrailsMiddleware,
        policy=root / "policies/default.yaml",
        on_decision=decision_recorder(AuditLog(stream), metrics),
    )
    async with asgi_client(app) as c:
        assert (await c.post("/chat", json={"prompt": f"use {AWS}"})).status_code == 400
        assert (await c.post("/chat", json={"prompt": "hello"})).status_code == 200
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["verdict"] for r in records] == ["block", "allow"]
    assert records[0]["route"] == "/chat" and AWS not in stream.getvalue()
    exposition, _ = metrics.exposition()
    assert b'verdict="block"} 1.0' in exposition
