"""Nearest-centroid accuracy of EfficientNet-Lite0 on the shared cat/dog photos.

16 photos per class (drawn with ``Dataset.sample_per_class``) give the centroids; the other
268 are the test set. Not collected by pytest (too slow for the suite on 2 cores):

    .venv/bin/python benchmarks/measure_catsdogs.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from guardrails.embedders import load_embedder
from guardrails.training.dataset import load_dataset

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jsonl" / "catsdogs.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--per-class", type=int, default=16)
    args = parser.parse_args()

    data = load_dataset(DATA)
    embedder = load_embedder({"vision": {"backbone": "efficientnet-lite0"}})
    started = time.perf_counter()
    vectors = embedder.embed(data.inputs())
    seconds = time.perf_counter() - started
    print(f"embedded {len(data)} photos in {seconds:.1f} s ({len(data) / seconds:.1f} images/s)")

    row_of = {id(example): row for row, example in enumerate(data.examples)}
    targets = np.argmax(data.label_matrix(), axis=1)
    accuracies = []
    for seed in range(args.seeds):
        train = data.sample_per_class(args.per_class, seed=seed)
        train_rows = np.array([row_of[id(example)] for example in train.examples])
        test_rows = np.setdiff1d(np.arange(len(data)), train_rows)
        centroids = np.stack(
            [vectors[train_rows[targets[train_rows] == k]].mean(axis=0) for k in range(2)]
        )
        predicted = np.argmax(vectors[test_rows] @ centroids.T, axis=1)
        accuracies.append(float((predicted == targets[test_rows]).mean()))
        print(f"seed {seed}: accuracy {accuracies[-1]:.4f} on {len(test_rows)} photos")
    print(f"mean {np.mean(accuracies):.4f}, min {np.min(accuracies):.4f}")


if __name__ == "__main__":
    main()
