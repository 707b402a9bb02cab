from __future__ import annotations

import base64
import io
import json
import textwrap

import httpx
import pytest

from guardrails.audit import AuditLog
from guardrails.server import create_app

AWS = "AKIAIOSFODNN7EXAMPLE"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def audit_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def client(root, audit_stream):
    app = create_app(root / "policies/default.yaml", audit=AuditLog(audit_stream), max_body=4096)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_moderate_answers_per_item(client):
    response = await client.post(
        "/v1/moderate", json={"input": ["hello", "mail a.b@example.com", f"key {AWS}"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "block" and body["policy"] == "default"
    assert [r["verdict"] for r in body["results"]] == ["allow", "flag", "block"]
    assert body["results"][1]["redacted_text"] == "mail [EMAIL]"
    assert all(r["status"] == "ok" and r["latency_ms"] >= 0 for r in body["results"])
    assert AWS not in response.text


async def test_openai_moderation_shape(client):
    response = await client.post(
        "/v1/moderate?format=openai", json={"input": f"my key is {AWS}", "model": "x"}
    )
    body = response.json()
    assert body["id"].startswith("modr-")
    (result,) = body["results"]
    assert result["flagged"] is True
    assert result["categories"] == {"aws_access_key": True}
    assert result["category_scores"]["aws_access_key"] == 1.0


async def test_images_and_parts(client):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    response = await client.post(
        "/v1/moderate",
        json={
            "input": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": data_url}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
            ]
        },
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["ok", "ok", "error"]
    assert "base64" in results[2]["error"]


async def test_multipart_text_and_file(client):
    response = await client.post(
        "/v1/moderate",
        data={"input": f"key {AWS}"},
        files={"image": ("x.png", PNG, "image/png")},
    )
    assert [r["verdict"] for r in response.json()["results"]] == ["block", "allow"]


@pytest.mark.parametrize(
    "kwargs, status, error",
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        ({"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        ({"content": b"hi", "headers": {"content-type": "text/csv"}}, 415, "unsupported_media_type"),
        ({"json": {"text": "wrong field"}}, 400, "invalid_request"),
        ({"json": {"input": [42]}}, 400, "invalid_request"),
        ({"json": {"input": "x" * 5000}}, 413, "too_large"),
        ({"json": {"input": "hi", "direction": "sideways"}}, 400, "invalid_request"),
        ({"content": b"--b\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\nunterminated",
          "headers": {"content-type": "multipart/form-data; boundary=b"}}, 400, "invalid_multipart"),
    ],
)  # fmt: skip
async def test_bad_requests_get_json_4xx(client, kwargs, status, error):
    response = await client.post("/v1/moderate", **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_deeply_nested_json_is_a_400(client):
    body = b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    app = create_app("policies/default.yaml", max_body=1 << 20)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post(
            "/v1/moderate", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400


async def test_unknown_route_and_method_are_json(client):
    assert (await client.get("/nope")).json()["error"] == "http_error"
    response = await client.get("/v1/moderate")
    assert response.status_code == 405 and response.json()["error"] == "http_error"


async def test_healthz_and_metrics(client):
    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["policy"] == "default"
    assert len(health["policy_sha256"]) == 64 and health["generation"] == 0
    await client.post("/v1/moderate", json={"input": ["hi", f"{AWS}"]})
    metrics = (await client.get("/metrics")).text
    assert (
        'guardrails_decisions_total{direction="input",policy="default",shadow="false",verdict="block"} 1.0'
        in metrics
    )
    assert (
        'guardrails_findings_total{action="block",label="aws_access_key",step="secrets"} 1.0'
        in metrics
    )
    assert "guardrails_step_seconds_bucket" in metrics


async def test_audit_log_never_holds_the_secret(root, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        (root / "policies/default.yaml")
        .read_text()
        .replace("steps:", "audit: {log_content: true}\nsteps:", 1)
    )
    log = tmp_path / "audit.jsonl"
    app = create_app(policy, audit=log)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/v1/moderate", json={"input": [f"use {AWS} now", "hello"]})
    app.state.guardrails.audit.close()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["block", "allow"]
    assert records[0]["content"] == "use [AWS_ACCESS_KEY] now"
    assert records[0]["findings"][0]["label"] == "aws_access_key"
    assert len(records[0]["policy_sha256"]) == 64 and records[0]["route"] == "/v1/moderate"
    assert AWS not in log.read_text()


async def test_content_is_not_logged_by_default(client, audit_stream):
    await client.post("/v1/moderate", json={"input": "mail a.b@example.com"})
    record = json.loads(audit_stream.getvalue())
    assert "content" not in record and record["verdict"] == "flag"


async def test_shadow_mode_reports_but_does_not_enforce(root, audit_stream):
    app = create_app(root / "policies/default.yaml", shadow=True, audit=AuditLog(audit_stream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        body = (await c.post("/v1/moderate", json={"input": f"{AWS}"})).json()
    assert body["verdict"] == "allow" and body["shadow"] is True
    assert body["results"][0]["findings"][0]["action"] == "log"
    record = json.loads(audit_stream.getvalue())
    assert record["verdict"] == "block" and record["shadow"] is True  # the log has the truth


async def test_classify_unknown_model_is_404(client):
    response = await client.post("/v1/classify", json={"model": "nope", "input": "hi"})
    assert response.status_code == 404 and response.json()["error"] == "unknown_model"


async def test_multipart_text_under_another_name_is_refused_not_skipped(client):
    def multipart(**fields: str) -> dict:
        parts = [
            f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ]
        body = ("".join(parts) + "--b--\r\n").encode()
        return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=b"}}

    response = await client.post("/v1/moderate", **multipart(text=f"key {AWS}"))
    assert response.status_code == 400 and "unknown field 'text'" in response.json()["detail"]
    response = await client.post("/v1/moderate", **multipart(direction="input"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = await client.post("/v1/moderate", **multipart(input=f"key {AWS}", prompt="hi"))
    assert response.json()["results"][0]["verdict"] == "block"


async def test_base64_images_may_be_wrapped_in_lines(client):
    wrapped = "\n".join(textwrap.wrap(base64.b64encode(PNG).decode(), 76))
    assert "\n" in wrapped
    response = await client.post("/v1/moderate", json={"input": [], "images": [wrapped]})
    assert [r["status"] for r in response.json()["results"]] == ["ok"]
