"""Training and evaluation datasets: JSONL (or CSV) rows of one modality, validated at load.

A JSONL row has exactly one input, ``text``, ``image_path`` or ``audio_path``, and a ``label``:
a string, or a non-empty list of strings for multi-label data. Media paths are relative to
the file's folder. Other keys are allowed; an ``id`` is kept as evidence for KNN. A CSV file
has a header with ``label`` and one input column (usually ``text``). Every bad row is
reported at once, with its line number, in one :class:`~guardrails.errors.DatasetError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
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

__all__ = ["INPUT_KEYS", "Dataset", "Example", "dataset_from_rows", "load_dataset", "load_datasets"]

INPUT_KEYS = ("text", "image_path", "audio_path")
_MODALITY = {"text": Modality.TEXT, "image_path": Modality.IMAGE, "audio_path": Modality.AUDIO}


@dataclass(frozen=True, slots=True)
class Example:
    input: str
    """The text, or the absolute path of the image / audio file."""
    labels: tuple[str, ...]
    """One label, or several (sorted, unique) for a multi-label row."""
    line: int
    """1-based line number in the source file (row number for in-memory rows)."""
    id: str | None = None
    part: int = 0
    """Which of the dataset's ``parts`` (source files) the row comes from."""


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
            raise DatasetError(source, [(0, f"the files mix modalities {', '.join(modalities)}")])
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
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DatasetError(source, [(0, "no such file")])
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows, problems = _jsonl_rows(path.read_bytes())
    elif suffix == ".csv":
        rows, problems = _csv_rows(path.read_bytes())
    else:
        raise DatasetError(source, [(0, f"unsupported format {suffix!r}: use .jsonl or .csv")])
    return _build(rows, problems, source, path.parent.resolve())


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


def _jsonl_rows(data: bytes) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    rows: list[tuple[int, Any]] = []
    problems: list[tuple[int, str]] = []
    # bytes.splitlines splits on \n and \r only; JSON strings may hold U+2028 and friends.
    for number, raw in enumerate(data.splitlines(), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            rows.append((number, json.loads(raw.decode("utf-8"))))
        except UnicodeDecodeError:
            problems.append((number, "not valid UTF-8"))
        except json.JSONDecodeError as exc:
            problems.append((number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
    return rows, problems


def _csv_rows(data: bytes) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [(0, f"not valid UTF-8 ({exc})")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        return [], []
    header = [name.strip() for name in header]
    if "label" not in header or not set(INPUT_KEYS) & set(header):
        return [], [(1, f"CSV header {header} needs a 'label' column and a 'text' column")]
    rows: list[tuple[int, Any]] = []
    problems: list[tuple[int, str]] = []
    end = reader.line_num
    for cells in reader:
        start, end = end + 1, reader.line_num
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append((start, f"{len(cells)} fields but the header has {len(header)}"))
            continue
        rows.append((start, {k: v for k, v in zip(header, cells, strict=False) if v != ""}))
    return rows, problems


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
        raise DatasetError(source, [(0, "no rows: the dataset is empty")])
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


def _parse_row(
    line: int, row: Any, base_dir: Path, errors: list[str]
) -> tuple[Example, Modality] | None:
    if not isinstance(row, dict):
        errors.append(f"a row must be a JSON object, got {type(row).__name__}")
        return None
    given = [key for key in INPUT_KEYS if row.get(key) is not None]
    value: str | None = None
    if not given:
        errors.append("no input: give one of text, image_path, audio_path")
    elif len(given) > 1:
        errors.append(f"mixes inputs {' and '.join(given)}: give exactly one")
    else:
        value = _check_input(given[0], row[given[0]], base_dir, errors)
    labels = _check_labels(row.get("label"), errors)
    row_id = row.get("id")
    if row_id is not None and (isinstance(row_id, bool) or not isinstance(row_id, str | int)):
        errors.append(f"id must be a string or an integer, got {type(row_id).__name__}")
    if errors or value is None or labels is None:
        return None
    example_id = None if row_id is None else str(row_id)
    return Example(input=value, labels=labels, line=line, id=example_id), _MODALITY[given[0]]


def _check_input(key: str, value: Any, base_dir: Path, errors: list[str]) -> str | None:
    if not isinstance(value, str):
        errors.append(f"{key} must be a string, got {type(value).__name__}")
        return None
    if not value.strip():
        errors.append(f"{key} is empty")
        return None
    if key == "text":
        return value
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else base_dir / path).resolve()
    if not path.is_file():
        kind = key.removesuffix("_path")
        errors.append(f"{kind} not found: {path}")
        return None
    return str(path)


def _check_labels(label: Any, errors: list[str]) -> tuple[str, ...] | None:
    if label is None:
        errors.append("no label")
        return None
    if isinstance(label, str):
        if not label.strip():
            errors.append("empty label")
            return None
        return (label.strip(),)
    if isinstance(label, list):
        if not label:
            errors.append("empty label list")
            return None
        if not all(isinstance(item, str) and item.strip() for item in label):
            errors.append("a label list must hold non-empty strings only")
            return None
        return tuple(sorted({item.strip() for item in label}))
    errors.append(
        f"label must be a string or a list of strings, got {type(label).__name__} {label!r}"
    )
    return None


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
