"""Few-shot training: our centroid, KNN and SetFit against logistic regression on the same
frozen embeddings and against the ``setfit`` library, at 8, 16 and 64 examples per class.

Each family trains on the same sample (``Dataset.sample_per_class``, seed 0) of
tweeteval_offensive_train and prompt_injection_train, and is scored by macro-F1 on the matching
test set. Centroid, KNN and logistic regression (scikit-learn, defaults) share one loaded
MiniLM; their time is embedding the sample plus fitting. SetFit, ours and the library's, runs
in fresh processes through :mod:`benchmarks.bench_setfit`'s workers (its time: model load plus
training). The library needs ~35 minutes per seed at 64 per class here, more than this whole
run may take, so those cells come from ``python -m benchmarks.bench_setfit`` (its saved
results, dated) when present. Run: python -m benchmarks training
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, finish, print_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "jsonl"
DATASETS = {"tweeteval offensive": "tweeteval_offensive", "prompt injection": "prompt_injection"}
PER_CLASS = (8, 16, 64)
SETFIT_LIVE = (8, 16)  # per-class sizes at which both SetFits run here
FAMILIES = ("centroid", "knn", "logreg", "setfit_ours", "setfit_library")


def _frozen(sample: Any, test: Any, embedder: Any, test_windows: Any) -> dict[str, Any]:
    """Centroid, KNN and logistic regression on frozen embeddings: (F1, seconds) each."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from benchmarks.bench_setfit import _macro_f1
    from guardrails.classifiers.base import reduce_windows
    from guardrails.training import train

    names = list(test.labels)
    truth = [names.index(y) for y in test.targets()]
    vectors, owner = test_windows
    out = {}
    for family in ("centroid", "knn"):
        started = time.perf_counter()
        model = train(sample, family=family, embedder=embedder, progress=False)
        seconds = time.perf_counter() - started
        proba = reduce_windows(model.predict_proba_embeddings(vectors), owner, len(truth))
        order = [list(model.labels).index(name) for name in names]
        predicted = proba[:, order].argmax(axis=1).tolist()
        out[family] = {"macro_f1": _macro_f1(truth, predicted, len(names)), "seconds": seconds}
    started = time.perf_counter()
    train_vectors = embedder.embed(sample.inputs())
    head = LogisticRegression(max_iter=1000).fit(
        train_vectors, [names.index(y) for y in sample.targets()]
    )
    seconds = time.perf_counter() - started
    scores = head.predict_proba(vectors)  # per window, then each text's most severe window
    proba = np.zeros((len(truth), scores.shape[1]))
    np.maximum.at(proba, owner, scores)
    predicted = head.classes_[proba.argmax(axis=1)].tolist()
    out["logreg"] = {"macro_f1": _macro_f1(truth, predicted, len(names)), "seconds": seconds}
    return out


def _setfit(sample: Any, test: Any, threads: int) -> dict[str, Any]:
    from benchmarks.bench_setfit import _job, _macro_f1, _run_worker
    from guardrails.training.contrastive import setfit_pair_count

    names = list(sample.labels)  # the workers predict indices into the training labels
    truth = [names.index(y) for y in test.targets()]
    job = _job(sample, test, 0, threads)
    pairs = setfit_pair_count(sample.label_matrix())
    out = {}
    for family, kind, extra in (
        ("setfit_library", "library", {}),
        ("setfit_ours", "ours", {"options": {"num_pairs": pairs}}),
    ):
        result = _run_worker(kind, job | extra, sys.executable)
        out[family] = {
            "macro_f1": _macro_f1(truth, result["predicted"], len(names)),
            "seconds": result["seconds"],
        }
    return out


