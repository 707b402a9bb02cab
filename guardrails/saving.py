"""Saving a classifier directory whole: written beside its target, then swapped in.

A family's ``save`` writes inside ``with saving(directory) as staging:``, a fresh directory
beside the target that replaces it when the block ends; so a failed save leaves the old
classifier as it was, and no file of another family stays behind. Only an empty directory or a
saved classifier holding nothing but its own files is replaced (:func:`check_save_target`,
which the CLI also calls before any training work).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from guardrails.manifest_schema import MANIFEST_NAME, format_version

__all__ = ["check_save_target", "saving"]


def check_save_target(directory: str | Path) -> Path:
    """Raise ValueError naming ``directory`` unless a classifier can be saved there: it is
    absent, an empty directory or a saved classifier holding only its own files (which saving
    replaces), and the folder it goes in can be written. Creates nothing; returns the path a
    save writes (a symbolic link's target, so the link keeps pointing at the new classifier).
    """
    target = Path(directory)
    if target.is_symlink():
        target = target.resolve()
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"{target}: exists and is not a directory")
        problem = _not_replaceable(target)
        if problem:
            raise ValueError(
                f"{target}: {problem}; refusing to replace it (move it away or save elsewhere)"
            )
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{target}: {parent} is not a directory")
    probe = _sibling(parent / target.name, "probe")
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise ValueError(f"{target}: cannot write in {parent} ({exc.strerror or exc})") from exc
    return target


def _not_replaceable(directory: Path) -> str | None:
    """Why ``directory`` is not empty nor a saved classifier holding only its own files."""
    entries = sorted(
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    )
    if not entries and not any(directory.iterdir()):
        return None
    try:
        data = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        ours = (
            isinstance(data, dict)
            and format_version(data) is not None
            and isinstance(data.get("family"), str)
            and isinstance(data.get("files"), dict)
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        ours = False
    if not ours:
        return "not empty and not a saved classifier"
    listed = {MANIFEST_NAME, *data["files"]}
    stray = [name for name in entries if name not in listed]
    if stray:
        shown_names = ", ".join(stray[:5]) + (
            f" and {len(stray) - 5} more" if len(stray) > 5 else ""
        )
        return f"a saved classifier, but it also holds {shown_names}"
    return None


def _sibling(target: Path, kind: str) -> Path:
    """A hidden, unused name beside ``target``: ``.NAME.1a2b3c4d.KIND``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.{kind}")


@contextmanager
def saving(directory: str | Path) -> Iterator[Path]:
    """A fresh, empty directory beside ``directory`` for a family's ``save`` to write into.

    When the block ends without error it replaces ``directory`` (the old one, if any, is moved
    aside, then deleted); when it raises, the staging directory is deleted and ``directory`` is
    left as it was. ValueError, before anything is written, unless :func:`check_save_target`
    allows ``directory``.
    """
    target = check_save_target(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(target, "saving")
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            old = _sibling(target, "old")
            os.replace(target, old)
            try:
                os.replace(staging, target)
            except BaseException:
                os.replace(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
