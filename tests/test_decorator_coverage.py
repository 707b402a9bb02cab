"""@guard leaves nothing unchecked: whichever argument holds the prompt, sync generators,
async callables that are not plain ``async def`` functions, and answers that are dicts or
objects (checked, or refused at once with a TypeError)."""

from __future__ import annotations

import functools
import inspect
import logging

import pytest

from guardrails import ContentBlocked, Engine
from guardrails.decorator import guard

POLICY = """\
version: 1
name: deco
steps:
  - {id: pii, kind: pii, action: redact, entities: [email]}
  - {id: banned, kind: keywords, words: [forbidden, "launch codes"]}
"""
LEAK = ["Sure. ", "Here ", "are ", "the ", "laun", "ch co", "des: ", "1234 ", "5678"]


@pytest.fixture
def engine() -> Engine:
    return Engine.from_string(POLICY)


# 1. The prompt is found whatever the argument is called


def test_a_method_checks_its_argument_not_self(engine):
    seen = []

    class Bot:
        @guard(engine)
        def ask(self, q: str) -> str:
            seen.append(q)
            return "fine"

        @classmethod
        @guard(engine)
        def ask_class(cls, q: str) -> str:
            seen.append(q)
            return "fine"

    with pytest.raises(ContentBlocked):
        Bot().ask("tell me the forbidden thing")
    with pytest.raises(ContentBlocked):
        Bot.ask_class("tell me the forbidden thing")
    assert seen == []
    assert Bot().ask("mail a.b@example.com") == "fine"
    assert seen == ["mail [EMAIL]"]


def test_every_argument_is_checked_when_none_has_a_conventional_name(engine):
    seen = []

    @guard(engine)
    def complete(model: str, user_prompt: str, temperature: float = 0.0) -> str:
        seen.append((model, user_prompt, temperature))
        return "fine"

    with pytest.raises(ContentBlocked):
        complete("gpt-4", "what are the launch codes?")
    assert complete("gpt-4", user_prompt="mail a.b@example.com", temperature=0.5) == "fine"
    assert seen == [("gpt-4", "mail [EMAIL]", 0.5)]


def test_var_args_and_kwargs_are_checked_and_redacted_in_place(engine):
    seen = []

    @guard(engine)
    def call(*args: object, **kwargs: object) -> str:
        seen.append((args, kwargs))
        return "fine"

    with pytest.raises(ContentBlocked):
        call(prompt="the forbidden thing")
    with pytest.raises(ContentBlocked):
        call("x", "the forbidden thing")
    history = [{"role": "user", "content": "write c.d@example.org"}]
    assert call(1, "to a.b@example.com", history=history, n=2) == "fine"
    assert seen == [
        ((1, "to [EMAIL]"), {"history": [{"role": "user", "content": "write [EMAIL]"}], "n": 2})
    ]
    assert history[0]["content"] == "write c.d@example.org"  # the caller's own list


def test_a_conventional_name_still_names_the_only_argument_checked(engine):
    seen = []

    @guard(engine)
    def chat(system: str, prompt: str) -> str:
        seen.append(system)
        return "fine"

    assert chat("the forbidden system text is not the prompt", "hi") == "fine"
    assert seen == ["the forbidden system text is not the prompt"]


def test_arguments_without_any_text_are_reported_once(engine, caplog):
    class Request:
        body = "forbidden"

    @guard(engine, output=False)
    def handle(request: Request) -> str:
        return "ok"

    with caplog.at_level(logging.WARNING, logger="guardrails"):
        assert handle(Request()) == "ok"
        assert handle(Request()) == "ok"
    warnings = [r for r in caplog.records if "input=callable" in r.getMessage()]
    assert len(warnings) == 1 and "request" in warnings[0].getMessage()


# 2. Sync generators are checked window by window


def test_a_sync_generator_is_cut_before_a_blocked_phrase(engine):
    @guard(engine, window=24, on_block="[stopped]")
    def stream(prompt: str):
        yield from LEAK

    out = list(stream("hi"))
    assert out[-1] == "[stopped]"
    text = "".join(out[:-1])
    assert text.startswith("Sure.") and "launch" not in text and "1234" not in text


def test_a_sync_generator_is_redacted_raises_and_checks_its_input(engine):
    @guard(engine, window=10)
    def stream(prompt: str):
        yield from ["mail ", "me at ", "a.b@exa", "mple.com ", "thanks ", "bye"]

    assert "".join(stream("hi")) == "mail me at [EMAIL] thanks bye"
    with pytest.raises(ContentBlocked):
        list(stream("the forbidden thing"))

    @guard(engine, window=4)
    def bad(prompt: str):
        yield "this is forbidden "
        yield "more"

    with pytest.raises(ContentBlocked):
        list(bad("hi"))

    @guard(engine, on_block="no")
    def refused(prompt: str):
        yield "never"

    assert list(refused("forbidden")) == ["no"]


def test_a_sync_generator_left_early_closes_the_function_generator(engine):
    closed = []

    @guard(engine, window=8)
    def stream(prompt: str):
        try:
            for i in range(1000):
                yield f"word{i} "
        finally:
            closed.append(True)

    chunks = stream("hi")
    assert next(chunks)
    chunks.close()
    assert closed == [True]


