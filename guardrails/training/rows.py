"""Rows of a dataset file: JSONL and CSV reading, and each row validated into an :class:`Example`.

A JSONL row has exactly one input, ``text``, ``image_path`` or ``audio_path``, and a ``label``:
a string, or a non-empty list of strings for multi-label data. Media paths are relative to
the file's folder. Other keys are allowed; an ``id`` is kept as evidence for KNN. A CSV file
has a header with ``label`` and one input column (usually ``text``). Every bad row is
reported at once, with its line number, in one :class:`~guardrails.errors.DatasetError`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.embedders.base import Modality

__all__ = ["INPUT_KEYS", "Example"]

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
