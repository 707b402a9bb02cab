"""Load a policy from a path or a string, with errors that name the file, line, step and field.

YAML is parsed with ``yaml.safe_load``; a second, node-level pass (``yaml.compose``) records the
line of every key so that a pydantic error location maps back to the line a person must edit.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guardrails.errors import PolicyError
from guardrails.policy.schema import LocatedValueError, Policy
from guardrails.policy.steps import ML_STEPS, RULE_STEPS

__all__ = ["LocatedValueError", "Source", "load_policy", "policy_from_string"]

Loc = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")
_STEP_MODELS: dict[str, type[BaseModel]] = {
    m.model_fields["kind"].annotation.__args__[0]: m
    for m in (*RULE_STEPS, *ML_STEPS)  # type: ignore[union-attr]
}


@dataclass
class Source:
    """Where a policy came from, and the line of every key in it."""

    name: str
    base_dir: Path
    path: Path | None = None
    lines: dict[Loc, int] = field(default_factory=dict)
    data: Any = None
    digest: str = ""  # sha256 of the policy text: the version an audit record names

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest ancestor present in the document."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def where(self, loc: Loc) -> str:
        return f"{self.name}:{self.line_of(loc)}"

    def step_label(self, loc: Loc) -> str:
        """``step 'pii': `` for a location inside a step, else an empty string."""
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            steps = self.data.get("steps") if isinstance(self.data, dict) else None
            if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
                step_id = steps[loc[1]].get("id")
                if step_id is not None:
                    return f"step '{step_id}': "
            return f"steps[{loc[1]}]: "
        return ""

    def problem(self, loc: Loc, message: str) -> str:
        return f"{self.where(loc)}: {self.step_label(loc)}{message}"


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load and validate the policy file at ``path``; raise PolicyError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{path}: cannot read policy file: {exc}"]) from exc
    return policy_from_string(text, name=str(path), base_dir=path.parent, path=path)


def policy_from_string(
    text: str,
    *,
    name: str = "<string>",
    base_dir: str | os.PathLike[str] | None = None,
    path: Path | None = None,
) -> Policy:
    """Validate a policy given as YAML text. Relative files resolve against ``base_dir``."""
    source = Source(
        name=name,
        base_dir=Path(base_dir or Path.cwd()),
        path=path,
        digest=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError([f"{name}:{line}: invalid YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([f"{name}: invalid YAML: {exc}"]) from None
    problems: list[str] = []
    if root is not None:
        _check_size(root, name)
        _index(root, (), source.lines, problems, name)
    if not isinstance(data, dict):
        problems.append(f"{name}:1: a policy is a mapping with version, name and steps")
        raise PolicyError(problems)
    source.data = data
    data = _interpolate(data, (), source, problems)
    if problems:
        raise PolicyError(problems)
    try:
        policy = Policy.model_validate(data, context={"base_dir": source.base_dir})
    except ValidationError as exc:
        errors = exc.errors()
        # A container error ("at least 1 item") that follows from a more precise error inside
        # it ("unknown value 'mail'") is noise: keep the precise one.
        locs = [tuple(err["loc"]) for err in errors]
        kept = [
            err
            for err, loc in zip(errors, locs, strict=True)
            if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
        ]
        raise PolicyError([_describe(err, source, data) for err in kept]) from None
    policy._source = source
    return policy


MAX_NODES = 200_000
"""Values a policy may hold once its aliases are expanded: a few YAML lines of nested aliases
can stand for billions (the "billion laughs"), which every later stage would walk."""


def _check_size(root: yaml.Node, name: str) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_NODES` values, or refer to
    themselves; counted once per distinct node, so the check is as cheap as the document."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in pending:
            line = node.start_mark.line + 1
            raise PolicyError([f"{name}:{line}: an alias refers to the value that holds it"])
        pending.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        pending.discard(key)
        sizes[key] = min(total, MAX_NODES + 1)
        return sizes[key]

    try:
        total = size(root)
    except RecursionError:
        raise PolicyError([f"{name}: nested too deeply"]) from None
    if total > MAX_NODES:
        raise PolicyError(
            [
                f"{name}: its aliases expand to more than {MAX_NODES:,} values; put long lists "
                "in files (keywords: words_file) and keep aliases for small shared values"
            ]
        )


def _index(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[str], name: str
) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(f"{name}:{key_node.start_mark.line + 1}: duplicate key '{key}'")
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index(value_node, (*loc, key), lines, problems, name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*loc, i), lines, problems, name)


def _interpolate(value: Any, loc: Loc, source: Source, problems: list[str]) -> Any:
    """Replace ``${VAR}`` and ``${VAR:default}`` in every string with the environment's value."""
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), source, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), source, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(source.problem(loc, f"environment variable {name} is not set"))
        return ""

    return _ENV.sub(substitute, value)


def _describe(err: Mapping[str, Any], source: Source, data: Any) -> str:
    loc: Loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, LocatedValueError):
        return source.problem(cause.loc, str(cause))
    loc = _strip_tags(loc, data)
    kind = err["type"]
    field_name = (
        ".".join(str(p) for p in loc[2:] if not isinstance(p, int))
        if _in_step(loc)
        else (".".join(str(p) for p in loc))
    )
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown field '{key}'" + _suggest(key, _allowed_fields(loc, data))
    elif kind == "missing":
        message = f"missing required field '{loc[-1]}'"
    elif kind == "union_tag_invalid":
        message = f"unknown kind {ctx.get('tag')!r} (expected one of {ctx.get('expected_tags')})"
        loc = (*loc, "kind")
    elif kind == "union_tag_not_found":
        message = "missing field 'kind'"
    elif kind in ("literal_error", "enum"):
        message = f"{field_name}: unknown value {value!r} (expected {ctx.get('expected')})"
    elif kind == "value_error":
        message = f"{field_name}: {cause}" if field_name else str(cause)
    else:
        message = f"{field_name}: {err['msg']}" if field_name else err["msg"]
        if value is not None and not isinstance(value, dict | list):
            message += f" (got {value!r})"
    return source.problem(loc, message)


def _in_step(loc: Loc) -> bool:
    return len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int)


def _strip_tags(loc: Loc, data: Any) -> Loc:
    """Drop the union tag pydantic puts after a step index: ('steps', 0, 'pii', 'x')."""
    if _in_step(loc) and len(loc) >= 3 and loc[2] in _STEP_MODELS:
        return (*loc[:2], *loc[3:])
    return loc


def _allowed_fields(loc: Loc, data: Any) -> list[str]:
    if _in_step(loc) and len(loc) == 3:
        steps = data.get("steps") or []
        step = steps[loc[1]] if loc[1] < len(steps) else {}
        model = _STEP_MODELS.get(step.get("kind")) if isinstance(step, dict) else None
        return list(model.model_fields) if model else []
    if len(loc) == 1:
        return list(Policy.model_fields)
    return []


def _suggest(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
