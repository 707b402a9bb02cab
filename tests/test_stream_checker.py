from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails import Engine
from guardrails.streaming import StreamBlocked, StreamChecker

ENGINE = Engine.from_string(
    "version: 1\nname: s\nsteps:\n"
    "  - {id: pii, kind: pii, action: redact, entities: [email]}\n"
    "  - {id: banned, kind: keywords, words: [zyzzyva]}\n"
)
words = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "delta", "x", "longerword"]), min_size=0, max_size=80
)


def run(pieces: list[str], window: int) -> list[str]:
    async def go() -> list[str]:
        checker = StreamChecker(ENGINE, window=window)
        out = [await checker.feed(p) for p in pieces]
        out.append(await checker.close())
        return [o for o in out if o]

    return asyncio.run(go())


@settings(max_examples=60, deadline=None)
@given(words, st.integers(1, 7), st.integers(4, 40))
def test_clean_text_comes_out_whole_and_never_split_inside_a_word(ws, step, window):
    text = " ".join(ws)
    pieces = [text[i : i + step] for i in range(0, len(text), step)]
    released = run(pieces, window)
    assert "".join(released) == text
    for piece in released[:-1]:
        assert piece[-1].isspace()


@settings(max_examples=40, deadline=None)
@given(words, words, st.integers(1, 7), st.integers(8, 40))
def test_blocked_word_is_never_released(before, after, step, window):
    text = " ".join([*before, "zyzzyva", *after])
    pieces = [text[i : i + step] for i in range(0, len(text), step)]

    async def go() -> str:
        checker = StreamChecker(ENGINE, window=window)
        released = ""
        try:
            for p in pieces:
                released += await checker.feed(p)
            released += await checker.close()
        except StreamBlocked:
            return released
        raise AssertionError("not blocked")

    released = asyncio.run(go())
    assert "zyzzyva" not in released and "zyzz" not in released.split(" ")[-1]


def test_email_split_across_windows_is_redacted_whole():
    text = "write to someone.with.a.long.name@example.com today please"
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    assert "".join(run(pieces, 12)) == "write to [EMAIL] today please"
