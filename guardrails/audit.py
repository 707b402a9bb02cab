"""The audit log: one JSON line per decision, safe to keep.

A record has the time, route, direction, verdict, every finding (step, label, action, score,
threshold, span: never the matched text), the ML scores, the policy name and the sha256 of its
file, the latency and whether enforcement was off (shadow mode). The content itself is written
only if the policy says ``audit: {log_content: true}``, and then with every finding's span
masked, so a caught secret never reaches the log. A check that skipped steps (a block ends the
run early) found nothing for them to mask: what a skipped secrets or PII step would have caught
would be written in clear. Such content is masked by :func:`full_masker` (every rule step of the
policy, all run) when the caller gives one, and withheld otherwise.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from guardrails.decision import Decision
from guardrails.engine import Engine, apply_redactions

__all__ = [
    "AuditLog",
    "Masker",
    "audit_record",
    "decision_recorder",
    "full_masker",
    "masked_content",
]

Masker = Callable[[str, Decision], str]
"""Content and its decision -> the content as the audit log may keep it."""


def masked_content(text: str, *decisions: Decision) -> str:
    """``text`` with every finding's span, whatever its action, replaced by ``[LABEL]``."""
    spans = [
        (f.span, f"[{f.label.upper()}]")
        for decision in decisions
        for f in decision.findings
        if f.span is not None
    ]
    return apply_redactions(text, spans) if spans else text


def full_masker(engine: Engine) -> Masker:
    """A :data:`Masker` for content whose check skipped steps: it also masks what every rule
    step of ``engine``'s policy finds when all of them run (ML steps find no spans)."""
    from guardrails.policy.steps import RULE_STEPS

    policy = engine.policy
    steps = [s for s in policy.steps if isinstance(s, RULE_STEPS) and s.enabled]
    defaults = policy.defaults.model_copy(update={"run_all": True})
    rules = Engine(policy.model_copy(update={"steps": steps, "tests": [], "defaults": defaults}))

    def mask(text: str, decision: Decision) -> str:
        if not decision.skipped:
            return masked_content(text, decision)
        return masked_content(text, decision, rules.check(text, direction=decision.direction))

    return mask


def audit_record(
    decision: Decision,
    *,
    content: str | bytes | None = None,
    log_content: bool = False,
    route: str | None = None,
    policy_digest: str = "",
    elapsed_ms: float | None = None,
    shadow: bool = False,
    mask: Masker | None = None,
) -> dict[str, Any]:
    """One record. With ``log_content``, the content as ``mask`` (default: the decision's own
    spans masked) leaves it; a check that skipped steps keeps it out unless ``mask`` is given."""
    record: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "route": route,
        "direction": decision.direction.value,
        "verdict": decision.verdict.value,
        "policy": decision.policy,
        "policy_sha256": policy_digest,
        "steps": list(decision.steps),
        "findings": [f.to_dict() for f in decision.findings],
    }
    if decision.scores:
        record["scores"] = decision.to_dict()["scores"]
    if elapsed_ms is not None:
        record["elapsed_ms"] = round(elapsed_ms, 3)
    if shadow:
        record["shadow"] = True
    if log_content and isinstance(content, str):
        if mask is not None:
            record["content"] = mask(content, decision)
        elif decision.skipped:  # nothing says what the skipped steps would have masked
            record["content_withheld"] = "steps skipped: " + ", ".join(decision.skipped)
        else:
            record["content"] = masked_content(content, decision)
    elif log_content and isinstance(content, bytes):
        record["content_bytes"] = len(content)
    return record


class AuditLog:
    """Appends records to a JSONL file (or any text stream); thread-safe, one write per line.

    ``reopen()`` (e.g. after logrotate moved the file, on SIGHUP) starts a new file.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str]) -> None:
        self._lock = threading.Lock()
        self._path = None if hasattr(target, "write") else Path(target)  # type: ignore[arg-type]
        self._stream: IO[str] = target if self._path is None else self._open()  # type: ignore[assignment]

    def _open(self) -> IO[str]:
        path = self._path or Path(os.devnull)
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "a", encoding="utf-8", buffering=1)

    def record(self, decision: Decision, **fields: Any) -> dict[str, Any]:
        """Write one record (see :func:`audit_record` for the fields) and return it."""
        record = audit_record(decision, **fields)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self._stream.write(line)
        return record

    def reopen(self) -> None:
        if self._path is None:
            return
        with self._lock:
            self._stream.close()
            self._stream = self._open()

    def close(self) -> None:
        with self._lock:
            if self._path is not None:
                self._stream.close()
            else:
                self._stream.flush()


def decision_recorder(
    audit: AuditLog | None = None,
    metrics: Any = None,
    *,
    policy: Any = None,
    policy_digest: str = "",
    shadow: bool = False,
) -> Callable[[Decision, str], None]:
    """A ``(decision, route)`` callback that writes the audit log and the metrics, e.g.

        live = LiveEngine("policies/chat.yaml")
        app.add_middleware(GuardrailsMiddleware, policy=live,
                           on_decision=decision_recorder(AuditLog("audit.jsonl"), policy=live))

    ``policy`` (the middleware's ``LiveEngine`` or ``Engine``) gives each record the sha256 of
    the policy in force when it is written, so records name the version after a hot reload;
    ``policy_digest`` is a fixed value instead.
    """

    def digest() -> str:
        if policy is None:
            return policy_digest
        engine = getattr(policy, "engine", policy)  # a LiveEngine's current engine
        return str(engine.policy.digest)

    def record(decision: Decision, route: str) -> None:
        if audit is not None:
            audit.record(decision, route=route, policy_digest=digest(), shadow=shadow)
        if metrics is not None:
            metrics.observe(decision, shadow=shadow)

    return record
