"""The ``classifier`` step: a saved embedding classifier (centroid, knn, setfit) in a policy."""

from __future__ import annotations

import dataclasses
import os
import pkgutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from guardrails.errors import GuardrailsError
from guardrails.layers.base import EmbeddingHub, LabelJudge
from guardrails.policy.schema import LocatedValueError
from guardrails.policy.steps import ClassifierStep
from guardrails.rules.base import CheckContext, ScanResult

__all__ = ["ClassifierLayer", "locate_model"]


def locate_model(model: str, base_dir: Path) -> Path:
    """A directory relative to the policy, else a registered id's directory."""
    candidate = Path(model) if Path(model).is_absolute() else base_dir / model
    if candidate.exists():
        return candidate
    from guardrails.registry import ENV_VAR, parse_classifier_spec

    registered = parse_classifier_spec(os.environ.get(ENV_VAR, "")).get(model)
    return Path(registered) if registered else candidate


class ClassifierLayer:
    kind: ClassVar[str] = "classifier"
    tier: ClassVar[int] = 1

    def __init__(self, classifier: Any, service: Any, judge: LabelJudge, evidence: int) -> None:
        self.classifier = classifier
        self.service = service
        self.judge = judge
        self.evidence = evidence
        self.labels = tuple(classifier.labels)
        self.modality = classifier.modality.value
        self.max_verdict = judge.max_verdict

    @classmethod
    def from_config(
        cls, config: ClassifierStep, base_dir: Path, *, hub: EmbeddingHub, action: Any
    ) -> ClassifierLayer:
        from guardrails.artifacts import read_manifest
        from guardrails.classifiers import FAMILIES, load_classifier

        where = locate_model(config.model, base_dir)
        try:
            manifest = read_manifest(where)
            family = (
                pkgutil.resolve_name(FAMILIES[manifest.family])
                if manifest.family in FAMILIES
                else None
            )
            shared = None
            if family is not None and not getattr(family, "owns_encoder", False):
                shared = hub.embedder(manifest.embedder_config)
            classifier = load_classifier(where, embedder=shared)
        except GuardrailsError as exc:
            raise LocatedValueError(
                f"cannot load model {config.model!r}: {exc}", ("model",)
            ) from None
        judge = LabelJudge.from_step(config, action, fallback=manifest.thresholds)
        judge.check_labels(config, tuple(classifier.labels), repr(config.model))
        service = hub.service(
            classifier.embedder,
            max_batch_size=config.max_batch_size,
            max_wait_ms=config.max_wait_ms,
            cache_size=config.cache_size,
        )
        return cls(classifier, service, judge, config.evidence)

    async def ascan(self, content: str | bytes, context: CheckContext) -> ScanResult:
        windows = await self.service.windows(content)
        proba = self.classifier.predict_proba_embeddings(windows)  # (windows, labels)
        best = proba.max(axis=0)
        scores = {label: float(p) for label, p in zip(self.labels, best, strict=True)}
        detections = self.judge.judge(scores)
        if detections and self.evidence:
            top = self.labels.index(detections[0].label)
            row = int(np.argmax(proba[:, top]))
            evidence = tuple(self.classifier.evidence_for(windows[row : row + 1])[0])
            evidence = evidence[: self.evidence]
            if evidence:
                detections = [dataclasses.replace(d, evidence=evidence) for d in detections]
        return ScanResult(detections, scores)
