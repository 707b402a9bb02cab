"""Dynamic micro-batching: concurrent callers share model forward passes.

A :class:`MicroBatcher` owns one worker thread. Callers submit items from any thread or event
loop; the worker takes the first waiting item, gathers more until ``max_batch_size`` are
waiting or the first has waited ``max_wait_ms``, runs the batch function once, and hands each
caller its own result. Fifty concurrent checks cost a few forward passes, not fifty, and the
event loop never blocks on a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatchStats", "MicroBatcher", "await_shared"]

In = TypeVar("In")
Out = TypeVar("Out")

logger = logging.getLogger("guardrails.batching")
_STOP = object()


async def await_shared(future: Future[Out]) -> Out:
    """Await a concurrent future from an event loop without owning it: cancelling the awaiting
    task (a timeout) does not cancel the work other callers share."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[Out] = loop.create_future()

    def transfer(done: Future[Out]) -> None:
        if waiter.done():
            return
        if done.cancelled():
            waiter.cancel()
        elif (exc := done.exception()) is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(done.result())

    def schedule(done: Future[Out]) -> None:
        with contextlib.suppress(RuntimeError):  # the waiting loop closed: nobody to tell
            loop.call_soon_threadsafe(transfer, done)

    future.add_done_callback(schedule)
    return await waiter


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    sizes: list[int] = field(default_factory=list)

    @property
    def mean_size(self) -> float:
        return self.items / self.batches if self.batches else 0.0


class MicroBatcher(Generic[In, Out]):
    def __init__(
        self,
        fn: Callable[[list[In]], Sequence[Out]],
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        name: str = "batcher",
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_wait_ms < 0:
            raise ValueError("max_batch_size >= 1 and max_wait_ms >= 0")
        self._fn = fn
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.name = name
        self.on_batch = on_batch
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def submit_future(self, item: In) -> Future[Out]:
        """Queue one item; the returned future resolves when its batch has run."""
        self._ensure_worker()
        future: Future[Out] = Future()
        self._queue.put((item, future))
        return future

    async def submit(self, item: In) -> Out:
        """Await one item's result from any event loop."""
        return await await_shared(self.submit_future(item))

    def __call__(self, item: In) -> Out:
        """Blocking submit, for sync callers."""
        return self.submit_future(item).result()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch_size:
                remaining = deadline - time.monotonic()
                try:
                    entry = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if entry is _STOP:
                    self._queue.put(_STOP)  # finish this batch, then stop
                    break
                batch.append(entry)
            self._execute(batch)  # type: ignore[arg-type]

    def _execute(self, batch: list[tuple[In, Future[Out]]]) -> None:
        live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        self.stats.batches += 1
        self.stats.items += len(live)
        self.stats.sizes.append(len(live))
        if self.on_batch is not None:
            self.on_batch(len(live))
        try:
            results = self._fn([item for item, _ in live])
            if len(results) != len(live):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(live)} items")
        except BaseException as exc:  # every waiting caller must hear about it
            # the type only: a model's message may quote the content it choked on
            logger.warning("%s: batch of %d failed: %s", self.name, len(live), type(exc).__name__)
            for _, fut in live:
                fut.set_exception(exc)
            return
        for (_, fut), result in zip(live, results, strict=True):
            fut.set_result(result)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._thread is not None:
                self._queue.put(_STOP)
