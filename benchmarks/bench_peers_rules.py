"""Rule checks against LLM Guard's equivalent scanners, on the same texts and word lists.

LLM Guard 0.3.16 pins transformers 4.51 and tokenizers 0.21, which clash with ours, so it gets
its own virtual environment (``~/.cache/guardrails-bench/llmguard-venv``, made on first use:
the CPU torch wheel, as the Makefile installs it, then ``llm-guard==0.3.16``) and runs there in
a subprocess. Both sides are timed by the same helper (:func:`benchmarks.common.per_call`):
ours is one ``Engine.check`` call, LLM Guard's one ``scanner.scan`` call (its lowest level,
without the ``scan_prompt`` wrapper), with LLM Guard's logging set to ERROR so the console
does not count. Its scanners used here need no model download; Anonymize does (a spaCy
pipeline and a DeBERTa NER model), so its pattern layer stands in for it: the presidio
recognizers Anonymize loads for the same five entities. Run: python -m benchmarks llmguard
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_rules import PEAK_RSS_KB
from benchmarks.common import finish, per_call, print_table
from benchmarks.llmguard_peer import _PEER_PROCESS, LLM_GUARD, _peer_worker, _run_peer, peer_python

ROOT = Path(__file__).resolve().parents[1]
_PII = ("email", "phone", "credit_card", "iban", "us_ssn")
_PRESIDIO = {
    "EmailRecognizer": "email",
    "PhoneRecognizer": "phone",
    "CreditCardRecognizer": "credit_card",
    "IbanRecognizer": "iban",
    "UsSsnRecognizer": "us_ssn",
}
# LLM Guard's Regex stops at the first pattern that matches: the texts' one match is for the
# last pattern, so both sides run all three.
_REGEXES = {"code": r"\bproj(?:ect)? [a-z]+\b", "money": r"\$\d+\.\d\d", "ticket": r"TICKET-\d{4,}"}
# Issue #6's goals: ours ÷ LLM Guard texts per second, on short and on long texts.
_PROCESS = ("kw100_word", "secrets", "regex", "pii")  # the steps of the rules-only process
_GOALS = {"kw10k_word": 1000.0, "kw100_word": 10.0, "secrets": 10.0, "regex": 1.0}


def _plants(vocabulary: list[str]) -> dict[str, str]:
    """What each case's texts carry, so both sides have something to find."""
    return {
        "keywords": f" {vocabulary[3]} {vocabulary[42]} ",
        "secrets": " key AKIAIOSFODNN7EXAMPLE ",
        "regex": " see TICKET-12345 ",
        "pii": " mail jane.doe@example.com card 4111 1111 1111 1111 ",
    }


def _cases(list_10k: list[str], list_100: list[str]) -> list[dict[str, Any]]:
    """Each case: our policy step, and the LLM Guard scanner doing the same job."""
    regex_yaml = "".join(
        f"    - {{label: {k}, pattern: '{v}', case_sensitive: true}}\n" for k, v in _REGEXES.items()
    )
    ban = {"match_type": "word", "case_sensitive": False, "redact": False}
    return [
        {
            "key": "kw10k_word",
            "name": "keywords, 10,000 terms, whole words",
            "plant": "keywords",
            "ours": "- {id: k, kind: keywords, words_file: w10k.txt, match: word}\n",
            "peer": ["BanSubstrings", {"substrings": list_10k, **ban}],
        },
        {
            "key": "kw10k_substring",
            "name": "keywords, 10,000 terms, substrings",
            "plant": "keywords",
            "ours": "- {id: k, kind: keywords, words_file: w10k.txt, match: substring}\n",
            "peer": ["BanSubstrings", {"substrings": list_10k, **ban, "match_type": "str"}],
        },
        {
            "key": "kw100_word",
            "name": "keywords, 100 terms, whole words",
            "plant": "keywords",
            "ours": "- {id: k, kind: keywords, words_file: w100.txt, match: word}\n",
            "peer": ["BanSubstrings", {"substrings": list_100, **ban}],
        },
        {
            "key": "secrets",
            "name": "secrets (ours: 13 kinds; LLM Guard: detect-secrets plugins)",
            "plant": "secrets",
            "ours": "- {id: s, kind: secrets}\n",
            "peer": ["Secrets", {}],
        },
        {
            "key": "regex",
            "name": "regex, 3 patterns (all matches)",
            "plant": "regex",
            "ours": f"- id: r\n  kind: regex\n  action: log\n  patterns:\n{regex_yaml}",
            "peer": [
                "Regex",
                {"patterns": list(_REGEXES.values()), "redact": False, "match_type": "all"},
            ],
        },
        {
            "key": "pii",
            "name": "PII, 5 entities (LLM Guard: Anonymize's presidio recognizers)",
            "plant": "pii",
            "ours": f"- {{id: p, kind: pii, action: log, entities: [{', '.join(_PII)}]}}\n",
            "peer": ["presidio", {"recognizers": list(_PRESIDIO)}],
        },
    ]


