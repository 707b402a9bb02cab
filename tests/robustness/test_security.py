"""Security promises, checked on the code itself."""

from __future__ import annotations

import ast
from pathlib import Path

from guardrails import Engine

PACKAGE = Path(__file__).resolve().parents[2] / "guardrails"
UNSAFE_YAML = {f"yaml.{loader}" for loader in ("load", "unsafe_load", "full_load")}


def calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = (
                func.value.id
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else ""
            )
            found.append((f"{owner}.{name}" if owner else name, node))
    return found


def test_no_unsafe_deserialisation_anywhere_in_the_package():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(
                    n.split(".")[0] in {"pickle", "dill", "joblib", "cloudpickle", "marshal"}
                    for n in names
                ):
                    problems.append(f"{path}:{node.lineno}: imports a pickle-like module")
        for name, node in calls(tree):
            keywords = {k.arg: k.value for k in node.keywords}
            if name in UNSAFE_YAML:
                problems.append(f"{path}:{node.lineno}: {name} (use yaml.safe_load)")
            if name == "torch.load":
                weights_only = keywords.get("weights_only")
                if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                    problems.append(f"{path}:{node.lineno}: torch.load without weights_only=True")
            if name in {"np.load", "numpy.load"}:
                allow = keywords.get("allow_pickle")
                if not (isinstance(allow, ast.Constant) and allow.value is False):
                    problems.append(f"{path}:{node.lineno}: np.load without allow_pickle=False")
            if name in {"eval", "exec"}:
                problems.append(f"{path}:{node.lineno}: {name}")
    assert problems == []


def test_user_regexes_only_through_re2():
    engine = Engine.from_string(
        "version: 1\nname: r\nsteps:\n  - {id: r, kind: regex, patterns: {x: 'a+b'}}\n"
    )
    (step,) = engine._steps
    # each entry: label, the re2 wrapper, and the raw RE2 regexp under it (None without one)
    compiled = [p for _, *regexps in step.check._patterns for p in regexps if p is not None]
    assert compiled and all(type(p).__module__.startswith("re2") for p in compiled)
    # the regex module is the only one that compiles policy patterns
    source = (PACKAGE / "rules" / "regex.py").read_text()
    assert "import re2" in source and "\nimport re\n" not in source
