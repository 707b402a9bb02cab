"""One embedder shared by every ML step of an engine: batched, cached, de-duplicated.

An item is embedded once per embedder however many steps read it: a bounded, thread-safe LRU
cache keyed by the content's hash holds its window vectors, and concurrent requests for the same
item wait on the one forward pass already under way.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

import numpy as np

from guardrails.batching import MicroBatcher, await_shared

__all__ = ["EmbeddingCache", "EmbeddingService", "content_key"]


def content_key(item: str | bytes) -> bytes:
    data = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else bytes(item)
    return hashlib.blake2b(data, digest_size=16).digest()


class EmbeddingCache:
    """A bounded LRU map from content hash to window vectors; safe across threads."""

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: bytes, value: np.ndarray) -> None:
        if self.maxsize <= 0:
            return
        value.setflags(write=False)  # shared between callers: nobody may change it
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class EmbeddingService:
    """Window vectors for single items, computed in shared batches off the event loop."""

    def __init__(
        self,
        embedder: Any,
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        cache_size: int = 4096,
        on_batch: Any = None,
    ) -> None:
        self.embedder = embedder
        self.cache = EmbeddingCache(cache_size)
        self.batcher: MicroBatcher[Any, np.ndarray] = MicroBatcher(
            self._embed_batch,
            max_batch_size=max_batch_size,
            max_wait_ms=max_wait_ms,
            name=f"embed-{type(embedder).__name__}",
            on_batch=on_batch,
        )
        self._pending: dict[bytes, Future[np.ndarray]] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self.embedder.dimension)

    def _embed_batch(self, items: list[Any]) -> list[np.ndarray]:
        vectors, owner = self.embedder.embed_windows(items)
        owner = np.asarray(owner)
        return [vectors[owner == i] for i in range(len(items))]

    def windows_future(self, item: str | bytes) -> Future[np.ndarray]:
        key = content_key(item)
        cached = self.cache.get(key)
        if cached is not None:
            done: Future[np.ndarray] = Future()
            done.set_result(cached)
            return done
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            future = self.batcher.submit_future(item)
            self._pending[key] = future

        def settle(f: Future[np.ndarray]) -> None:
            with self._lock:
                self._pending.pop(key, None)
            if not f.cancelled() and f.exception() is None:
                self.cache.put(key, f.result())

        future.add_done_callback(settle)
        return future

    async def windows(self, item: str | bytes) -> np.ndarray:
        """``(n_windows, dimension)`` vectors of one item (one row for short text and images)."""
        return await await_shared(self.windows_future(item))

    def close(self) -> None:
        self.batcher.close()
