"""Smoke tests of the benchmark scripts: they import, and their cheapest parts run."""

from __future__ import annotations

import importlib

import pytest


def test_every_registered_benchmark_has_a_run_function():
    from benchmarks.__main__ import BENCHMARKS

    for name, module in BENCHMARKS.items():
        assert callable(importlib.import_module(module).run), name


def test_knn_worker_measures_a_small_index():
    pytest.importorskip("hnswlib")
    from benchmarks.bench_knn import _worker

    result = _worker({"n": 300, "hnsw": True, "queries": 10, "exact_timed": 3, "seed": 0})
    assert result["n"] == 300
    assert result["build_s"] > 0
    assert result["ef256"]["recall"] > 0.9  # ef above the size: search is near exact


def test_knn_real_recall_on_minilm_embeddings(shared_data):
    pytest.importorskip("hnswlib")
    pytest.importorskip("transformers")
    from benchmarks.bench_knn import REAL_EFS, real_recall
    from guardrails.training.dataset import load_dataset

    texts = load_dataset(shared_data / "jsonl" / "tweeteval_offensive_train.jsonl").inputs()
    result = real_recall(list(texts[:300]), held_out=30)
    assert (result["n"], result["queries"]) == (270, 30)
    recalls = [result[f"ef{ef}"]["recall"] for ef in REAL_EFS]
    assert recalls[-1] > 0.95  # ef 256 of 270 stored: near exact
    assert all(0 < r <= 1 for r in recalls)


def test_rule_cases_run_on_our_side(tmp_path):
    import random

    from benchmarks.bench_peers_rules import _cases, _ours, _plants, _texts
    from benchmarks.bench_rules import _vocabulary

    rng = random.Random(0)
    vocabulary = _vocabulary(rng, 400)
    words, prose = vocabulary[::2], vocabulary[1::2]
    (tmp_path / "w10k.txt").write_text("\n".join(words))
    (tmp_path / "w100.txt").write_text("\n".join(words[:100]))
    cases = _cases(words, words[:100])
    for case in cases:
        case["texts"] = _texts(_plants(words[:100])[case["plant"]], prose, rng, 100)
    ours = _ours(cases, tmp_path, min_seconds=0.001)
    assert all(r["short_found"] and r["long_found"] for r in ours.values()), ours


def test_middleware_cost_runs_every_app_on_both_shapes(shared_data):
    from benchmarks.middleware_client import SHAPES
    from benchmarks.middleware_cost import run

    result = run(quick=True)  # its sanity check raises if a guarded app lets a secret through
    for shape in SHAPES:
        costs = result["results"][shape]
        assert len(costs) == 5
        assert next(iter(costs.values()))["added_us"] == 0  # the bare app, against itself
        assert all(entry["us"] > 0 for entry in costs.values())
    assert "GuardrailsMiddleware, policies/default.yaml" in result["table"]


async def test_middleware_cost_floor_app_replays_the_body_to_the_app():
    from benchmarks.middleware_client import _body
    from benchmarks.middleware_cost import _ReadReplay

    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    body = _body("hello", "chat")
    chunks = [body[:10], body[10:]]
    messages = [
        {"type": "http.request", "body": c, "more_body": i == 0} for i, c in enumerate(chunks)
    ]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    await _ReadReplay(app, parse=True)({"type": "http"}, receive, send)
    assert seen == [{"type": "http.request", "body": body, "more_body": False}]
    assert sent[0]["status"] == 204
