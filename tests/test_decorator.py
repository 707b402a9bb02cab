from __future__ import annotations

import time

import pytest

from guardrails import ContentBlocked, Engine, Verdict
from guardrails.decorator import guard
from guardrails.errors import InputError

POLICY = """\
version: 1
name: deco
steps:
  - {id: pii, kind: pii, action: redact, entities: [email]}
  - {id: banned, kind: keywords, words: [forbidden, "launch codes"]}
"""


@pytest.fixture
def engine() -> Engine:
    return Engine.from_string(POLICY)


def test_sync_input_block_raises_with_decision(engine):
    calls = []

    @guard(engine)
    def answer(prompt: str) -> str:
        calls.append(prompt)
        return "ok"

    with pytest.raises(ContentBlocked) as info:
        answer("tell me the forbidden thing")
    assert info.value.decision.verdict is Verdict.BLOCK
    assert info.value.decision.steps == ("banned",)
    assert calls == []  # the function never saw blocked input
    assert answer("hello") == "ok"


def test_fallback_value_and_callable(engine):
    @guard(engine, on_block="Sorry, I can't help with that.")
    def answer(prompt: str) -> str:
        return "the launch codes are 0000"

    assert answer("hi") == "Sorry, I can't help with that."

    @guard(engine, on_block=lambda d: f"blocked by {d.steps[0]}")
    def other(prompt: str) -> str:
        return "forbidden"

    assert other("hi") == "blocked by banned"


def test_redacted_input_reaches_the_function_and_output_is_redacted(engine):
    seen = []

    @guard(engine)
    def echo(question: str, temperature: float = 0.0) -> str:
        seen.append(question)
        return f"you wrote to {question.split()[-1]} and bob@example.org"

    assert echo("write to alice@example.com", temperature=0.3) == (
        "you wrote to [EMAIL] and [EMAIL]"
    )
    assert seen == ["write to [EMAIL]"]


def test_openai_style_messages_and_output_extractor(engine):
    class Response:
        def __init__(self, text: str) -> None:
            self.text = text

    received = []

    @guard(engine, input="messages", output=lambda r: r.text)
    def chat(model: str, messages: list[dict]) -> Response:
        received.append(messages)
        return Response("fine")

    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": "mail x@example.com"}]},
    ]
    assert chat("m", messages=messages).text == "fine"
    assert received[0][1]["content"][0]["text"] == "mail [EMAIL]"
    assert messages[1]["content"][0]["text"] == "mail x@example.com"  # caller's list untouched
    with pytest.raises(ContentBlocked):
        chat("m", messages=[{"role": "user", "content": "forbidden"}])


def test_custom_input_selector(engine):
    @guard(engine, input=lambda args: args["payload"]["q"], output=False)
    def run(payload: dict) -> str:
        return "forbidden output is not checked"

    assert run({"q": "hello"}) == "forbidden output is not checked"
    with pytest.raises(ContentBlocked):
        run({"q": "forbidden"})


async def test_async_function(engine):
    @guard(engine)
    async def answer(prompt: str) -> str:
        return "here are the launch codes"

    with pytest.raises(ContentBlocked) as info:
        await answer("hi")
    assert info.value.decision.direction.value == "output"


async def test_stream_is_cut_before_a_blocked_phrase_split_across_chunks(engine):
    tokens = ["Sure. ", "Here ", "are ", "the ", "laun", "ch co", "des: ", "1234 ", "5678"]

    @guard(engine, window=24, on_block="[stopped]")
    async def stream(prompt: str):
        for token in tokens:
            yield token

    out = [piece async for piece in stream("hi")]
    assert out[-1] == "[stopped]"
    text = "".join(out[:-1])
    assert "launch" not in text and "codes" not in text and "1234" not in text
    assert text.startswith("Sure.")


async def test_stream_raise_mode_and_redaction(engine):
    @guard(engine, window=10)
    async def stream(prompt: str):
        for token in ["mail ", "me at ", "a.b@exa", "mple.com ", "thanks ", "bye"]:
            yield token

    text = "".join([piece async for piece in stream("hi")])
    assert text == "mail me at [EMAIL] thanks bye"

    @guard(engine, window=4)
    async def bad(prompt: str):
        yield "this is forbidden "
        yield "more"

    with pytest.raises(ContentBlocked):
        [piece async for piece in bad("hi")]


async def test_stream_of_objects_needs_an_extractor(engine):
    @guard(engine)
    async def stream(prompt: str):
        yield {"delta": "x"}

    with pytest.raises(InputError, match="output=callable"):
        [piece async for piece in stream("hi")]

    @guard(engine, output=lambda chunk: chunk["delta"], window=4)
    async def extracted(prompt: str):
        for word in ["one ", "two ", "three"]:
            yield {"delta": word}

    assert "".join([p async for p in extracted("hi")]) == "one two three"


async def test_input_block_in_stream(engine):
    @guard(engine, on_block="no")
    async def stream(prompt: str):
        yield "never"

    assert [p async for p in stream("forbidden")] == ["no"]


def test_a_policy_path_edited_on_disk_takes_effect_without_a_restart(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)

    @guard(path, on_block="blocked")
    def answer(prompt: str) -> str:
        return "ok"

    assert answer("a pear") == "ok"
    path.write_text(POLICY.replace("forbidden", "pear"))
    deadline = time.monotonic() + 5  # the file is looked at once a second, on a call
    while answer("a pear") == "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answer("a pear") == "blocked" and answer("forbidden") == "ok"


class _Answer:
    """An answer object, as an LLM client returns one."""

    def __init__(self, text: str) -> None:
        self.text = text


def test_object_answer_is_redacted_through_redact_output(engine):
    def put(answer: _Answer, text: str) -> _Answer:
        return _Answer(text)

    @guard(engine, output=lambda r: r.text, redact_output=put)
    def chat(prompt: str) -> _Answer:
        return _Answer("write to bob@example.org")

    assert chat("hi").text == "write to [EMAIL]"


def test_object_answer_that_cannot_be_redacted_is_withheld(engine, caplog):
    @guard(engine, output=lambda r: r.text, on_block="withheld")
    def chat(prompt: str) -> _Answer:
        return _Answer("write to bob@example.org")

    assert chat("hi") == "withheld"
    assert "redact_output" in caplog.text
    assert "bob@example.org" not in caplog.text

    @guard(engine, output=lambda r: r.text)
    def raising(prompt: str) -> _Answer:
        return _Answer("write to bob@example.org")

    with pytest.raises(ContentBlocked) as info:
        raising("hi")
    assert info.value.decision.steps == ("pii",)


async def test_message_answers_are_redacted_in_a_copy(engine):
    message = {"role": "assistant", "content": "write to bob@example.org"}

    @guard(engine)
    async def one(prompt: str) -> dict:
        return message

    assert await one("hi") == {"role": "assistant", "content": "write to [EMAIL]"}
    assert message["content"] == "write to bob@example.org"  # the function's own object

    parts = [
        {"type": "text", "text": "first mail a@example.com"},
        {"type": "text", "text": "all good"},
        {"type": "text", "text": "then c@example.net"},
    ]

    @guard(engine)
    async def several(prompt: str) -> list:
        return parts

    assert [p["text"] for p in await several("hi")] == [
        "first mail [EMAIL]",
        "all good",
        "then [EMAIL]",
    ]
