"""Prometheus metrics for decisions, through prometheus_client (the ``server`` extra).

Each :class:`Metrics` owns its registry unless given one: no global state, nothing shared
between two apps or two tests in one process.
"""

from __future__ import annotations

from typing import Any

from guardrails.decision import Decision
from guardrails.errors import MissingDependency

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    def __init__(self, registry: Any = None, namespace: str = "guardrails") -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:
            raise MissingDependency("server", "Prometheus metrics", exc) from exc
        self._prom = prom
        self.registry = registry if registry is not None else prom.CollectorRegistry()
        kw: dict[str, Any] = {"namespace": namespace, "registry": self.registry}
        self.decisions = prom.Counter(
            "decisions", "Decisions by verdict", ["policy", "direction", "verdict", "shadow"], **kw
        )
        self.findings = prom.Counter(
            "findings", "Findings by step, label and action", ["step", "label", "action"], **kw
        )
        self.errors = prom.Counter("errors", "Checks that failed, by step", ["step"], **kw)
        self.step_seconds = prom.Histogram(
            "step_seconds", "Time per step", ["step"], buckets=_LATENCY_BUCKETS, **kw
        )
        self.decision_seconds = prom.Histogram(
            "decision_seconds", "Time per decision", ["policy"], buckets=_LATENCY_BUCKETS, **kw
        )
        self.batch_size = prom.Histogram(
            "batch_size", "Items per model forward pass", ["embedder"], buckets=_BATCH_BUCKETS, **kw
        )
        self.requests = prom.Counter(
            "http_requests", "HTTP answers by route and status", ["route", "status"], **kw
        )

    def observe(
        self, decision: Decision, elapsed_s: float | None = None, shadow: bool = False
    ) -> None:
        self.decisions.labels(
            decision.policy, decision.direction.value, decision.verdict.value, str(shadow).lower()
        ).inc()
        for finding in decision.findings:
            self.findings.labels(finding.step, finding.label, finding.action.value).inc()
            if finding.label == "error":
                self.errors.labels(finding.step).inc()
        for step, ms in decision.timings_ms.items():
            self.step_seconds.labels(step).observe(ms / 1000.0)
        if elapsed_s is not None:
            self.decision_seconds.labels(decision.policy).observe(elapsed_s)

    def observe_batch(self, embedder: str, size: int) -> None:
        self.batch_size.labels(embedder).observe(size)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type, for a /metrics endpoint."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST
