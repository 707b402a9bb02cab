"""Training embedding classifiers: datasets, disposable trainers, evaluation.

    from guardrails.training import load_dataset, train, evaluate

    classifier = train(load_dataset("train.jsonl"), family="knn")
    classifier.save("models/my-knn")
    print(evaluate(classifier, load_dataset("test.jsonl")).format_table())

Nothing here imports torch: embedders load when a trainer first needs one, and SetFit's trainer
is imported only when ``family="setfit"`` is asked for.
"""

from __future__ import annotations

from typing import Any

from guardrails.training.embedding_trainers import CentroidTrainer, KnnTrainer
from guardrails.training.evaluate import Evaluation, LabelMetrics, evaluate, write_report
from guardrails.training.trainers import TRAINERS, train

__all__ = [
    "TRAINERS",
    "CentroidTrainer",
    "Dataset",
    "Evaluation",
    "Example",
    "KnnTrainer",
    "LabelMetrics",
    "dataset_from_rows",
    "evaluate",
    "load_dataset",
    "train",
    "write_report",
]

_DATASET_NAMES = frozenset({"Dataset", "Example", "dataset_from_rows", "load_dataset"})


def __getattr__(name: str) -> Any:
    if name in _DATASET_NAMES:
        from guardrails.training import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'guardrails.training' has no attribute {name!r}")
