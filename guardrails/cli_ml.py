"""The ML subcommands of ``guardrails``: ``train``, ``eval`` and ``predict``.

``guardrails.cli`` calls :func:`add_ml_commands` on its subparsers. Every command prints JSON on
stdout; a failure is one line on stderr and exit code 3 (usage) or 4 (model or data error).
Importing this module imports no torch: each command imports what it needs when it runs.

    guardrails train --family knn --data train.jsonl --out models/pi-knn [--embedder minilm]
    guardrails eval --model models/pi-knn --data test.jsonl [--report reports/pi-knn]
    guardrails predict --model models/pi-knn "ignore all previous instructions" --top-k 2
    guardrails predict --model models/pets --image cat.jpg
"""

from __future__ import annotations

import argparse
import inspect
import json
import shlex
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["EXIT_DATA", "EXIT_USAGE", "add_ml_commands", "parse_embedder"]

EXIT_USAGE, EXIT_DATA = 3, 4
_FAMILY_OPTIONS = ("k", "search", "M", "ef_construction", "ef_search", "class_weight")


class _Usage(Exception):
    """A command-line mistake: exit code 3."""


def parse_embedder(value: str | None) -> Any:
    """``--embedder``: a JSON config, ``text:NAME`` / ``vision:BACKBONE``, or a text model."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise _Usage(f"--embedder: invalid JSON ({exc.msg})") from exc
    kind, sep, name = value.partition(":")
    if sep and kind == "vision":
        return {"vision": {"backbone": name}}
    if sep and kind == "text":
        return {"text": {"model": name}}
    return {"text": {"model": value}}


def _one_line(exc: BaseException) -> str:
    lines = str(exc).splitlines() or [type(exc).__name__]
    return lines[0] + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "")


def _run(command: Callable[[argparse.Namespace], dict[str, Any]]) -> Callable[..., int]:
    def handler(args: argparse.Namespace) -> int:
        from guardrails.errors import GuardrailsError

        try:
            payload = command(args)
        except (_Usage, ValueError) as exc:
            print(f"guardrails {args.command}: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        except (GuardrailsError, OSError) as exc:
            print(f"guardrails {args.command}: {_one_line(exc)}", file=sys.stderr)
            return EXIT_DATA
        text = payload.pop("_text", None)
        print(text if text is not None else json.dumps(payload, ensure_ascii=False, indent=2))
        return 0

    return handler


def _progress(args: argparse.Namespace) -> bool:
    return args.progress if args.progress is not None else sys.stderr.isatty()


def _family_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """The family options given (typed flags, then ``--option KEY=VALUE``, a JSON value or else
    a string), and the flag each came from, for messages."""
    options: dict[str, Any] = {}
    flags: dict[str, str] = {}
    for name in _FAMILY_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            options[name], flags[name] = value, f"--{name.replace('_', '-')}"
    for item in args.option or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise _Usage(f"--option expects KEY=VALUE, got {item!r}")
        name = key.replace("-", "_")
        try:
            options[name] = json.loads(raw)
        except json.JSONDecodeError:
            options[name] = raw
        flags[name] = f"--option {name}"
    return options, flags


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from guardrails.saving import check_save_target
    from guardrails.training.dataset import load_datasets
    from guardrails.training.trainers import check_options, train

    # Every argument is checked before the data is read or an embedder loaded.
    options, flags = _family_options(args)
    trainer_cls = check_options(args.family, options, flags)
    if args.holdout is not None and not 0.0 < args.holdout < 0.9:
        raise _Usage(f"--holdout must be between 0 and 0.9, got {args.holdout}")
    embedder = parse_embedder(args.embedder)
    try:
        check_save_target(args.out)
    except ValueError as exc:
        raise _Usage(f"--out {exc}") from exc
    command = shlex.join(["guardrails", "train", *_train_argv(args)])
    dataset = load_datasets(args.data)
    if args.holdout is not None:
        dataset, _ = dataset.holdout(args.holdout, seed=args.seed)
    _warn_k_above_size(args.family, options, trainer_cls, len(dataset))
    classifier = train(
        dataset,
        family=args.family,
        embedder=embedder,
        seed=args.seed,
        progress=_progress(args),
        command=command,
        **options,
    )
    out = classifier.save(args.out)
    info = getattr(classifier, "training", None)
    return {
        "model": str(out),
        "family": classifier.family,
        "labels": list(classifier.labels),
        "multi_label": classifier.multi_label,
        "size": len(dataset),
        "held_out": sum(len(s["lines"]) for s in dataset.held_out["sources"])
        if dataset.held_out
        else 0,
        "seconds": getattr(info, "seconds", None),
        "metrics": getattr(classifier, "metrics", {}),
    }


def _warn_k_above_size(family: str, options: dict[str, Any], trainer_cls: type, size: int) -> None:
    """knn with ``k`` above the training set's size trains, every example voting: say so."""
    if family != "knn":
        return
    k = options.get("k", inspect.signature(trainer_cls).parameters["k"].default)
    if k > size:
        print(
            f"guardrails train: warning: k={k} is more than the {size} training examples; "
            f"all {size} vote (k is clamped to {size})",
            file=sys.stderr,
        )


