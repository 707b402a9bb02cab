"""Rule-check speed: keyword lists of 100 and 10,000 terms, secrets, PII and regex, on short
(100 characters) and long (10 kB) texts; and the cost of a rules-only process (import time,
memory). Run: python -m benchmarks rules"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.common import per_call, print_table, save

ROOT = Path(__file__).resolve().parents[1]
# Peak resident memory of a child process, in kB. Not ru_maxrss: Linux carries that over exec,
# so a child would report at least its parent's size at fork.
PEAK_RSS_KB = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"


def _vocabulary(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    return sorted(words)


def _text(rng: random.Random, vocabulary: list[str], size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(vocabulary)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def unmemoised(path: str | Path) -> Any:
    """An engine that runs its checks on every call: a benchmark repeats one text, which the
    engine's memo of recent decisions would otherwise answer without running anything."""
    import inspect

    from guardrails import Engine

    accepts = "memo_size" in inspect.signature(Engine.__init__).parameters
    return Engine.from_path(path, **({"memo_size": 0} if accepts else {}))


def _engine(steps: str, tmp: Path) -> Any:
    policy = tmp / "bench.yaml"
    policy.write_text(f"version: 1\nname: bench\nsteps:\n{textwrap.indent(steps, '  ')}")
    return unmemoised(policy)


def _process_cost() -> dict[str, float]:
    code = (
        "import time; t = time.perf_counter(); import guardrails; "
        "t1 = time.perf_counter(); e = guardrails.Engine.from_path('policies/default.yaml'); "
        "e.check('warm up a@b.co 4111 1111 1111 1111'); "
        f"print(t1 - t, {PEAK_RSS_KB})"
    )
    samples = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        samples.append((float(out[0]), float(out[1])))
    import_s = min(s[0] for s in samples)
    rss_mb = min(s[1] for s in samples) / 1024
    return {"import_ms": round(import_s * 1000, 1), "rss_mb": round(rss_mb, 1)}


def run(quick: bool = False) -> dict[str, Any]:
    import tempfile

    rng = random.Random(7)
    vocabulary = _vocabulary(rng, 20_000)
    # The lists and the texts' words are disjoint but for two planted hits per text, as in
    # real traffic, where almost every word of a text is not on a block list.
    list_10k, prose = vocabulary[::2], vocabulary[1::2]
    list_100 = list_10k[:100]
    hits = f" {list_100[3]} {list_100[42]} "
    short = _text(rng, prose, 100 - len(hits)) + hits
    long = _text(rng, prose, 10_000 - len(hits)) + hits
    rows: list[list[Any]] = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "w10k.txt").write_text("\n".join(list_10k))
        (tmp_path / "w100.txt").write_text("\n".join(list_100))
        cases = {
            "keywords, 10,000 terms": "- {id: k, kind: keywords, words_file: w10k.txt}\n",
            "keywords, 100 terms": "- {id: k, kind: keywords, words_file: w100.txt}\n",
            "secrets (13 kinds)": "- {id: s, kind: secrets}\n",
            "pii (7 entities)": "- {id: p, kind: pii, action: log}\n",
            "regex (3 patterns)": (
                "- id: r\n  kind: regex\n  action: log\n  patterns:\n"
                "    ticket: 'TICKET-\\d{4,}'\n    code: '\\bproj(?:ect)? [a-z]+\\b'\n"
                "    money: '\\$\\d+(?:\\.\\d\\d)?'\n"
            ),
        }
        for name, steps in cases.items():
            engine = _engine(steps, tmp_path)
            t_short = per_call(lambda e=engine: e.check(short))
            t_long = per_call(lambda e=engine: e.check(long))
            results[name] = {"short_us": t_short * 1e6, "long_us": t_long * 1e6}
            rows.append(
                [name, f"{t_short * 1e6:.1f}", f"{1 / t_short:,.0f}", f"{t_long * 1e6:.0f}",
                 f"{t_long * 1e6 / 10:.1f}"]
            )  # fmt: skip
        default = unmemoised(ROOT / "policies" / "default.yaml")
        t_default = per_call(lambda: default.check(short))
        t_default_long = per_call(lambda: default.check(long))
        results["policies/default.yaml"] = {
            "short_us": t_default * 1e6,
            "long_us": t_default_long * 1e6,
        }
        rows.append(
            ["policies/default.yaml (5 steps)", f"{t_default * 1e6:.1f}", f"{1 / t_default:,.0f}",
             f"{t_default_long * 1e6:.0f}", f"{t_default_long * 1e6 / 10:.1f}"]
        )  # fmt: skip
    cost = _process_cost()
    results["process"] = cost
    table = print_table(
        "Rule checks (one Engine.check call, memo of recent decisions off; short = 100 chars, "
        "long = 10 kB)",
        ["check", "short µs", "short texts/s", "long µs", "long µs per kB"],
        rows,
    )
    table += (
        f"\nRules-only process: `import guardrails` {cost['import_ms']} ms, peak RSS "
        f"{cost['rss_mb']} MB after loading policies/default.yaml "
        f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB).\n"
    )
    print(table.splitlines()[-1])
    save("rules", {"results": results, "table": table})
    return {"table": table, "results": results}


if __name__ == "__main__":
    run()
