"""The ``calibrate`` subcommand of ``guardrails``: an ML step's thresholds chosen from data.

The rows are every row of the ``--data`` files, or with ``--held-out`` only those the step's
classifier was trained without. The thresholds are printed, or written into the policy (only
when one changes). A label whose target is not reached is named on stderr and left as it is.
Exit 0 when at least one label reached the target; 1 when none did, and then nothing is
printed as thresholds or written: like a failed ``guardrails test``, the run worked but its
goal was not met. Bad data is exit 4, as for ``train``; bad arguments exit 3.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
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
    from guardrails.training.policy_eval import load_text_dataset

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
    given = {data.sha256: data for data in map(load_text_dataset, args.data)}
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


def _check_plots(plots: str) -> None:
    """``--plots`` must be a folder, or a path one can be made at: a usage error up front."""
    folder = Path(plots)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise _Failure(f"--plots {plots}: {existing} is a file, not a folder", EXIT_USAGE)


def _check_labels(
    engine: Any, args: argparse.Namespace, pairs: list[tuple[str, tuple[str, ...]]]
) -> None:
    """Rows labelled with labels the step's model does not have. With ``--negatives all`` they
    are negatives like any row without the label, which a set of other text may well be: a
    warning, in case it is a typo. With ``--negatives ignored`` a row of such labels only is
    a negative for no label and a positive for none: the run could not use it, an error."""
    from guardrails.training.calibrate import step_labels

    known = set(step_labels(engine, args.step))
    unknown = Counter(label for _, labels in pairs for label in labels if label not in known)
    if not unknown:
        return
    rows = {label: f"{n} row{'s' * (n > 1)}" for label, n in sorted(unknown.items())}
    problem = (
        f"step {args.step!r} has no label {', '.join(f'{k} ({v})' for k, v in rows.items())}; "
        f"its labels are {', '.join(sorted(known))}"
    )
    if args.negatives == "ignored":
        unused = sum(1 for _, labels in pairs if known.isdisjoint(labels))
        if unused:
            raise _Failure(
                f"{problem}. With --negatives ignored, {unused} of those rows would count for "
                "no label: relabel them, or use --negatives all",
                EXIT_USAGE,
            )
    print(
        f"guardrails: warning: {problem}. Those rows count as negatives (a misspelt label?)",
        file=sys.stderr,
    )


def cmd_calibrate(args: argparse.Namespace) -> int:
    from guardrails.training.calibrate import (
        Target,
        calibrate_step,
        plot_curves,
        write_thresholds,
    )
    from guardrails.training.policy_eval import load_text_dataset

    try:
        target = Target.parse(args.target)
    except ValueError as exc:
        raise _Failure(str(exc), EXIT_USAGE) from exc
    if args.plots:
        _check_plots(args.plots)
    engine = _engine(args.policy)
    if args.held_out:
        pairs = _held_out_rows(engine, args)
    else:
        pairs = [(e.input, e.labels) for path in args.data for e in load_text_dataset(path)]
    _check_labels(engine, args, pairs)
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
    for item in chosen:
        if item.threshold is None:
            why = "no row has it" if not item.support else f"{args.target} not reachable"
            print(f"{item.label}: {why}; its threshold is left unchanged", file=sys.stderr)
    if args.plots:
        try:
            written = plot_curves(chosen, Path(args.plots), args.step)
        except OSError as exc:
            raise _Failure(f"--plots {args.plots}: cannot write: {exc}", EXIT_USAGE) from exc
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    reached = [item for item in chosen if item.threshold is not None]
    if not reached:
        unchanged = f"; {args.policy} not changed" if args.write else ""
        print(f"no label reaches {args.target}: nothing calibrated{unchanged}", file=sys.stderr)
        return 1
    if args.write:
        changed = write_thresholds(Path(args.policy), args.step, reached, level)
        if changed:
            _engine(args.policy)  # the edited policy must still load
            print(
                f"wrote {level} thresholds of {', '.join(changed)} into {args.policy}",
                file=sys.stderr,
            )
        else:
            print(f"{args.policy} already has these thresholds: not changed", file=sys.stderr)
    else:
        print(f"\n# {args.step}: thresholds for {args.policy} (or pass --write)")
        print("thresholds:")
        for item in reached:
            print(f"  {item.label}: {{{level}: {item.threshold}}}")
    return 0
