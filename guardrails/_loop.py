"""A private event loop in a daemon thread, for sync callers of policies with async (ML) steps.

Sync wrappers cannot use ``asyncio.run`` per call: that costs a new loop each time, fails inside
a running loop, and would tie the shared batchers to short-lived loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopThread", "drive"]


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (rules only) to completion, with no event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a step suspended in a policy marked as synchronous")


class LoopThread:
    """Starts its loop on first use; safe to call from any number of threads."""

    def __init__(self, name: str = "guardrails-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result()

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None