def test_a_sync_generator_with_model_steps_runs_checks_on_the_engine_loop(ml_engine, knn_dir):
    engine = ml_engine(
        """\
        version: 1
        name: ml
        defaults: {timeout_ms: 30000}
        steps:
          - {id: injection, kind: classifier, model: injection-knn, ignore: [benign]}
          - {id: banned, kind: keywords, words: [forbidden, "launch codes"]}
        """
    )
    assert engine.needs_loop

    @guard(engine, window=24, on_block="[stopped]")
    def stream(prompt: str):
        yield from LEAK

    out = list(stream("hello there"))
    assert out[-1] == "[stopped]" and "launch" not in "".join(out[:-1])
    engine.close()


# 3. Async callables that are not plain `async def` functions


async def test_an_object_with_an_async_call_is_awaited_and_checked(engine):
    class Model:
        async def __call__(self, prompt: str) -> str:
            return "here are the launch codes"

    guarded = guard(engine)(Model())
    assert inspect.iscoroutinefunction(guarded)
    with pytest.raises(ContentBlocked) as info:
        await guarded("hi")
    assert info.value.decision.direction.value == "output"


async def test_partials_and_bound_methods_of_async_functions_are_awaited(engine):
    async def complete(model: str, prompt: str) -> str:
        return f"{model}: the launch codes"

    class Client:
        async def complete(self, prompt: str) -> str:
            return "the launch codes"

        async def __call__(self, model: str, prompt: str) -> str:
            return "the launch codes"

    for fn in (
        functools.partial(complete, "m"),
        Client().complete,
        functools.partial(Client(), "m"),
    ):
        guarded = guard(engine, on_block="blocked")(fn)
        assert inspect.iscoroutinefunction(guarded), fn
        assert await guarded("hi") == "blocked"


async def test_an_object_whose_call_is_an_async_generator_is_streamed(engine):
    class Stream:
        async def __call__(self, prompt: str):
            for token in LEAK:
                yield token

    guarded = guard(engine, window=24, on_block="[stopped]")(Stream())
    assert inspect.isasyncgenfunction(guarded)
    out = [piece async for piece in guarded("hi")]
    assert out[-1] == "[stopped]" and "launch" not in "".join(out[:-1])


def test_an_object_whose_call_is_a_generator_is_streamed(engine):
    class Stream:
        def __call__(self, prompt: str):
            yield from LEAK

    out = list(guard(engine, window=24, on_block="[stopped]")(Stream())("hi"))
    assert out[-1] == "[stopped]" and "launch" not in "".join(out[:-1])


# 4. Answers: every string in dicts and lists, and no object let through unchecked


async def test_dict_answers_are_checked_and_redacted_in_a_copy(engine):
    answer = {"answer": "write to bob@example.org", "sources": ["a.pdf"], "score": 0.9}

    @guard(engine)
    async def ask(prompt: str) -> dict:
        return answer

    assert await ask("hi") == {"answer": "write to [EMAIL]", "sources": ["a.pdf"], "score": 0.9}
    assert answer["answer"] == "write to bob@example.org"  # the function's own dict

    @guard(engine, on_block="blocked")
    def nested(prompt: str) -> dict:
        return {"data": {"items": ["fine", "the launch codes"]}, "n": 2}

    assert nested("hi") == "blocked"

    @guard(engine)
    def tool_call(prompt: str) -> dict:
        call = {"id": "c1", "type": "function", "function": {"arguments": "a.b@example.com"}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}

    assert tool_call("hi")["tool_calls"][0]["function"]["arguments"] == "[EMAIL]"


def test_an_answer_without_readable_text_is_refused_with_a_type_error(engine):
    class Response:
        def __init__(self, text: str) -> None:
            self.text = text

    @guard(engine)
    def chat(prompt: str) -> Response:
        return Response("the launch codes")

    with pytest.raises(TypeError, match=r"output=callable.*output=False"):
        chat("hi")

    @guard(engine)
    def wrapped(prompt: str) -> list:
        return [Response("the launch codes")]

    with pytest.raises(TypeError, match="output=callable"):
        wrapped("hi")

    @guard(engine, output=False)
    def unchecked(prompt: str) -> Response:
        return Response("the launch codes")

    assert unchecked("hi").text == "the launch codes"


def test_answers_that_hold_no_text_at_all_are_returned(engine):
    @guard(engine)
    def count(prompt: str) -> object:
        return {"n": 3, "ok": True, "items": [], "none": None}

    assert count("hi") == {"n": 3, "ok": True, "items": [], "none": None}
    assert guard(engine)(lambda prompt: None)("hi") is None
    assert guard(engine)(lambda prompt: 4.5)("hi") == 4.5


def test_a_sync_function_returning_a_coroutine_is_refused(engine):
    async def later() -> str:
        return "the launch codes"

    @guard(engine)
    def call(prompt: str):
        return later()

    with pytest.raises(TypeError, match="async def"):
        call("hi")


def test_a_default_argument_value_is_checked_too(engine):
    @guard(engine, output=False)
    def ask(prompt: str = "tell me the forbidden thing") -> str:
        return "ok"

    with pytest.raises(ContentBlocked):
        ask()
    assert ask("hello") == "ok"
