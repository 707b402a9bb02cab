"""JSON paths with role filters, overlapping paths, and how JSON bodies are read."""

from __future__ import annotations

import pytest
from asgi_apps import AWS_KEY, DEFAULT_ENGINE, client, make_app

from guardrails.asgi.jsonpath import Filter, compile_path, resolve
from guardrails.middleware import GuardrailsMiddleware

CONVERSATION = {
    "messages": [
        {"role": "system", "content": f"deploy with {AWS_KEY}"},
        {"role": "user", "content": "hello"},
        {"role": "tool", "content": "result"},
        {"content": "no role at all"},
        "not a message",
    ]
}


def test_filters_compile():
    assert compile_path("messages[role=user].content") == (
        "messages",
        Filter("role", frozenset({"user"})),
        "content",
    )
    assert compile_path("messages[role!=system|developer]")[1] == Filter(
        "role", frozenset({"system", "developer"}), negate=True
    )
    for bad in ("messages[role=]", "messages[=user]", "messages[role=a||b]", "messages[role]"):
        with pytest.raises(ValueError):
            compile_path(bad)


def test_filters_select_list_elements():
    def values(path: str) -> list[object]:
        return [value for _, value in resolve(CONVERSATION, compile_path(path))]

    assert values("messages[role=user].content") == ["hello"]
    assert values("messages[role=user|tool].content") == ["hello", "result"]
    # != keeps elements without the key (and of other shapes): unknown content is not dropped
    assert values("messages[role!=system].content") == ["hello", "result", "no role at all"]
    assert values("messages[role!=system]")[-1] == "not a message"
    assert [where for where, _ in resolve(CONVERSATION, compile_path("messages[role=tool]"))] == [
        ("messages", 2)
    ]
    assert values("messages[role=user].content") == values("messages[-4].content")


async def test_a_role_filter_chooses_what_the_middleware_checks():
    user_only = make_app(json_paths=["messages[role=user|tool].content"])
    async with client(user_only) as c:
        system_secret = await c.post("/echo", json=CONVERSATION)
        tool_secret = await c.post(
            "/echo", json={"messages": [{"role": "tool", "content": f"key {AWS_KEY}"}]}
        )
    assert system_secret.status_code == 200  # the system message was left out, as configured
    assert system_secret.json()["locations"] == ["messages[1].content", "messages[2].content"]
    assert tool_secret.status_code == 400


async def test_the_default_paths_check_every_role():
    async with client(make_app()) as c:
        r = await c.post("/echo", json=CONVERSATION)
    assert r.status_code == 400  # a client-sent system message is client input too


async def test_overlapping_paths_check_each_value_once():
    app = make_app(json_paths=["messages[*].content", "messages[role=user].content", "**"])
    async with client(app) as c:
        r = await c.post("/echo", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    assert r.json()["locations"] == ["messages[0].content", "messages[0].role"]


def test_a_bad_filter_fails_when_the_middleware_is_built():
    with pytest.raises(ValueError, match="invalid"):
        GuardrailsMiddleware(None, policy=DEFAULT_ENGINE, json_paths=["m[role=]"])


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b' \n{"prompt": "hi"}', 200),  # whitespace around a document is JSON
        (b'{"prompt": "hi"} \r\n\t', 200),
        (b'{"prompt": "hi"} x', 400),  # trailing data is not
        (b'{"prompt": "hi"}{}', 400),
        (b'{"prompt": "hi"}\x0b', 400),  # nor is whitespace JSON does not know
        (b'{"prompt": }', 400),
        (b"", 200),  # no body: nothing to check
    ],
)
async def test_json_bodies_are_read_as_json_loads_reads_them(content, status):
    async with client(make_app()) as c:
        r = await c.post("/echo", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["error"] == "malformed_json"


async def test_malformed_json_reports_where():
    async with client(make_app()) as c:
        r = await c.post(
            "/echo", content=b'{"a": 1} x', headers={"content-type": "application/json"}
        )
    assert r.json()["detail"] == "Extra data (line 1, column 10)"
