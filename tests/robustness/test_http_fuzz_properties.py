"""Property-based (hypothesis): any JSON, any bytes, of any content type, sent to the middleware
and the service, gets an answer and never a 500 (a 4xx always with a JSON reason), and a secret
wherever the middleware looks for content never reaches the wrapped app.
"""

from __future__ import annotations

import asyncio
import json

from hostile_http import (
    BOMB,
    JSON,
    MULTIPART,
    assert_json_reason,
    client,
    data_url,
    guarded,
    service,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["input", "text", "image_url", "data:image/png;base64,AAAA", data_url(BOMB)]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["input", "images", "type", "text", "image_url", "url", "prompt",
                             "direction", "format", "model", "top_k", "messages", "content"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)  # fmt: skip
service_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"input": json_values}, optional={"images": json_values,
                          "prompt": json_values, "direction": json_values}),
)  # fmt: skip


def run(coro):
    return asyncio.run(coro)


@FUZZ
@given(service_bodies)
def test_any_json_gets_an_answer_never_a_500(document):
    app = service()

    async def go():
        with client(app) as c:
            raw = json.dumps(document).encode()
            for route in ("/v1/moderate", "/v1/classify"):
                response = await c.post(route, content=raw, headers={"content-type": JSON})
                assert response.status_code < 500, response.text[:300]
                payload = response.json()
                if response.status_code >= 400:
                    assert isinstance(payload["error"], str)
                elif route == "/v1/moderate":
                    assert payload["verdict"] in ("allow", "flag", "block")

    run(go())


def _place(secret: str):
    """Documents that hold ``secret`` where the middleware's default paths look for content."""
    text = st.text(max_size=10).map(lambda t: f"{t} {secret} {t}")
    part = text.map(lambda t: {"type": "text", "text": t})
    content = st.one_of(text, st.lists(part, min_size=1, max_size=3), part)
    message = content.map(lambda c: {"role": "user", "content": c})
    return st.one_of(
        st.fixed_dictionaries({"prompt": text}),
        st.fixed_dictionaries({"input": st.one_of(text, st.lists(text, min_size=1, max_size=3))}),
        st.fixed_dictionaries({"messages": st.lists(message, min_size=1, max_size=3)}),
    )


@FUZZ
@given(_place(AWS_KEY), st.dictionaries(st.sampled_from(["model", "n", "stream", "user"]),
                                        json_scalars, max_size=3))  # fmt: skip
def test_the_app_never_receives_a_blocked_secret(document, extra):
    recorder, app = guarded()

    async def go():
        with client(app) as c:
            return await c.post("/chat", json={**extra, **document})

    response = run(go())
    assert assert_json_reason(response, 400)["error"] == "content_blocked"
    assert AWS_KEY not in response.text
    assert recorder.bodies == []


content_types = st.sampled_from(
    [JSON, "application/json; charset=latin-1", "text/plain", "text/plain; charset=utf-16",
     "application/x-www-form-urlencoded", MULTIPART, "multipart/form-data; boundary=",
     "image/png", "image/gif", "application/octet-stream", "", "*/*", "text/html; charset=\"",
     "application/vnd.api+json"]
)  # fmt: skip
prefixes = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"--XyZ\r\n", b'{"prompt": ', b"GIF89a"])


@FUZZ
@given(content_types, prefixes, st.binary(max_size=300))
def test_any_bytes_of_any_type_get_an_answer_never_a_500(content_type, prefix, data):
    recorder, app = guarded()
    body = prefix + data

    async def go():
        with client(app) as c:
            guarded_answer = await c.post(
                "/chat", content=body, headers={"content-type": content_type}
            )
        with client(service()) as c:
            service_answer = await c.post("/v1/moderate", content=body,
                                          headers={"content-type": content_type})  # fmt: skip
        return guarded_answer, service_answer

    guarded_answer, service_answer = run(go())
    for response in (guarded_answer, service_answer):
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert_json_reason(response)
    if guarded_answer.status_code == 200:
        assert recorder.bodies == [body]
    else:
        assert recorder.bodies == []
