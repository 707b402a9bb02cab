"""The sliding window over streamed units, and SSE units, without any HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgi_apps import BANNED
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails.asgi.sse import SseSplitter, sse_unit
from guardrails.asgi.streaming import StreamCut, Unit, UnitWindow, split_redactions
from guardrails.decision import Direction
from guardrails.engine import apply_redactions

PLAIN = ["alpha", "beta", "x", "gamma", "longerword", "\n"]
WORDS = st.sampled_from([*PLAIN, "a@b.co"])


def text_units(text: str, step: int) -> list[Unit]:
    def unit(piece: str) -> Unit:
        return Unit(piece.encode(), (piece,), lambda texts: "".join(texts).encode())

    return [unit(text[i : i + step]) for i in range(0, len(text), step)]


async def run(units: list[Unit], window: int = 16, overlap: int = 8) -> list[bytes]:
    """The released chunks."""

    async def check(text: str):
        return await BANNED.acheck(text, direction=Direction.OUTPUT)

    w = UnitWindow(check, window=window, overlap=overlap)
    out = []
    for unit in units:
        out += await w.feed(unit)
    return out + await w.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(WORDS, max_size=60), st.integers(1, 7), st.integers(4, 40), st.integers(0, 20))
def test_redacted_stream_equals_redacting_the_whole_text(words, step, window, overlap):
    text = " ".join(words)
    out = asyncio.run(run(text_units(text, step), window, overlap))
    expected = BANNED.check(text, direction="output").redacted_text or text
    assert b"".join(out).decode() == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(PLAIN), max_size=40),
    st.lists(WORDS, max_size=40),
    st.integers(1, 7),
    st.integers(4, 40),
)
def test_nothing_from_the_blocked_window_on_is_released(before, after, step, window):
    text = " ".join([*before, "zyzzyva", *after])
    units = text_units(text, step)
    released: list[bytes] = []

    async def go():
        w = UnitWindow(lambda t: BANNED.acheck(t, direction="output"), window=window, overlap=8)
        for unit in units:
            released.extend(await w.feed(unit))
        released.extend(await w.close())

    with pytest.raises(StreamCut):
        asyncio.run(go())
    shown = b"".join(released).decode()
    assert "zyz" not in shown
    assert text.startswith(shown)  # released in order, nothing rewritten or skipped


def test_units_are_released_whole_and_hold_back_is_bounded():
    text = "one two three four five six seven eight nine ten " * 10
    units = text_units(text, 3)

    async def go() -> str:
        w = UnitWindow(lambda t: BANNED.acheck(t, direction="output"), window=20, overlap=10)
        fed, released = 0, ""
        for unit in units:
            fed += len(unit.text)
            released += b"".join(await w.feed(unit)).decode()
            # held back: at most the window, the overlap, a unit and a word being written
            assert fed - len(released) <= 20 + 10 + 3 + len("seven ")
        return released + b"".join(await w.close()).decode()

    assert asyncio.run(go()) == text


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text("ab c", max_size=6), max_size=8), st.data())
def test_split_redactions_matches_apply_redactions(texts, data):
    joined = "".join(texts)
    spans = []
    for _ in range(data.draw(st.integers(0, 3))):
        if not joined:
            break
        start = data.draw(st.integers(0, len(joined) - 1))
        end = data.draw(st.integers(start + 1, len(joined)))
        spans.append(((start, end), data.draw(st.sampled_from(["[X]", "", "[LONGER]"]))))
    pieces = split_redactions(texts, spans)
    assert len(pieces) == len(texts)
    assert "".join(pieces) == apply_redactions(joined, spans)


def test_sse_units_carry_generated_text_only():
    openai = sse_unit(b'id: 7\ndata: {"id":"c","choices":[{"delta":{"content":"Hi"}}]}\n\n')
    assert openai.texts == ("Hi",)
    rebuilt = openai.rebuild(["[X]"]).decode()
    assert rebuilt.startswith("id: 7\ndata: ")
    assert json.loads(rebuilt.split("data: ")[1])["choices"][0]["delta"]["content"] == "[X]"
    anthropic = sse_unit(
        b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"yo"}}\n\n'
    )
    assert anthropic.texts == ("yo",)
    assert sse_unit(b"data: [DONE]\n\n").texts == ()
    assert sse_unit(b": keepalive\n\n").texts == ()
    assert sse_unit(b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n').texts == ()
    plain = sse_unit(b"data: line one\ndata: line two\r\n\r\n")
    assert plain.texts == ("line one\nline two",)
    assert plain.rebuild(["a\nb"]) == b"data: a\ndata: b\n\n"


def test_sse_splitter_handles_split_and_mixed_terminators():
    splitter = SseSplitter()
    stream = b"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: tail"
    events = []
    for i in range(len(stream)):
        events += splitter.feed(stream[i : i + 1])
    assert events == [b"data: a\n\n", b"data: b\r\n\r\n", b"data: c\r\r"]
    assert splitter.flush() == b"data: tail"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(PLAIN), max_size=40),
    st.integers(1, 7),
    st.integers(4, 40),
    st.integers(2, 5),
)
def test_units_without_text_keep_their_place(words, step, window, every):
    text = " ".join(words)
    units: list[Unit] = []
    for i, unit in enumerate(text_units(text, step)):
        if i % every == 0:
            units.append(Unit(b"|"))  # e.g. a keep-alive comment or a role event
        units.append(unit)
    expected = b"".join(unit.raw for unit in units).decode()
    assert b"".join(asyncio.run(run(units, window, 6))).decode() == expected
