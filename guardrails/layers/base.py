"""What every ML step shares: the embedding hub of its engine, and per-label thresholds.

An engine owns one :class:`EmbeddingHub`. Steps that name the same embedder get the same loaded
model and the same :class:`~guardrails.embedding_service.EmbeddingService` (batcher and cache),
so a text is embedded once however many steps read it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.decision import Action, Verdict
from guardrails.embedders.base import EmbedderConfig, embedder_config_from_dict, load_embedder
from guardrails.embedding_service import EmbeddingService
from guardrails.rules.base import Detection

BENIGN_LABELS = frozenset(
    {"benign", "neither", "ham", "safe", "legitimate", "none", "clean", "not-offensive",
     "not-hate", "non-offensive", "non-hate", "normal", "ok"}
)  # fmt: skip
"""Label names that mean "nothing harmful": a step must ignore them (or act on them on purpose),
and policy evaluation counts rows so labelled as benign."""

__all__ = ["EmbeddingHub", "LabelJudge"]


class EmbeddingHub:
    """Loaded embedders by config, and one batching service per embedder object."""

    def __init__(self, embedders: Any = (), on_batch: Any = None) -> None:
        self._embedders: dict[str, Any] = {
            self._key(e.config): e for e in embedders
        }  # preloaded, keyed like the configs that name them
        self._services: dict[int, EmbeddingService] = {}
        self._lock = threading.Lock()
        self._closers: list[Any] = []
        self.on_batch = on_batch

    def add_closer(self, close: Any) -> None:
        """Something else to stop with the engine (an hf step's own batcher)."""
        self._closers.append(close)

    @staticmethod
    def _key(config: EmbedderConfig | Mapping[str, Any] | str) -> str:
        if not isinstance(config, EmbedderConfig.__args__):  # type: ignore[attr-defined]
            config = embedder_config_from_dict(config)  # type: ignore[arg-type]
        return json.dumps(config.to_dict(), sort_keys=True)

    def embedder(self, config: EmbedderConfig | Mapping[str, Any] | str) -> Any:
        key = self._key(config)
        if not isinstance(config, EmbedderConfig.__args__):  # type: ignore[attr-defined]
            config = embedder_config_from_dict(config)  # type: ignore[arg-type]
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = load_embedder(config)
            return self._embedders[key]

    def service(
        self, embedder: Any, *, max_batch_size: int, max_wait_ms: float, cache_size: int
    ) -> EmbeddingService:
        """The shared service of ``embedder`` (the first step to ask sets its batch options)."""
        with self._lock:
            service = self._services.get(id(embedder))
            if service is None:
                name = getattr(embedder, "config", None)
                on_batch = self.on_batch

                def record(size: int) -> None:
                    if on_batch is not None:
                        on_batch(str(name.to_dict() if name is not None else "embedder"), size)

                service = EmbeddingService(
                    embedder,
                    max_batch_size=max_batch_size,
                    max_wait_ms=max_wait_ms,
                    cache_size=cache_size,
                    on_batch=record,
                )
                self._services[id(embedder)] = service
            return service

    @property
    def services(self) -> list[EmbeddingService]:
        return list(self._services.values())

    def close(self) -> None:
        for service in self._services.values():
            service.close()
        for close in self._closers:
            close()


@dataclass(frozen=True)
class LabelJudge:
    """Turns per-label probabilities into detections: ``{label: (flag, block)}`` thresholds,
    a default for labels not listed, and labels that never act."""

    thresholds: Mapping[str, tuple[float | None, float | None]]
    default: tuple[float | None, float | None] | None
    ignore: frozenset[str]
    log_only: bool = False

    @classmethod
    def from_step(
        cls,
        step: Any,
        action: Action,
        *,
        fallback: Mapping[str, Mapping[str, float]] | None = None,
        default_level: float = 0.5,
    ) -> LabelJudge:
        """Step thresholds win; then ``fallback`` (e.g. calibrated ones from a manifest); labels
        in neither use ``default_threshold``, else the step's action at ``default_level``."""
        table: dict[str, tuple[float | None, float | None]] = {}
        for label, t in (fallback or {}).items():
            table[label] = (t.get("flag"), t.get("block"))
        for label, t in step.thresholds.items():
            table[label] = (t.flag, t.block)
        if step.default_threshold is not None:
            default = (step.default_threshold.flag, step.default_threshold.block)
        elif action is Action.FLAG:
            default = (default_level, None)
        else:
            default = (None, default_level)
        return cls(table, default, frozenset(step.ignore), log_only=action is Action.LOG)

    def labels_known(self, labels: tuple[str, ...]) -> list[str]:
        """Threshold or ignore labels the model does not have (typos in the policy)."""
        return sorted((set(self.thresholds) | self.ignore) - set(labels))

    def check_labels(self, step: Any, labels: tuple[str, ...], model: str) -> None:
        """Raise LocatedValueError at the first label of the step the model does not have, or
        at ``ignore`` when a label that names the benign class is neither ignored nor given a
        threshold of its own: every ordinary text would then be flagged or blocked."""
        from guardrails.policy.schema import LocatedValueError

        unknown = self.labels_known(labels)
        if unknown:
            first = unknown[0]
            loc = ("thresholds", first) if first in step.thresholds else ("ignore",)
            raise LocatedValueError(
                f"labels {unknown} are not labels of {model} ({', '.join(labels)})", loc
            )
        acted_on = [
            label
            for label in labels
            if label.lower() in BENIGN_LABELS
            and label not in self.ignore
            and label not in self.thresholds
        ]
        if acted_on and len(labels) > 1:
            raise LocatedValueError(
                f"label {acted_on[0]!r} of {model} names the benign class but is not in "
                "`ignore`: ordinary text would be flagged or blocked as it; add it to `ignore` "
                "(or give it a threshold, to act on it on purpose)",
                ("ignore",),
            )

    @property
    def max_verdict(self) -> Verdict:
        if self.log_only:
            return Verdict.ALLOW
        levels = [*self.thresholds.values(), *([self.default] if self.default else [])]
        return Verdict.BLOCK if any(b is not None for _, b in levels) else Verdict.FLAG

    def judge(self, scores: Mapping[str, float], evidence: tuple[str, ...] = ()) -> list[Detection]:
        found = []
        for label, p in scores.items():
            if label in self.ignore:
                continue
            flag, block = self.thresholds.get(label, self.default or (None, None))
            if block is not None and p >= block:
                action, threshold = Action.BLOCK, block
            elif flag is not None and p >= flag:
                action, threshold = Action.FLAG, flag
            else:
                continue
            found.append(
                Detection(
                    label=label,
                    score=float(p),
                    threshold=threshold,
                    action=Action.LOG if self.log_only else action,
                    evidence=evidence,
                )
            )
        found.sort(key=lambda d: -d.score)
        return found