def _saved_setfit(per_class: int) -> dict[str, Any] | None:
    """Mean F1 and seconds of the saved ``bench_setfit`` runs at ``per_class`` (any seeds)."""
    import json

    try:
        saved = json.loads((RESULTS / "setfit.json").read_text())
    except (OSError, ValueError):
        return None
    runs = [r for r in saved.get("tweeteval_offensive", []) if r["per_class"] == per_class]
    if not runs:
        return None

    def mean(side: str, key: str) -> float:
        return sum(r[side][key] for r in runs) / len(runs)

    return {
        "date": saved.get("machine", {}).get("date", "undated"),
        "seeds": [r["seed"] for r in runs],
        **{
            f"setfit_{side}": {"macro_f1": mean(side, "macro_f1"), "seconds": mean(side, "seconds")}
            for side in ("library", "ours")
        },
    }


def _cell(result: dict[str, Any] | None, mark: str = "") -> str:
    if result is None:
        return "-"
    return f"{result['macro_f1']:.3f} ({result['seconds']:.1f} s){mark}"


def run(quick: bool = False) -> dict[str, Any]:
    import torch

    from guardrails.embedders import load_embedder
    from guardrails.training.dataset import load_dataset

    started = time.perf_counter()
    embedder = load_embedder("minilm")
    threads = torch.get_num_threads()
    datasets = dict(list(DATASETS.items())[:1]) if quick else DATASETS
    per_class_list = PER_CLASS[:1] if quick else PER_CLASS
    rows, results, notes = [], {}, []
    for title, stem in datasets.items():
        pool = load_dataset(DATA / f"{stem}_train.jsonl")
        test = load_dataset(DATA / f"{stem}_test.jsonl")
        if quick:
            test = test.subset(range(200))
        test_windows = embedder.embed_windows(test.inputs())
        for per_class in per_class_list:
            sample = pool.sample_per_class(per_class, seed=0)
            cell = _frozen(sample, test, embedder, test_windows)
            mark = ""
            if quick:
                pass
            elif per_class in SETFIT_LIVE:
                cell |= _setfit(sample, test, threads)
            elif stem == "tweeteval_offensive" and (saved := _saved_setfit(per_class)):
                cell |= {k: saved[k] for k in ("setfit_ours", "setfit_library")}
                cell["setfit_source"] = {"date": saved["date"], "seeds": saved["seeds"]}
                mark = " †"
                notes.append(
                    f"† {title}, {per_class} per class: from `python -m benchmarks.bench_setfit` "
                    f"run on {saved['date']} (mean of seeds {saved['seeds']}, test set of "
                    "860): the library takes ~35 minutes a seed there, beyond this run's budget."
                )
            results[f"{stem}/{per_class}"] = cell
            rows.append(
                [title, per_class, *(_cell(cell.get(f), mark if f.startswith("setfit") else "")
                                     for f in FAMILIES)]
            )  # fmt: skip
            print(rows[-1], flush=True)
    table = print_table(
        "Few-shot training: macro-F1 on the test set (training seconds), seed 0",
        ["data set", "n/class", "centroid", "KNN", "logistic regression (frozen)",
         "SetFit (ours)", "setfit library"],
        rows,
    )  # fmt: skip
    notes.insert(
        0,
        "Centroid, KNN, logistic regression: the same frozen MiniLM embeddings; seconds = "
        "embedding the sample + fitting. SetFit: fine-tunes MiniLM (the library: its defaults, "
        "oversampled pairs, batch 16, one epoch, logistic-regression head; ours: the library's "
        "pair count as one epoch, covered by in-batch pairs, three epochs: at 64 per class "
        "25,296 pairs from about 1,600 forward passes, against the library's 8,320 pairs from "
        "16,640), each in a fresh process; seconds = model load + training.",
    )
    if quick:
        notes.append("Quick run: SetFit not run.")
    else:
        notes.append(
            "'-': not run here. SetFit at 64 per class takes the library ~35 minutes a seed on "
            "this machine, beyond this run's budget; it is shown (†) only where "
            "`python -m benchmarks.bench_setfit` has saved it (tweeteval offensive)."
        )
    return finish(
        "training", table, notes, quick=quick, started=started, results=results, threads=threads
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
