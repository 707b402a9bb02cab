"""KNN index scale: build time, memory, query latency and recall@10 of the HNSW index our KNN
classifier builds (``NeighbourIndex.build``: hnswlib, M=16, ef_construction=200; built here on
two threads), on random unit 384-d vectors, against exact search (numpy, one matrix product).

Each size runs in a fresh process so its memory is its own. Memory is the growth of resident
memory over the build (hnswlib keeps its own copy of the vectors plus the graph). Latency is one
query at a time (a request's text), median over the queries; recall@10 is the share of the exact
10 nearest found, at the default ef_search (64) and at 256. Random vectors are HNSW's hardest
case: real embeddings cluster, and recall on them is higher. ``--real`` measures that: MiniLM
embeddings of tweeteval_offensive_train (11,916 tweets; 500 held out as the queries) at
ef_search 10 to 256; the main run shows its saved result, dated::

    python -m benchmarks.bench_knn --real

An HNSW build of 1M vectors takes far longer here than the 20 minutes ``python -m benchmarks``
may take, so the default run builds 10k and 100k and times only exact search at 1M; the 1M
build has its own command, and its saved result is shown, dated, when present::

    python -m benchmarks.bench_knn --sizes 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, finish, print_table, save

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "jsonl" / "tweeteval_offensive_train.jsonl"
DIMENSION = 384
K = 10
# One thread for numpy too, as for HNSW queries: with two, one query's matrix-vector product
# on a busy machine waits for the second thread (2k vectors: 16 ms instead of 0.26 ms here).
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _unit(rng: Any, n: int) -> Any:
    import numpy as np

    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):  # in slices: no float64 copy of the whole set
        part = rng.standard_normal((min(100_000, n - start), DIMENSION), dtype=np.float32)
        out[start : start + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from guardrails.classifiers.knn import NeighbourIndex

    rng = np.random.default_rng(job["seed"])
    vectors = _unit(rng, job["n"])
    queries = _unit(rng, job["queries"])
    exact = NeighbourIndex.build(vectors, exact=True)
    timed = queries[: job["exact_timed"]]
    latencies = []
    for query in timed:
        started = time.perf_counter()
        exact.search(query[None], K)
        latencies.append(time.perf_counter() - started)
    out: dict[str, Any] = {"n": job["n"], "exact_ms": float(np.median(latencies)) * 1000}
    if not job["hnsw"]:
        return out
    truth, _ = exact.search(queries, K)
    before = _rss_mb()
    started = time.perf_counter()
    index = NeighbourIndex.build(vectors, exact=False, seed=job["seed"], threads=2)
    out["build_s"] = time.perf_counter() - started
    out["memory_mb"] = _rss_mb() - before
    return out | _recall(index, queries, truth, (64, 256))


def _recall(index: Any, queries: Any, truth: Any, efs: tuple[int, ...]) -> dict[str, Any]:
    """Per ef_search: median ms of one query, and the share of the exact ``K`` nearest found."""
    import numpy as np

    out = {}
    for ef in efs:
        index.hnsw.set_ef(ef)
        found, latencies = [], []
        for query in queries:
            started = time.perf_counter()
            indices, _ = index.search(query[None], K)
            latencies.append(time.perf_counter() - started)
            found.append(indices[0])
        hits = [len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)]
        out[f"ef{ef}"] = {
            "query_ms": float(np.median(latencies)) * 1000,
            "recall": sum(hits) / (K * len(queries)),
        }
    return out


REAL_EFS = (10, 32, 64, 128, 256)


def real_recall(texts: list[str], held_out: int, seed: int = 0) -> dict[str, Any]:
    """HNSW against exact search on MiniLM embeddings of ``texts``: ``held_out`` of them are
    the queries, the rest the index (built as the classifier builds it, on one thread)."""
    import numpy as np

    from guardrails.classifiers.knn import NeighbourIndex
    from guardrails.embedders import TextEmbedderConfig, load_embedder

    started = time.perf_counter()
    vectors = load_embedder(TextEmbedderConfig()).embed(texts)
    embed_s = time.perf_counter() - started
    picked = np.random.default_rng(seed).permutation(len(vectors))
    queries, stored = vectors[picked[:held_out]], vectors[picked[held_out:]]
    truth, _ = NeighbourIndex.build(stored, exact=True).search(queries, K)
    started = time.perf_counter()
    index = NeighbourIndex.build(stored, exact=False, seed=seed)
    build_s = time.perf_counter() - started
    result = {"n": len(stored), "queries": held_out, "embed_s": embed_s, "build_s": build_s}
    return result | _recall(index, queries, truth, REAL_EFS)


def _measure(n: int, hnsw: bool, queries: int) -> dict[str, Any]:
    job = {"n": n, "hnsw": hnsw, "queries": queries, "exact_timed": 20, "seed": 0}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_knn", "--worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | dict.fromkeys(_BLAS_THREADS, "1"),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"knn worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(result: dict[str, Any], mark: str = "") -> list[Any]:
    row = [f"{result['n']:,}{mark}", f"{result['exact_ms']:.2f}"]
    if "build_s" not in result:
        return [*row, "not built", "-", "-", "-", "-", "-"]
    ef64, ef256 = result["ef64"], result["ef256"]
    return [
        *row,
        f"{result['build_s']:.1f}",
        f"{result['memory_mb']:.0f}",
        f"{ef64['query_ms']:.2f}",
        f"{ef64['recall']:.3f}",
        f"{ef256['query_ms']:.2f}",
        f"{ef256['recall']:.3f}",
    ]


def run(quick: bool = False, argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_knn")
    parser.add_argument("--sizes", type=int, nargs="+", help="build HNSW at these sizes only")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--real", action="store_true", help="recall on MiniLM embeddings")
    args = parser.parse_args(argv if argv is not None else [])
    quick = quick or args.quick
    started = time.perf_counter()
    if args.real:  # a separate run (2-3 minutes of embedding): shown by the main run
        from guardrails.training.dataset import load_dataset

        result = real_recall(list(load_dataset(REAL_DATA).inputs()), held_out=500)
        table = print_table(REAL_TITLE, REAL_HEADER, _real_rows(result))
        save("knn_real", {"result": result, "table": table})
        return {"result": result, "table": table}
    if args.sizes:  # a separate run (the 1M build): saved on its own, shown by the main run
        results = [_measure(n, True, 200) for n in args.sizes]
        table = print_table("KNN index (separate run)", HEADER, [_row(r) for r in results])
        payload = {"results": results, "wall_seconds": round(time.perf_counter() - started, 1)}
        save("knn_sizes", payload | {"table": table})
        return payload | {"table": table}
    plan = [(2_000, True), (10_000, True)] if quick else [(10_000, True), (100_000, True)]
    plan.append((100_000 if quick else 1_000_000, False))
    results = [_measure(n, hnsw, 50 if quick else 200) for n, hnsw in plan]
    rows = [_row(r) for r in results]
    notes = [
        "Exact: numpy brute force over all vectors (what the classifier uses below 2,000 "
        "examples), one BLAS thread. HNSW: hnswlib with the KNN classifier's settings (M=16, "
        "ef_construction=200), built on two threads (the classifier uses one, so that the same "
        "seed gives the same graph: about twice these build times); memory = "
        "growth of resident memory over the build. Random unit vectors, HNSW's hardest case."
    ]
    separate = _saved_separate()
    if separate is not None and not quick:
        for result in separate["results"]:
            rows.append(_row(result, " †"))
        notes.append(
            f"† From `python -m benchmarks.bench_knn --sizes ...`, run on {separate['date']}."
        )
    if not quick and not any(r.get("n") == 1_000_000 and "build_s" in r for r in _flat(separate)):
        build_100k = results[1]["build_s"]
        notes.append(
            "1M: exact search only in this run. An HNSW build of 1M vectors with these settings "
            f"would take about {build_100k * 10 * 1.2 / 60:.0f} minutes here (10x the 100k build, "
            "plus the deeper graph), beyond the 20-minute budget of `python -m benchmarks`; "
            "run `python -m benchmarks.bench_knn --sizes 1000000` for it."
        )
    table = print_table(
        f"KNN index scale: random unit {DIMENSION}-d vectors, k={K}, one query at a time",
        HEADER,
        rows,
    )
    real = _saved("knn_real")
    if real is not None and not quick:
        result = real["result"]
        table += "\n" + print_table(REAL_TITLE, REAL_HEADER, _real_rows(result))
        notes.append(
            f"Real embeddings: from `python -m benchmarks.bench_knn --real`, run on "
            f"{real.get('machine', {}).get('date', 'undated')}: {result['n']:,} stored, "
            f"{result['queries']} held-out tweets as queries, HNSW built as the classifier "
            f"builds it (one thread, {result['build_s']:.1f} s). At the default ef_search 64 it "
            f"finds {result['ef64']['recall']:.1%} of the exact 10 nearest, against "
            f"{results[0]['ef64']['recall']:.1%} among {results[0]['n']:,} random vectors."
        )
    return finish("knn", table, notes, quick=quick, started=started, results=results)


REAL_TITLE = f"KNN index on real embeddings: MiniLM, tweeteval offensive train, k={K}"
REAL_HEADER = ["ef_search", "query ms", "recall@10"]


def _real_rows(result: dict[str, Any]) -> list[list[Any]]:
    return [
        [ef, f"{result[f'ef{ef}']['query_ms']:.2f}", f"{result[f'ef{ef}']['recall']:.3f}"]
        for ef in REAL_EFS
    ]


HEADER = [
    "vectors",
    "exact query ms",
    "HNSW build s",
    "HNSW memory MB",
    "query ms (ef 64)",
    "recall@10 (ef 64)",
    "query ms (ef 256)",
    "recall@10 (ef 256)",
]


def _saved(name: str) -> dict[str, Any] | None:
    try:
        return json.loads((RESULTS / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None


def _saved_separate() -> dict[str, Any] | None:
    saved = _saved("knn_sizes")
    if saved is None:
        return None
    return {"date": saved.get("machine", {}).get("date", "undated"), "results": saved["results"]}


def _flat(separate: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [] if separate is None else separate["results"]


def main() -> None:
    if sys.argv[1:] == ["--worker"]:
        print(json.dumps(_worker(json.loads(sys.stdin.read()))))
        return
    run(argv=sys.argv[1:])


if __name__ == "__main__":
    main()
