"""The response side: buffered JSON/text checks and streamed (SSE, chunked) checks."""

from __future__ import annotations

import gzip
import json

from asgi_apps import AWS_KEY, BANNED, client, make_app, sse_text, token_stream
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from guardrails.middleware import GuardrailsMiddleware


def app_with(endpoint, **options) -> Starlette:
    app = Starlette(routes=[Route("/", endpoint, methods=["GET", "POST", "HEAD"])])
    app.add_middleware(GuardrailsMiddleware, policy=options.pop("policy", BANNED), **options)
    return app


async def test_responses_are_not_checked_unless_asked():
    async with client(make_app()) as c:
        r = await c.get("/answer")
    assert r.text == "write to a.b@example.com"


async def test_text_response_is_redacted_with_a_fixed_length():
    async with client(make_app(check_responses=True)) as c:
        r = await c.get("/answer")
    assert r.text == "write to [EMAIL]"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.headers["x-guardrails-decision"] == "flag"


async def test_json_response_block_replaces_it():
    async def leak(request):
        return JSONResponse({"choices": [{"message": {"content": f"the key is {AWS_KEY}"}}]})

    async with client(app_with(leak, check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 400
    assert r.json()["error"] == "content_blocked" and r.json()["direction"] == "output"
    assert AWS_KEY not in r.text


async def test_json_response_redaction_keeps_the_structure():
    async def answer(request):
        return JSONResponse({"id": "x1", "answer": "mail bob@example.org", "n": 3})

    async with client(app_with(answer, check_responses=True)) as c:
        r = await c.get("/")
    assert r.json() == {"id": "x1", "answer": "mail [EMAIL]", "n": 3}


async def test_output_checks_see_the_prompt_and_the_output_direction():
    engine = BANNED.__class__.from_string(
        "version: 1\nname: o\nsteps:\n"
        "  - {id: leak, kind: keywords, words: [zyzzyva], applies_to: [output]}\n"
    )

    async def echo(request):
        return PlainTextResponse((await request.json())["prompt"])

    async with client(app_with(echo, policy=engine, check_responses=True)) as c:
        r = await c.post("/", json={"prompt": "say zyzzyva"})  # allowed on input
    assert r.status_code == 400 and r.json()["direction"] == "output"


async def test_malformed_json_from_the_app_is_still_checked_as_text():
    async def broken(request):
        return Response(f'{{"oops": "{AWS_KEY}"', media_type="application/json")

    async with client(app_with(broken, check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 400


async def test_images_and_head_pass_and_compressed_text_fails_closed():
    async def image(request):
        return Response(b"\x89PNG\r\n\x1a\n....", media_type="image/png")

    async def zipped(request):
        body = gzip.compress(AWS_KEY.encode())
        return Response(body, media_type="text/plain", headers={"content-encoding": "gzip"})

    async with client(app_with(image, check_responses=True)) as c:
        assert (await c.get("/")).content.startswith(b"\x89PNG")
    async with client(app_with(zipped, check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 502 and r.json()["error"] == "response_not_checkable"


async def test_sse_stream_is_cut_with_an_error_event_when_a_secret_is_spelled_out():
    async with client(make_app(check_responses=True)) as c:
        r = await c.get("/leak")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    body = r.text
    assert body.endswith("\n\n")
    last = body.strip().split("\n\n")[-1]
    assert last.startswith("event: guardrails\ndata: ")
    payload = json.loads(last.split("data: ", 1)[1])
    assert payload["error"] == "content_blocked"
    assert payload["findings"][0]["step"] == "secrets"
    shown = sse_text(body)
    assert shown.startswith("The quick brown fox")  # text before the window was released
    assert "AKIA" not in body and "after" not in shown and "[DONE]" not in body
    assert "here is the key" not in shown  # the window holding the key never left


async def test_blocked_word_split_across_tokens_is_cut():
    async with client(make_app(policy=BANNED, check_responses=True)) as c:
        r = await c.get("/word")
    shown = sse_text(r.text)
    assert "zyz" not in r.text and "rest" not in shown
    assert r.text.rstrip().split("\n\n")[-1].startswith("event: guardrails")


async def test_clean_stream_comes_out_whole_and_in_order():
    async with client(make_app(policy=BANNED, check_responses=True)) as c:
        r = await c.get("/clean")
    assert sse_text(r.text) == "The quick brown fox jumps over the lazy dog. " * 6 + "the end"
    assert r.text.startswith('data: {"choices":[{"delta":{"role":"assistant"}}]}')
    assert r.text.endswith("data: [DONE]\n\n")
    assert r.headers["x-guardrails-decision"] == "allow"


async def test_stream_redaction_rewrites_the_events_that_carry_it():
    endpoint = token_stream("hello " * 30 + "write to jane.doe@example.com soon " + "ok " * 40)
    async with client(app_with(endpoint, check_responses=True)) as c:
        r = await c.get("/")
    assert sse_text(r.text) == "hello " * 30 + "write to [EMAIL] soon " + "ok " * 40
    assert "jane" not in r.text


async def test_block_before_anything_was_released_is_a_plain_block_answer():
    endpoint = token_stream(f"{AWS_KEY} first", preface=False)
    async with client(app_with(endpoint, check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 400 and r.json()["error"] == "content_blocked"


async def test_events_without_text_are_not_held_back():
    async with client(app_with(token_stream(f"{AWS_KEY} first"), check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 200  # the role event had started the stream: it is cut
    assert r.text.startswith('data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n')
    assert r.text.endswith("\n\n") and "event: guardrails" in r.text and "AKIA" not in r.text


async def test_chunked_text_stream_is_cut_and_closed():
    story = "lorem ipsum dolor sit amet " * 10
    endpoint = token_stream(f"{story}launch codes are 0000 and then more", sse=False, size=4)
    async with client(app_with(endpoint, check_responses=True)) as c:
        r = await c.get("/")
    assert r.status_code == 200
    assert r.text.startswith("lorem ipsum")
    assert "launch" not in r.text and "0000" not in r.text


async def test_chunked_text_stream_with_multibyte_characters_is_intact():
    text = "naïve café — 日本語 " * 20
    endpoint = token_stream(text, sse=False, size=1)

    async def encoded(request):
        async def gen():
            data = text.encode()
            for i in range(0, len(data), 5):  # split inside multi-byte characters
                yield data[i : i + 5]

        return StreamingResponse(gen(), media_type="text/plain; charset=utf-8")

    for ep in (endpoint, encoded):
        async with client(app_with(ep, check_responses=True)) as c:
            r = await c.get("/")
        assert r.text == text


async def test_the_app_stops_streaming_once_cut():
    produced = []

    async def endless(request):
        async def gen():
            for _ in range(60):
                yield "data: " + json.dumps({"choices": [{"delta": {"content": "word "}}]}) + "\n\n"
            yield "data: " + json.dumps({"choices": [{"delta": {"content": "zyzzyva "}}]}) + "\n\n"
            for i in range(10_000):
                produced.append(i)
                yield "data: " + json.dumps({"choices": [{"delta": {"content": "x "}}]}) + "\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    async with client(app_with(endless, check_responses=True)) as c:
        r = await c.get("/")
    assert "event: guardrails" in r.text
    assert len(produced) < 10_000


async def test_response_decisions_reach_the_hook_and_head_passes():
    seen = []

    async def answer(request):
        return PlainTextResponse("reach me at a@example.com")

    app = app_with(answer, check_responses=True, on_decision=lambda d, p: seen.append(d.direction))
    async with client(app) as c:
        head = await c.head("/")
        get = await c.get("/")
    assert head.status_code == 200 and head.content == b""
    assert get.text == "reach me at [EMAIL]"
    assert seen == ["output"]  # GET and HEAD bodies are empty: no input items


async def test_too_large_response_fails_closed_and_shadow_lets_it_through():
    async def big(request):
        return PlainTextResponse("x " * 5000)

    async with client(app_with(big, check_responses=True, max_response_size=1000)) as c:
        r = await c.get("/")
    assert r.status_code == 502 and r.json()["error"] == "response_too_large"
    async with client(
        app_with(big, check_responses=True, max_response_size=1000, shadow=True)
    ) as c:
        r = await c.get("/")
    assert r.status_code == 200 and len(r.text) == 10_000


async def test_shadow_mode_neither_cuts_nor_redacts_streams():
    async with client(make_app(policy=BANNED, check_responses=True, shadow=True)) as c:
        r = await c.get("/word")
    assert "zyzzyva" in sse_text(r.text) and "event: guardrails" not in r.text
    assert r.headers["x-guardrails-decision"] == "allow"  # sent before the block was seen


async def test_reasoning_and_tool_call_arguments_in_a_stream_are_checked():
    chunks = [
        {"choices": [{"delta": {"reasoning_content": f"the key is {AWS_KEY}"}}]},
        {"choices": [{"delta": {"tool_calls": [{"function": {"arguments": f'{{"k":"{AWS_KEY}"}}'}}]}}]},
    ]  # fmt: skip
    for chunk in chunks:

        async def endpoint(request, chunk=chunk):
            async def events():
                yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        async with client(
            app_with(endpoint, check_responses=True, policy="policies/default.yaml")
        ) as c:
            r = await c.get("/")
        assert AWS_KEY not in r.text, chunk
        assert "content_blocked" in r.text
