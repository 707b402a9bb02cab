"""Run benchmarks: ``python -m benchmarks [name ...]`` (default: all). Each prints a table and
writes benchmarks/results/<name>.json; the combined tables go to benchmarks/results/README.md."""

from __future__ import annotations

import argparse
import importlib

from benchmarks.common import RESULTS, machine

BENCHMARKS = {
    "rules": "benchmarks.bench_rules",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], default=[])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or list(BENCHMARKS)
    info = machine()
    header = (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}; {info['date']}.\n"
    )
    print(header)
    tables = [header]
    for name in names:
        result = importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)
        tables.append(result["table"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "README.md").write_text("\n".join(tables))


if __name__ == "__main__":
    main()