# ------------------------------------------ our side, a rules-only process's cost, and the table


_OUR_PROCESS = """
import time
t = time.perf_counter()
import guardrails
t1 = time.perf_counter()
engine = guardrails.Engine.from_path(POLICY)
engine.check("warm up a@b.co 4111 1111 1111 1111 " + WORDS[0])
print(t1 - t, PEAK_RSS_KB)
"""


def _process_cost(python: Path | str, code: str, runs: int = 2) -> dict[str, float]:
    """Import time (best of ``runs`` fresh processes) and peak RSS of a rules-only process."""
    code = code.replace("PEAK_RSS_KB", PEAK_RSS_KB)
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{python} failed:\n{done.stderr[-3000:]}")
        seconds, rss_kb = done.stdout.split()[-2:]
        samples.append((float(seconds), float(rss_kb)))
    return {
        "import_ms": round(min(s[0] for s in samples) * 1000, 1),
        "rss_mb": round(min(s[1] for s in samples) / 1024, 1),
    }


def _texts(plant: str, prose: list[str], rng: random.Random, short: int) -> dict[str, str]:
    from benchmarks.bench_rules import _text

    return {
        "short": _text(rng, prose, short - len(plant)) + plant,
        "long": _text(rng, prose, 10_000 - len(plant)) + plant,
    }


def _ours(cases: list[dict[str, Any]], tmp: Path, min_seconds: float = 0.3) -> dict[str, Any]:
    from benchmarks.bench_rules import _engine

    out = {}
    for case in cases:
        engine = _engine(case["ours"], tmp)
        result: dict[str, Any] = {}
        for size, text in case["texts"].items():
            check = lambda e=engine, t=text: e.check(t)  # noqa: E731
            result[f"{size}_us"] = per_call(check, min_seconds, min_calls=1) * 1e6
            result[f"{size}_found"] = bool(engine.check(text).findings)
        out[case["key"]] = result
    return out


def _rate(us: float) -> str:
    per_second = 1e6 / us
    return f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2f}"


def run(quick: bool = False) -> dict[str, Any]:
    from benchmarks.bench_rules import _vocabulary

    started = time.perf_counter()
    rng = random.Random(7)
    vocabulary = _vocabulary(rng, 20_000)
    list_10k, prose = vocabulary[::2], vocabulary[1::2]
    list_100 = list_10k[:100]
    plants = _plants(list_100)
    cases = _cases(list_10k, list_100)
    if quick:  # the 10,000-term lists take LLM Guard seconds a text
        cases = [c for c in cases if not c["key"].startswith("kw10k")]
    for case in cases:
        case["texts"] = _texts(plants[case["plant"]], prose, rng, 100)
    python, why = peer_python()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "w10k.txt").write_text("\n".join(list_10k))
        (tmp_path / "w100.txt").write_text("\n".join(list_100))
        ours = _ours(cases, tmp_path)
        policy = tmp_path / "rules.yaml"
        policy.write_text(
            "version: 1\nname: rules\nsteps:\n"
            + textwrap.indent("".join(c["ours"] for c in cases if c["key"] in _PROCESS), "  ")
        )
        our_cost = _process_cost(
            sys.executable,
            f"POLICY = {str(policy)!r}\nWORDS = {list_100!r}\n" + _OUR_PROCESS,
            runs=1 if quick else 2,
        )
    peer: dict[str, Any] = {"cases": {}}
    peer_cost: dict[str, float] | None = None
    if python is not None:
        job = {"cases": [{k: c[k] for k in ("key", "peer", "texts")} for c in cases]}
        peer = _run_peer(python, job)
        peer_cost = _process_cost(
            python,
            f"WORDS = {list_100!r}\nREGEXES = {list(_REGEXES.values())!r}\n"
            f"RECOGNIZERS = {list(_PRESIDIO)!r}\n" + _PEER_PROCESS,
            runs=1 if quick else 2,
        )
    rows, results = [], {}
    for case in cases:
        key, mine, theirs = case["key"], ours[case["key"]], peer["cases"].get(case["key"])
        row: list[Any] = [case["name"], case["peer"][0]]
        result: dict[str, Any] = {"ours": mine, "llm_guard": theirs}
        for size in ("short", "long"):
            row.append(_rate(mine[f"{size}_us"]))
            if theirs is None:
                row += ["not run", "-"]
                continue
            ratio = theirs[f"{size}_us"] / mine[f"{size}_us"]
            result[f"{size}_ratio"] = round(ratio, 2)
            row += [_rate(theirs[f"{size}_us"]), f"**{ratio:,.1f}x**"]
        goal = _GOALS.get(key)
        if goal is None or theirs is None:
            row.append("-")
        else:
            met = min(result["short_ratio"], result["long_ratio"]) >= goal
            result["goal"] = goal
            result["goal_met"] = met
            row.append(f"≥{goal:g}x: {'met' if met else 'NOT met'}")
        results[key] = result
        rows.append(row)
    version = peer.get("version", LLM_GUARD.split("==")[1])
    table = print_table(
        f"Rule checks vs LLM Guard {version} (texts per second, one call per text; "
        "short = 100 chars, long = 10 kB; ratio = ours ÷ LLM Guard)",
        ["check", "LLM Guard scanner", "short: ours", "short: LLM Guard", "short: ratio",
         "long: ours", "long: LLM Guard", "long: ratio", "goal"],
        rows,
    )  # fmt: skip
    disagree = [
        f"{c['key']} {size}"
        for c in cases
        if c["key"] in peer["cases"]
        for size in ("short", "long")
        if ours[c["key"]][f"{size}_found"] != peer["cases"][c["key"]][f"{size}_found"]
    ]
    notes = [
        "Same texts (random words plus the case's planted items: two listed words, an AWS key, "
        "a ticket id, an e-mail and a card number) and the same word lists on both sides. "
        "Ours: `Engine.check` on a one-step policy, its memo of recent decisions off (keywords "
        "also fold case, width, accents and leetspeak); LLM Guard: `scanner.scan`, logging at "
        "ERROR.",
        "Both sides detect the planted items in every text."
        if not disagree
        else f"Detections differ in: {', '.join(disagree)}.",
        "LLM Guard's Anonymize itself cannot run here: it downloads the spaCy pipeline "
        "`en_core_web_sm` and a DeBERTa NER model at construction; the PII row times the "
        "presidio recognizers it loads for the same five entities, without the NER model.",
    ]
    if python is None:
        notes.append(f"LLM Guard not run: {why}")
    cost = "Rules-only process (keywords, secrets, regex, PII): ours `import guardrails` "
    cost += f"{our_cost['import_ms']:.0f} ms, peak RSS {our_cost['rss_mb']:.0f} MB"
    if peer_cost is not None:
        cost += (
            f"; LLM Guard `from llm_guard.input_scanners import ...` {peer_cost['import_ms']:.0f}"
            f" ms, peak RSS {peer_cost['rss_mb']:.0f} MB "
            f"({peer_cost['import_ms'] / our_cost['import_ms']:.0f}x and "
            f"{peer_cost['rss_mb'] / our_cost['rss_mb']:.1f}x ours)"
        )
    notes.append(cost + ".")
    return finish(
        "llmguard",
        table,
        notes,
        quick=quick,
        started=started,
        results=results,
        process={"ours": our_cost, "llm_guard": peer_cost},
        llm_guard=version if python is not None else why,
    )


def main() -> None:
    if sys.argv[1:] == ["--peer-worker"]:
        print(json.dumps(_peer_worker(json.loads(sys.stdin.read()))))
        return
    run(quick="--quick" in sys.argv[1:])


if __name__ == "__main__":
    main()