def add_ml_commands(subparsers: Any) -> None:
    """Add ``train``, ``eval`` and ``predict`` to an argparse subparsers action."""
    from guardrails.cli_eval import cmd_eval, cmd_predict  # it imports this module

    train = subparsers.add_parser("train", help="train a classifier from a JSONL/CSV dataset")
    train.add_argument("--family", choices=["centroid", "knn", "setfit"], default="centroid")
    train.add_argument(
        "--data",
        required=True,
        action="append",
        help="training data (JSONL or CSV); repeat it to train on several files together",
    )
    train.add_argument("--out", required=True, help="directory to save the classifier in")
    train.add_argument("--embedder", help="JSON config, text:MODEL, vision:BACKBONE or a model")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--holdout",
        type=float,
        metavar="FRACTION",
        help="keep this stratified share of the rows out of training and record which, "
        "for `guardrails calibrate --held-out`",
    )
    train.add_argument("--k", type=int, help="knn: neighbours that vote (default 10)")
    train.add_argument("--search", choices=["auto", "exact", "hnsw"], help="knn search")
    train.add_argument("--M", type=int, help="knn HNSW: links per node (default 16)")
    train.add_argument("--ef-construction", type=int, help="knn HNSW build breadth (200)")
    train.add_argument("--ef-search", type=int, help="knn HNSW query breadth (default 64)")
    train.add_argument("--class-weight", choices=["balanced", "none"], help="centroid/knn")
    train.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="another family option (JSON value), e.g. epochs=2; repeatable",
    )
    _add_progress(train)
    train.set_defaults(handler=_run(cmd_train))

    ev = subparsers.add_parser("eval", help="evaluate a classifier or a whole policy on data")
    ev.add_argument("--model", help="saved classifier directory (or registered id)")
    ev.add_argument("--policy", help="a policy file: score its verdicts against the labels")
    ev.add_argument(
        "--positive", choices=["flag", "block"], default="block",
        help="--policy: the verdict that counts as catching a row (default block)",
    )  # fmt: skip
    ev.add_argument(
        "--benign", help="--policy: comma-separated benign labels (default: benign, ...)"
    )
    ev.add_argument("--data", required=True, help="test data (JSONL or CSV)")
    ev.add_argument("--report", help="write metrics.json and PNG plots into this directory")
    ev.add_argument("--threshold", type=float, default=0.5, help="multi-label decision cut")
    ev.add_argument("--format", choices=["json", "text"], default="json")
    _add_progress(ev)
    ev.set_defaults(handler=_run(cmd_eval))

    predict = subparsers.add_parser("predict", help="top-k labels for texts or images")
    predict.add_argument("text", nargs="*", help="texts to classify")
    predict.add_argument("--model", required=True, help="saved classifier directory (or id)")
    predict.add_argument("--image", action="append", metavar="PATH", help="image (repeatable)")
    predict.add_argument("--top-k", type=int, default=1)
    predict.set_defaults(handler=_run(cmd_predict))


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def _train_argv(args: argparse.Namespace) -> list[str]:
    """The train command line, rebuilt from the parsed arguments (recorded in the manifest)."""
    argv = ["--family", args.family]
    for path in args.data:
        argv += ["--data", path]
    argv += ["--out", args.out]
    for name in ("embedder", "seed", "holdout", *_FAMILY_OPTIONS):
        value = getattr(args, name, None)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    for item in args.option or []:
        argv += ["--option", item]
    return argv
