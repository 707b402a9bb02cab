"""The ``check`` subcommand of ``guardrails``: one text (an argument, a file or stdin) or a
JSONL stream of rows, each decision printed as JSON; the exit code is the worst verdict, or 5
when a row could not be checked (every other row still is)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from guardrails.cli_common import EXIT_INPUT, EXIT_USAGE, _engine, _Failure
from guardrails.decision import Verdict
from guardrails.errors import InputError

__all__ = ["cmd_check"]


def _emit(payload: dict[str, Any], out: TextIO, pretty: bool) -> None:
    out.write(json.dumps(payload, ensure_ascii=False, indent=2 if pretty else None) + "\n")


def _jsonl_rows(path: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, row, error)`` for every non-blank line, streamed (memory stays bounded)."""
    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="strict")  # noqa: SIM115
    except OSError as exc:
        raise _Failure(f"{path}: cannot read: {exc.strerror or exc}", EXIT_INPUT) from exc
    with handle:
        line_no = 0
        while True:
            try:
                raw = handle.readline()
            except UnicodeDecodeError as exc:
                raise _Failure(
                    f"{path}: not UTF-8 after line {line_no}: {exc}", EXIT_INPUT
                ) from exc
            if not raw:
                return
            line_no += 1
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield line_no, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                yield line_no, None, 'a row is an object with a string "text"'
                continue
            yield line_no, row, None


def _check_jsonl(engine: Any, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    worst, bad = Verdict.ALLOW, 0
    rows = _jsonl_rows(args.jsonl)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    for line, row, error in tqdm(rows, desc="checking", unit=" rows", disable=not show):
        if row is not None:
            try:
                decision = engine.check(
                    row["text"],
                    direction=row.get("direction", args.direction),
                    prompt=row.get("prompt"),
                )
            except (InputError, ValueError) as exc:
                error = str(exc)
            else:
                worst = max(worst, decision.verdict)
                head = {"line": line, **({"id": row["id"]} if "id" in row else {})}
                _emit({**head, **decision.to_dict()}, sys.stdout, pretty=False)
                continue
        bad += 1
        print(f"{args.jsonl}:{line}: {error}", file=sys.stderr)
        _emit({"line": line, "error": error}, sys.stdout, pretty=False)
    return EXIT_INPUT if bad else worst.exit_code


def cmd_check(args: argparse.Namespace) -> int:
    sources = [args.text is not None, args.file is not None, args.jsonl is not None]
    if sum(sources) != 1:
        raise _Failure("give exactly one of TEXT, --file or --jsonl", EXIT_USAGE)
    if args.prompt is not None and args.direction != "output":
        raise _Failure(
            "--prompt goes with --direction output: the prompt an answer replies to", EXIT_USAGE
        )
    engine = _engine(args.policy)
    if args.jsonl is not None:
        return _check_jsonl(engine, args)
    if args.file is not None or args.text == "-":
        source = "-" if args.file is None else args.file
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _Failure(f"{source}: cannot read: {exc}", EXIT_INPUT) from exc
    else:
        text = args.text
    decision = engine.check(text, direction=args.direction, prompt=args.prompt)
    _emit(decision.to_dict(), sys.stdout, pretty=not args.compact)
    return decision.verdict.exit_code
