"""The ``eval`` and ``predict`` subcommands of ``guardrails`` (see :mod:`guardrails.cli_ml`):
a saved classifier or a whole policy scored on labelled data, and a classifier's top labels."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from guardrails.cli_ml import _progress, _Usage

__all__ = ["cmd_eval", "cmd_eval_policy", "cmd_predict"]


def cmd_eval_policy(args: argparse.Namespace) -> dict[str, Any]:
    """A whole policy's verdicts against the rows' labels (see training/policy_eval.py)."""
    from guardrails.decision import Verdict
    from guardrails.engine import Engine
    from guardrails.training.policy_eval import BENIGN_LABELS, evaluate_policy, read_rows

    benign = frozenset(args.benign.split(",")) if args.benign else BENIGN_LABELS
    engine = Engine.from_path(args.policy)
    try:
        report = evaluate_policy(
            engine, read_rows(args.data), positive=Verdict(args.positive), benign_labels=benign
        )
    finally:
        engine.close()
    payload = {"policy": args.policy, "data": args.data, "positive": args.positive}
    payload |= report.to_dict()
    if args.report:
        Path(args.report).mkdir(parents=True, exist_ok=True)
        target = Path(args.report) / "policy_metrics.json"
        target.write_text(json.dumps(payload, indent=2) + "\n")
        payload["report"] = [str(target)]
    if args.format == "text":
        lines = [
            f"rows {report.total} (harmful {report.harmful}, benign {report.benign}); "
            f"positive = verdict >= {args.positive}",
            f"precision {report.precision:.3f}  recall {report.recall:.3f}  f1 {report.f1:.3f}  "
            f"false-positive rate on benign {report.false_positive_rate:.3f}",
            "",
            f"{'group':<44} {'rows':>5} {'hits':>5} {'rate':>6}",
        ]
        for key, group in report.by_group.items():
            lines.append(f"{key:<44} {group['rows']:>5} {group['hits']:>5} {group['rate']:>6.3f}")
        payload["_text"] = "\n".join(lines)
    return payload


def cmd_eval(args: argparse.Namespace) -> dict[str, Any]:
    if (args.model is None) == (args.policy is None):
        raise _Usage("give --model DIR (a saved classifier) or --policy FILE (a whole policy)")
    if args.policy is not None:
        return cmd_eval_policy(args)
    from guardrails.classifiers import load_classifier
    from guardrails.training.dataset import load_dataset
    from guardrails.training.evaluate import evaluate, write_report

    classifier = load_classifier(args.model)
    dataset = load_dataset(args.data)
    if dataset.modality is not classifier.modality:
        raise _Usage(
            f"{args.data} holds {dataset.modality.value}, the model classifies "
            f"{classifier.modality.value}"
        )
    result = evaluate(classifier, dataset, threshold=args.threshold, progress=_progress(args))
    payload = {"model": args.model, "data": args.data} | result.to_dict()
    if args.report:
        payload["report"] = [str(path) for path in write_report(result, args.report)]
    if args.format == "text":
        payload["_text"] = result.format_table()
    return payload


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    texts, images = list(args.text or []), list(args.image or [])
    if bool(texts) == bool(images):
        raise _Usage("give one or more TEXT arguments or --image PATH, not both")
    if args.top_k < 1:
        raise _Usage("--top-k must be at least 1")
    from guardrails.classifiers import load_classifier
    from guardrails.registry import check_modality

    inputs: list[Any] = texts
    if images:
        inputs = [Path(path) for path in images]
        missing = [str(path) for path in inputs if not path.is_file()]
        if missing:
            raise FileNotFoundError(f"no such image file: {', '.join(missing)}")
    classifier = load_classifier(args.model)
    check_modality(classifier, inputs)
    predictions = classifier.predict(inputs, top_k=args.top_k)
    rows = []
    for item, prediction in zip(texts or images, predictions, strict=True):
        labels = [
            {"label": s.label, "probability": round(s.probability, 6)} for s in prediction.labels
        ]
        rows.append({"input": item, "labels": labels, "evidence": list(prediction.evidence)})
    return {"model": args.model, "predictions": rows}
