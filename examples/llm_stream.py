"""Guarding LLM calls with @guard: a chat completion and a streamed one.

The client is any OpenAI-style client (``client.chat.completions.create(...)``); the example's
test passes a fake one. Run for real with an OpenAI client::

    from openai import AsyncOpenAI
    bot = GuardedChat(AsyncOpenAI())
    print(await bot.ask("How do I kill a Python process that hangs?"))
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from guardrails import LiveEngine, guard

POLICY = Path(__file__).resolve().parents[1] / "policies" / "chat.yaml"
REFUSAL = "Sorry, I can't help with that."


def _with_content(response: Any, text: str) -> Any:
    """The response with its answer replaced by the redacted text (for ``redact_output``)."""
    response.choices[0].message.content = text
    return response


class GuardedChat:
    def __init__(self, client: Any, model: str = "gpt-4o-mini", policy: Any = POLICY) -> None:
        self.client = client
        self.model = model
        live = LiveEngine(policy)  # shared by both calls; hot-reloadable

        @guard(live, input="messages", output=lambda r: r.choices[0].message.content,
               redact_output=_with_content, on_block=lambda decision: None)  # fmt: skip
        async def complete(messages: list[dict[str, Any]]) -> Any:
            return await self.client.chat.completions.create(model=self.model, messages=messages)

        @guard(live, input="messages", output=lambda chunk: chunk.choices[0].delta.content,
               on_block=REFUSAL)  # fmt: skip
        async def stream(messages: list[dict[str, Any]]) -> AsyncIterator[Any]:
            chunks = await self.client.chat.completions.create(
                model=self.model, messages=messages, stream=True
            )
            async for chunk in chunks:
                yield chunk

        self._complete = complete
        self._stream = stream

    async def ask(self, question: str) -> str:
        """One answer, or the refusal when the question or the answer is blocked."""
        response = await self._complete([{"role": "user", "content": question}])
        return REFUSAL if response is None else response.choices[0].message.content

    async def ask_streaming(self, question: str) -> AsyncIterator[str]:
        """The answer's text as it is released (checked window by window)."""
        async for text in self._stream([{"role": "user", "content": question}]):
            yield text
