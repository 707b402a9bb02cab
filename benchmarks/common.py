"""Shared helpers: timing, machine description, table printing, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gib = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def per_call(fn: Callable[[], Any], min_seconds: float = 0.3, min_calls: int = 3) -> float:
    """Seconds per call: the best of three rounds, each at least ``min_seconds`` long."""
    fn()  # warm up
    best = float("inf")
    for _ in range(3):
        calls, started = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds and calls >= min_calls:
                break
        best = min(best, elapsed / calls)
    return best


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    return text


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    return path


def finish(
    name: str, table: str, notes: list[str], *, quick: bool, started: float, **fields: Any
) -> dict[str, Any]:
    """The end of a benchmark's run: its notes under the table (and printed), then ``fields``
    with ``quick``, the wall seconds since ``started`` and the table, saved as ``NAME.json``
    (``NAME_quick.json`` for a quick run) and returned."""
    table += "\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    print("\n".join(notes))
    wall = round(time.perf_counter() - started, 1)
    payload = {**fields, "quick": quick, "wall_seconds": wall, "table": table}
    save(f"{name}_quick" if quick else name, payload)
    return payload
