"""Dynamic batching: concurrent callers on an ML policy, with and without the micro-batcher.

The policy is one ``classifier`` step: a KNN classifier over the default MiniLM embedder,
trained here on 64 prompts per class of the prompt-injection set. ``callers`` tasks on one event
loop each await ``Engine.acheck`` on distinct tweets (tweeteval offensive) until all are done.
With batching the step keeps its defaults (``max_batch_size: 32``, ``max_wait_ms: 5``); without,
``max_batch_size: 1``, so every text is its own forward pass. The embedding cache is off
(``cache_size: 0``) on both, and the time budget raised so no request times out.
Run: python -m benchmarks batching
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import finish, print_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "jsonl"
CALLERS = (1, 8, 32, 128)
ROUNDS = 2

_POLICY = """\
version: 1
name: batching-benchmark
defaults: {{action: flag, timeout_ms: 600000}}
steps:
  - id: injection
    kind: classifier
    model: {model}
    ignore: [benign]
    max_batch_size: {batch}
    cache_size: 0
"""


async def _drive(engine: Any, texts: list[str], callers: int) -> dict[str, float]:
    import numpy as np

    pending = iter(texts)  # shared by the callers: each takes the next text when it is free
    latencies: list[float] = []

    async def caller() -> None:
        for text in pending:
            started = time.perf_counter()
            await engine.acheck(text)
            latencies.append(time.perf_counter() - started)

    await engine.acheck("warm up")
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    wall = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "texts_per_s": round(len(texts) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def _measure(policy: Path, embedder: Any, texts: list[str], callers: int) -> dict[str, float]:
    from guardrails import Engine

    engine = Engine.from_path(policy, embedders=[embedder])
    try:
        result = asyncio.run(_drive(engine, texts, callers))
        stats = engine.hub.services[0].batcher.stats
        result["mean_batch"] = round((stats.items - 1) / max(stats.batches - 1, 1), 1)
    finally:
        engine.close()
    return result


def run(quick: bool = False) -> dict[str, Any]:
    from guardrails.embedders import load_embedder
    from guardrails.training import train
    from guardrails.training.dataset import load_dataset

    started = time.perf_counter()
    embedder = load_embedder("minilm")
    examples = load_dataset(DATA / "prompt_injection_train.jsonl").sample_per_class(64, seed=0)
    lines = (DATA / "tweeteval_offensive_train.jsonl").read_text(encoding="utf-8").splitlines()
    tweets = [json.loads(line)["text"] for line in lines]
    callers_list = CALLERS[:3] if quick else CALLERS
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        model = train(examples, family="knn", embedder=embedder, progress=False)
        model.save(Path(tmp) / "knn")
        policies = {}
        for mode, batch in (("batched", 32), ("one at a time", 1)):
            policies[mode] = Path(tmp) / f"{batch}.yaml"
            policies[mode].write_text(_POLICY.format(model=Path(tmp) / "knn", batch=batch))
        for callers in callers_list:
            count = max(32 if quick else 64, 2 * callers)
            texts = tweets[:count]
            measured: dict[str, dict[str, float]] = {}
            for round_ in range(ROUNDS):  # the modes take turns; each keeps its best round
                modes = list(policies) if round_ % 2 == 0 else list(reversed(policies))
                for mode in modes:
                    result = _measure(policies[mode], embedder, texts, callers)
                    if result["texts_per_s"] > measured.get(mode, {}).get("texts_per_s", 0):
                        measured[mode] = result
            on, off = measured["batched"], measured["one at a time"]
            gain = on["texts_per_s"] / off["texts_per_s"]
            results[callers] = measured | {"gain": round(gain, 2), "texts": count}
            rows.append(
                [callers, count, f"{on['texts_per_s']:,.0f}", on["p50_ms"], on["p99_ms"],
                 on["mean_batch"], f"{off['texts_per_s']:,.0f}", off["p50_ms"], off["p99_ms"],
                 f"**{gain:.2f}x**"]
            )  # fmt: skip
    table = print_table(
        "Dynamic batching: concurrent `Engine.acheck` callers on a KNN classifier step "
        "(MiniLM embeddings)",
        ["callers", "texts", "batched texts/s", "p50 ms", "p99 ms", "mean batch",
         "one-at-a-time texts/s", "p50 ms", "p99 ms", "throughput gain"],
        rows,
    )  # fmt: skip
    note = (
        "Batched: `max_batch_size: 32, max_wait_ms: 5` (the defaults); one at a time: "
        "`max_batch_size: 1`. Latency is per `acheck` call, queueing included; a lone caller "
        "pays up to `max_wait_ms` for a batch that never fills. The two modes take turns, "
        "twice each; each keeps its faster round."
    )
    return finish("batching", table, [note], quick=quick, started=started, results=results)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
