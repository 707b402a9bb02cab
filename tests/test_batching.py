from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from guardrails.batching import MicroBatcher
from guardrails.embedding_service import EmbeddingService
from guardrails.testing import FakeEmbedder


def doubling(items: list[int]) -> list[int]:
    time.sleep(0.01)  # a forward pass takes time: callers pile up meanwhile
    return [2 * i for i in items]


async def test_concurrent_callers_share_batches():
    batcher = MicroBatcher(doubling, max_batch_size=16, max_wait_ms=20)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(50)))
    assert results == [2 * i for i in range(50)]
    assert batcher.stats.items == 50
    assert batcher.stats.batches <= 6  # 50 items in batches of at most 16
    assert max(batcher.stats.sizes) <= 16
    batcher.close()


def test_sync_threads_share_batches():
    batcher = MicroBatcher(doubling, max_batch_size=64, max_wait_ms=50)
    out = [None] * 20

    def call(i: int) -> None:
        out[i] = batcher(i)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [2 * i for i in range(20)]
    assert batcher.stats.batches < 20
    batcher.close()


async def test_a_failing_batch_fails_every_caller():
    def broken(items):
        raise MemoryError("out of memory")

    batcher = MicroBatcher(broken, max_wait_ms=10)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, MemoryError) for r in results)
    assert (await asyncio.gather(batcher.submit(1), return_exceptions=True))[0].args == (
        "out of memory",
    )


async def test_a_cancelled_waiter_does_not_cancel_shared_work():
    service = EmbeddingService(FakeEmbedder(), max_wait_ms=50)
    first = asyncio.create_task(service.windows("same text"))
    second = asyncio.create_task(service.windows("same text"))
    await asyncio.sleep(0.005)
    first.cancel()
    vectors = await second
    assert vectors.shape == (1, 256)
    service.close()


async def test_embedding_service_caches_and_dedupes():
    embedder = FakeEmbedder()
    service = EmbeddingService(embedder, max_wait_ms=10, cache_size=2)
    a, b = await asyncio.gather(service.windows("hello world"), service.windows("hello world"))
    assert a is b  # one computation for two concurrent requests
    assert embedder.calls == 1
    again = await service.windows("hello world")
    assert again is a and service.cache.hits >= 1
    with pytest.raises(ValueError):
        again[0, 0] = 1.0  # cached arrays are read-only
    await service.windows("x")
    await service.windows("y")
    await service.windows("hello world")  # evicted (LRU of 2): computed again
    assert embedder.calls == 4
    np.testing.assert_allclose(await service.windows("hello world"), a)
    service.close()


async def test_closed_batcher_refuses_work():
    batcher = MicroBatcher(doubling)
    assert await batcher.submit(1) == 2
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(2)
