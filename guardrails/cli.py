"""The ``guardrails`` command.

Exit codes: 0 allow, 1 flag, 2 block (the most severe verdict of the run); 3 usage error;
4 policy, model or dataset error; 5 some input could not be checked (bad JSONL rows: every other
row is still checked and printed); 70 an internal error (a bug: the traceback is printed), never
1, which a script would read as a flag.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from guardrails.cli_calibrate import cmd_calibrate
from guardrails.cli_check import cmd_check
from guardrails.cli_common import (
    EXIT_CONFIG,
    EXIT_INPUT,
    EXIT_USAGE,
    _engine,
    _Failure,
    close_engines,
)
from guardrails.errors import GuardrailsError, InputError, PolicyError

__all__ = ["main"]

EXIT_INTERNAL = 70  # EX_SOFTWARE in sysexits.h
UVICORN_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def cmd_validate(args: argparse.Namespace) -> int:
    from guardrails.policy.schema import Policy

    if args.schema:
        print(json.dumps(Policy.model_json_schema(), indent=2))
    if not args.files and not args.schema:
        raise _Failure("give one or more policy files, or --schema", EXIT_USAGE)
    problems: list[str] = []
    for path in args.files:
        try:
            engine = _engine(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        steps = ", ".join(engine.step_ids) or "no steps"
        print(f"{path}: ok ({engine.policy.name}: {steps})", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return EXIT_CONFIG if problems else 0


def cmd_test(args: argparse.Namespace) -> int:
    from guardrails.policy.selftest import run_policy_tests

    failed = total = 0
    for path in args.files:
        engine = _engine(path)
        results = run_policy_tests(engine)
        for result in results:
            total += 1
            if result.passed:
                if args.verbose:
                    print(f"PASS {path}: {result.name}")
                continue
            failed += 1
            line = engine.policy.source.line_of(("tests", result.index))
            for problem in result.failures:
                print(f"FAIL {path}:{line}: {result.name}: {problem}")
        if not results:
            print(f"{path}: no tests", file=sys.stderr)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        raise _Failure(
            f"serve needs the 'server' extra: pip install 'guardrails-middleware[server]' ({exc})",
            EXIT_CONFIG,
        ) from exc
    from guardrails.server import create_app

    try:
        app = create_app(
            args.policy,
            audit=args.audit_log,
            shadow=args.shadow,
            watch=args.watch,
            sighup=True,
            max_body=args.max_body,
        )
    except OSError as exc:  # the audit log (the policy's own errors are PolicyError)
        where = exc.filename or args.audit_log
        raise _Failure(f"{where}: cannot open: {exc.strerror or exc}", EXIT_USAGE) from exc
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _bounded(low: int, high: int | None) -> Any:
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound if None)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
        if number < low or (high is not None and number > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {number}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="guardrails", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="moderate text with a policy; prints JSON")
    check.add_argument("text", nargs="?", help="the text to check ('-': stdin)")
    check.add_argument("--policy", "-p", required=True, help="policy YAML file")
    check.add_argument("--file", "-f", help="check this file's whole content ('-': stdin)")
    check.add_argument("--jsonl", help="check each {'text': ...} row of this file ('-': stdin)")
    check.add_argument("--direction", choices=["input", "output"], default="input")
    check.add_argument("--prompt", help="for --direction output: the prompt being answered")
    check.add_argument("--compact", action="store_true", help="one-line JSON")
    check.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr for --jsonl (default: when stderr is a terminal)",
    )  # fmt: skip
    check.set_defaults(handler=cmd_check)

    validate = commands.add_parser(
        "validate", help="check policy files; --schema prints JSON Schema"
    )
    validate.add_argument("files", nargs="*")
    validate.add_argument("--schema", action="store_true", help="print the policy JSON Schema")
    validate.set_defaults(handler=cmd_validate)

    test = commands.add_parser("test", help="run the tests: section of policy files")
    test.add_argument("files", nargs="+")
    test.add_argument("--verbose", "-v", action="store_true")
    test.set_defaults(handler=cmd_test)

    calibrate = commands.add_parser("calibrate", help="choose an ML step's thresholds from data")
    calibrate.add_argument("--policy", "-p", required=True)
    calibrate.add_argument("--step", required=True, help="id of the ML step")
    calibrate.add_argument(
        "--data",
        required=True,
        action="append",
        help="labelled JSONL (text, label); with --held-out, the file(s) the model was "
        "trained from (repeatable)",
    )
    calibrate.add_argument(
        "--held-out",
        action="store_true",
        help="use only the rows of --data the step's model was trained without (train --holdout)",
    )
    calibrate.add_argument("--target", default="precision=0.95", help="precision=P, recall=R or f1")
    calibrate.add_argument("--level", choices=["flag", "block"], help="default: the step's action")
    calibrate.add_argument(
        "--negatives",
        choices=["all", "ignored"],
        default="all",
        help="rows that count against a label: all rows without it (default), or only rows "
        "of labels the step ignores (a harm scored as another harm is no false block)",
    )
    calibrate.add_argument("--write", action="store_true", help="edit the policy file in place")
    calibrate.add_argument("--plots", help="folder for one precision-recall PNG per label")
    calibrate.set_defaults(handler=cmd_calibrate)

    serve = commands.add_parser("serve", help="run the moderation service (uvicorn)")
    serve.add_argument("--policy", "-p", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_bounded(0, 65535), default=8000)
    serve.add_argument("--audit-log", help="append one JSON line per decision to this file")
    serve.add_argument("--shadow", action="store_true", help="evaluate and log, never enforce")
    serve.add_argument(
        "--watch", action=argparse.BooleanOptionalAction, default=True,
        help="reload the policy when its files change (SIGHUP always reloads)",
    )  # fmt: skip
    serve.add_argument(
        "--max-body", type=_bounded(1, None), default=8 << 20, help="bytes per request"
    )
    serve.add_argument("--log-level", choices=UVICORN_LOG_LEVELS, default="info")
    serve.set_defaults(handler=cmd_serve)

    try:
        from guardrails.cli_ml import add_ml_commands
    except ImportError:  # pragma: no cover - the module ships with the package
        pass
    else:
        add_ml_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _handle(args)
    finally:
        close_engines()


def _handle(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except _Failure as exc:
        print(f"guardrails: {exc}", file=sys.stderr)
        return exc.code
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except InputError as exc:
        print(f"guardrails: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except GuardrailsError as exc:
        print(f"guardrails: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: say so, with the traceback, and never exit 1 (a flag)
        traceback.print_exc()
        print(
            f"guardrails {args.command}: internal error (the traceback above is for a bug report)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
