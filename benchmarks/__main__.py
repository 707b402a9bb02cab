"""Run benchmarks: ``python -m benchmarks [name ...]`` (default: all). Each prints a table and
writes benchmarks/results/<name>.json; the combined tables go to benchmarks/results/README.md,
and with the machine, load average and wall time to benchmarks/results/all.json (``--quick``:
README_quick.md, all_quick.json; some benchmarks by name: README_partial.md, all_partial.json,
so that a partial run never overwrites the full one)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time

from benchmarks.common import RESULTS, machine

BENCHMARKS = {
    "rules": "benchmarks.bench_rules",
    "llmguard": "benchmarks.bench_peers_rules",
    "embed": "benchmarks.bench_embed",
    "batching": "benchmarks.bench_batching",
    "training": "benchmarks.bench_training",
    "knn": "benchmarks.bench_knn",
    "middleware": "benchmarks.bench_middleware",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], default=[])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or list(BENCHMARKS)
    info = machine()
    load = os.getloadavg()
    shared = (
        " (the cores are shared with other jobs, which depresses absolute figures more than "
        "the ratios)"
        if load[0] >= 0.5
        else ""
    )
    header = (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}; {info['date']}; load average {load[0]:.2f} at the start"
        f"{shared}.\n"
    )
    print(header)
    started = time.perf_counter()
    tables, payloads = [header], {}
    for name in names:
        result = importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)
        tables.append(result["table"])
        payloads[name] = result
    wall = time.perf_counter() - started
    end_load = os.getloadavg()
    footer = (
        f"Wall time of `{' '.join(['python -m benchmarks', *args.names])}"
        f"{' --quick' if args.quick else ''}`: "
        f"{wall / 60:.1f} min; load average {end_load[0]:.2f} at the end.\n"
    )
    print(footer)
    tables.append(footer)
    RESULTS.mkdir(exist_ok=True)
    suffix = "_quick" if args.quick else "_partial" if args.names else ""
    (RESULTS / f"README{suffix}.md").write_text("\n".join(tables))
    combined = {
        "machine": info,
        "load_average": {"start": load, "end": end_load},
        "wall_seconds": round(wall, 1),
        "quick": args.quick,
        "benchmarks": payloads,
        "table": "\n".join(tables),
    }
    (RESULTS / f"all{suffix}.json").write_text(json.dumps(combined, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
