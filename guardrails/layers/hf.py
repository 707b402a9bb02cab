"""The ``hf_classifier`` step: a Hugging Face sequence-classification model in a policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from guardrails.batching import MicroBatcher
from guardrails.errors import GuardrailsError
from guardrails.layers.base import EmbeddingHub, LabelJudge
from guardrails.policy.schema import LocatedValueError
from guardrails.policy.steps import HfClassifierStep
from guardrails.rules.base import CheckContext, ScanResult

__all__ = ["HfLayer"]


class HfLayer:
    kind: ClassVar[str] = "hf_classifier"
    tier: ClassVar[int] = 1
    modality: ClassVar[str] = "text"

    def __init__(self, classifier: Any, batcher: MicroBatcher[str, np.ndarray], judge: LabelJudge):
        self.classifier = classifier
        self.batcher = batcher
        self.judge = judge
        self.labels = classifier.labels
        self.max_verdict = judge.max_verdict

    @classmethod
    def from_config(
        cls, config: HfClassifierStep, base_dir: Path, *, hub: EmbeddingHub, action: Any
    ) -> HfLayer:
        from guardrails.classifiers.hf import HfSequenceClassifier

        local = Path(config.model) if Path(config.model).is_absolute() else base_dir / config.model
        source = str(local) if local.exists() else config.model
        try:
            classifier = HfSequenceClassifier.load(
                source, revision=config.revision, max_length=config.max_length, stride=config.stride
            )
        except GuardrailsError as exc:
            raise LocatedValueError(str(exc), ("model",)) from None
        judge = LabelJudge.from_step(config, action)
        judge.check_labels(config, classifier.labels, f"{config.model!r} (id2label)")
        batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(
            lambda texts: list(classifier.predict_proba(texts)),
            max_batch_size=config.max_batch_size,
            max_wait_ms=config.max_wait_ms,
            name=f"hf-{config.id}",
        )
        hub.add_closer(batcher.close)
        return cls(classifier, batcher, judge)

    async def ascan(self, content: str | bytes, context: CheckContext) -> ScanResult:
        proba = await self.batcher.submit(content)  # type: ignore[arg-type]
        scores = {label: float(p) for label, p in zip(self.labels, proba, strict=True)}
        return ScanResult(self.judge.judge(scores), scores)
