"""Training and evaluation datasets: JSONL (or CSV) rows of one modality, validated at load.

:class:`Dataset` holds the validated rows; :func:`load_dataset`, :func:`load_datasets` and
:func:`dataset_from_rows` build one. The file formats, and how each row is read and checked,
are in :mod:`guardrails.training.rows`: every bad row is reported at once, with its line
number, in one :class:`~guardrails.errors.DatasetError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.embedders.base import Modality
from guardrails.errors import DatasetError
from guardrails.training.rows import INPUT_KEYS, Example, _csv_rows, _jsonl_rows, _parse_row

__all__ = [
    "INPUT_KEYS",
    "Dataset",
    "Example",
    "dataset_from_rows",
    "load_dataset",
    "load_dataset_rows",
    "load_datasets",
]


@dataclass(frozen=True)
class Dataset:
    """An immutable, validated set of examples of one modality.

    ``labels`` is the label set of the task: subsets made by :meth:`split`,
    :meth:`sample_per_class` and :meth:`subset` keep their parent's labels, so label matrices
    of a train and a test split have the same columns.
    """

    examples: tuple[Example, ...]
    modality: Modality
    multi_label: bool
    source: str
    labels: tuple[str, ...]
    sha256: str
    base_dir: Path | None = None
    """Folder that relative media paths were resolved against (the file's folder)."""
    held_out: dict[str, Any] | None = None
    """Set by :meth:`holdout` on the part kept for training: the fraction and seed, and for
    each source file its sha256 and the line numbers of the rows held out for calibration."""
    parts: tuple[tuple[str, str], ...] = ()
    """``(source, sha256)`` of each file the rows were read from (see :func:`load_datasets`)."""

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    def inputs(self) -> list[str]:
        return [example.input for example in self.examples]

    def targets(self) -> list[str]:
        """The label of each example; a ValueError if some row has more or fewer than one."""
        bad = [e.line for e in self.examples if len(e.labels) != 1]
        if bad:
            raise ValueError(
                f"{self.source}: rows {bad[:5]} have several labels: use label_matrix()"
            )
        return [example.labels[0] for example in self.examples]

    def label_matrix(self) -> np.ndarray:
        """``(n, len(labels))`` float32 matrix, 1 where an example has the label."""
        column = {label: i for i, label in enumerate(self.labels)}
        matrix = np.zeros((len(self.examples), len(self.labels)), dtype=np.float32)
        for row, example in enumerate(self.examples):
            for label in example.labels:
                matrix[row, column[label]] = 1.0
        return matrix

    def label_counts(self) -> dict[str, int]:
        counts = Counter(label for example in self.examples for label in example.labels)
        return {label: counts.get(label, 0) for label in self.labels}

    def subset(self, indices: Iterable[int]) -> Dataset:
        """The examples at ``indices`` (in that order), with this dataset's label set."""
        examples = tuple(self.examples[int(i)] for i in indices)
        return Dataset(
            examples=examples,
            modality=self.modality,
            multi_label=self.multi_label,
            source=self.source,
            labels=self.labels,
            sha256=_digest(examples, self.modality, self.base_dir),
            base_dir=self.base_dir,
            parts=self.parts,
        )

    def sample_per_class(self, n: int, seed: int = 0) -> Dataset:
        """At most ``n`` random examples of each label (all of a rarer one), in file order."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        rng = np.random.default_rng(seed)
        chosen: set[int] = set()
        for label in self.labels:
            having = [i for i, e in enumerate(self.examples) if label in e.labels]
            wanted = n - sum(1 for i in chosen if label in self.examples[i].labels)
            fresh = [int(i) for i in rng.permutation(having) if int(i) not in chosen]
            chosen.update(fresh[: max(0, wanted)])
        return self.subset(sorted(chosen))

    def split(self, test_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Stratified (train, test) split: each label set is divided in the same proportion;
        one of a kind stays in train. Both keep file order."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        rng = np.random.default_rng(seed)
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, example in enumerate(self.examples):
            groups.setdefault(example.labels, []).append(index)
        test: set[int] = set()
        for key in sorted(groups):
            members = rng.permutation(groups[key])
            count = int(np.floor(len(members) * test_fraction + 0.5))
            count = min(max(count, 1), len(members) - 1) if len(members) > 1 else 0
            test.update(int(i) for i in members[:count])
        train = [i for i in range(len(self.examples)) if i not in test]
        if not test or not train:
            raise ValueError(f"{self.source}: too few examples ({len(self)}) to split")
        return self.subset(train), self.subset(sorted(test))

    def holdout(self, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
        """:meth:`split`, with the training part recording which rows were held out, so that
        a classifier trained on it can later be calibrated on exactly the rows it never saw."""
        train, held = self.split(fraction, seed)
        parts = self.parts or ((self.source, self.sha256),)
        sources = [
            {"source": source, "sha256": sha256, "lines": [e.line for e in held if e.part == i]}
            for i, (source, sha256) in enumerate(parts)
        ]
        record = {"fraction": fraction, "seed": seed, "sources": sources}
        return replace(train, held_out=record), held

    def rows_at(self, lines: Iterable[int], part: int = 0) -> Dataset:
        """The examples of file ``part`` whose line numbers are in ``lines``."""
        wanted = set(lines)
        return self.subset(
            i for i, e in enumerate(self.examples) if e.part == part and e.line in wanted
        )

    @classmethod
    def concat(cls, datasets: Sequence[Dataset]) -> Dataset:
        """One dataset of several (of one modality), in order; each row remembers its file."""
        if not datasets:
            raise ValueError("concat needs at least one dataset")
        if len(datasets) == 1:  # already one dataset: no second pass to hash its rows
            return datasets[0]
        source = " + ".join(d.source for d in datasets)
        modalities = sorted({d.modality.value for d in datasets})
        if len(modalities) > 1:
            raise _file_error(source, f"the files mix modalities {', '.join(modalities)}")
        parts = tuple(part for d in datasets for part in d.parts)
        examples, offset = [], 0
        for dataset in datasets:
            examples += [replace(e, part=e.part + offset) for e in dataset.examples]
            offset += len(dataset.parts)
        base_dir = datasets[0].base_dir
        return cls(
            examples=tuple(examples),
            modality=datasets[0].modality,
            multi_label=any(d.multi_label for d in datasets),
            source=source,
            labels=tuple(sorted({label for d in datasets for label in d.labels})),
            sha256=_digest(examples, datasets[0].modality, base_dir),
            base_dir=base_dir,
            parts=parts,
        )


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate a ``.jsonl`` or ``.csv`` file; media paths are relative to its folder."""
    return load_dataset_rows(path)[0]


def load_dataset_rows(path: str | Path) -> tuple[Dataset, dict[int, Any]]:
    """:func:`load_dataset`, and each row as read, by line number: for a caller that keeps the
    fields of a row beyond its input and label (a category, a direction)."""
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise _file_error(source, "is a directory, not a data file")
    if not path.is_file():
        raise _file_error(source, "no such file" if not path.exists() else "not a regular file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows, problems = _jsonl_rows(path.read_bytes())
    elif suffix == ".csv":
        rows, problems = _csv_rows(path.read_bytes())
    else:
        raise _file_error(source, f"unsupported format {suffix!r}: use .jsonl or .csv")
    return _build(rows, problems, source, path.parent.resolve()), dict(rows)


def load_datasets(paths: Sequence[str | Path]) -> Dataset:
    """Several files read as one dataset (:meth:`Dataset.concat`), e.g. a public set plus rows
    of one's own. The first file with bad rows raises, naming itself."""
    return Dataset.concat([load_dataset(path) for path in paths])


def dataset_from_rows(
    rows: Iterable[dict[str, Any]], *, source: str = "<rows>", base_dir: Path | None = None
) -> Dataset:
    """Validate in-memory rows (numbered from 1); relative paths resolve against ``base_dir``
    (default: the working directory)."""
    base = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    return _build(list(enumerate(rows, start=1)), [], source, base)


def _build(
    rows: Sequence[tuple[int, Any]],
    problems: list[tuple[int, str]],
    source: str,
    base_dir: Path,
) -> Dataset:
    parsed: list[tuple[Example, Modality]] = []
    for line, row in rows:
        errors: list[str] = []
        result = _parse_row(line, row, base_dir, errors)
        if errors:
            problems.append((line, "; ".join(errors)))
        elif result is not None:
            parsed.append(result)
    main = Counter(modality for _, modality in parsed).most_common(1)[0][0] if parsed else None
    for example, modality in parsed:
        if modality is not main:
            message = f"{modality} row in a {main} dataset (a dataset holds one modality)"
            problems.append((example.line, message))
    if problems:
        raise DatasetError(source, sorted(problems))
    if not parsed or main is None:
        raise _file_error(source, "no rows: the dataset is empty")
    examples = tuple(example for example, _ in parsed)
    multi_label = any(isinstance(row.get("label"), list) for _, row in rows)
    sha256 = _digest(examples, main, base_dir)
    return Dataset(
        examples=examples,
        modality=main,
        multi_label=multi_label,
        source=source,
        labels=tuple(sorted({label for e in examples for label in e.labels})),
        sha256=sha256,
        base_dir=base_dir,
        parts=((source, sha256),),
    )


def _file_error(source: str, message: str) -> DatasetError:
    """A DatasetError about the whole file (line 0)."""
    return DatasetError(source, [(0, message)])


def _digest(examples: Sequence[Example], modality: Modality, base_dir: Path | None) -> str:
    """sha256 of the rows' inputs and labels, in order; media paths relative to ``base_dir``
    so the same data hashes alike wherever it is stored."""

    def canonical(value: str) -> str:
        if modality is Modality.TEXT or base_dir is None:
            return value
        return os.path.relpath(value, base_dir).replace(os.sep, "/")

    rows = [[canonical(e.input), list(e.labels)] for e in examples]
    payload = json.dumps({"modality": modality.value, "rows": rows}, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
