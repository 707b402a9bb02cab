"""The ``calibrate`` subcommand of ``guardrails``: an ML step's thresholds chosen from data.

The rows are every row of the ``--data`` files, or with ``--held-out`` only those the step's
classifier was trained without. The thresholds are printed, or written into the policy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from guardrails.cli_common import EXIT_USAGE, _engine, _Failure

__all__ = ["cmd_calibrate"]


def _held_out_rows(engine: Any, args: argparse.Namespace) -> list[tuple[str, tuple[str, ...]]]:
    """The rows of the ``--data`` files that the step's classifier was trained without
    (``guardrails train --holdout``); a usage error if it has none, or if a file it held rows
    out of is not given (matched by sha256, so a renamed copy is fine, an edited one is not)."""
    from guardrails.artifacts import read_manifest
    from guardrails.layers.classifier import locate_model
    from guardrails.training.dataset import load_dataset

    try:
        model = getattr(engine.policy.step(args.step), "model", None)
    except KeyError:
        raise _Failure(f"no step {args.step!r} in {args.policy}", EXIT_USAGE) from None
    if not isinstance(model, str):
        raise _Failure(f"--held-out: step {args.step!r} has no trained classifier", EXIT_USAGE)
    where = locate_model(model, Path(args.policy).resolve().parent)
    held = read_manifest(where).training.held_out
    if not held:
        raise _Failure(f"--held-out: {where} was trained on every row (no --holdout)", EXIT_USAGE)
    given = {data.sha256: data for data in map(load_dataset, args.data)}
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for source in held["sources"]:
        if not source["lines"]:
            continue
        data = given.get(source["sha256"])
        if data is None:
            raise _Failure(
                f"--held-out: {where} held rows out of {source['source']}, which no --data "
                "file is (sha256 differs)",
                EXIT_USAGE,
            )
        pairs += [(example.input, example.labels) for example in data.rows_at(source["lines"])]
    return pairs


def _labels(label: Any) -> tuple[str, ...]:
    return tuple(label) if isinstance(label, list) else (label,)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from guardrails.training.calibrate import (
        Target,
        calibrate_step,
        plot_curves,
        write_thresholds,
    )
    from guardrails.training.policy_eval import read_rows

    try:
        target = Target.parse(args.target)
    except ValueError as exc:
        raise _Failure(str(exc), EXIT_USAGE) from exc
    engine = _engine(args.policy)
    if args.held_out:
        pairs = _held_out_rows(engine, args)
    else:
        rows = [row for path in args.data for row in read_rows(path)]
        pairs = [(row["text"], _labels(row["label"])) for row in rows]
    chosen = calibrate_step(engine, args.step, pairs, target, negatives=args.negatives)
    config = engine.policy.step(args.step)
    level = args.level or ("flag" if engine.policy.action_of(config).value == "flag" else "block")
    print(f"{'label':<20} {'threshold':>9} {'precision':>9} {'recall':>7} {'f1':>6} {'n+':>5}")
    for item in chosen:
        shown = f"{item.threshold:.4f}" if item.threshold is not None else "n/a"
        print(
            f"{item.label:<20} {shown:>9} {item.precision:>9.3f} {item.recall:>7.3f} "
            f"{item.f1:>6.3f} {item.support:>5}"
        )
    unreachable = [i.label for i in chosen if i.threshold is None]
    if unreachable:
        print(f"target {args.target} not reachable for: {', '.join(unreachable)}", file=sys.stderr)
    if args.plots:
        for path in plot_curves(chosen, Path(args.plots), args.step):
            print(f"wrote {path}", file=sys.stderr)
    if args.write:
        write_thresholds(Path(args.policy), args.step, chosen, level)
        _engine(args.policy)  # the edited policy must still load
        print(f"wrote thresholds ({level}) into {args.policy}", file=sys.stderr)
    else:
        print(f"\n# {args.step}: thresholds for {args.policy} (or pass --write)")
        print("thresholds:")
        for item in chosen:
            if item.threshold is not None:
                print(f"  {item.label}: {{{level}: {item.threshold}}}")
    return 0
