"""The ``hf_classifier`` step: a Hugging Face sequence-classification model in a policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from guardrails.batching import MicroBatcher
from guardrails.errors import GuardrailsError, MissingDependency, ModelLoadError
from guardrails.layers.base import EmbeddingHub, LabelJudge
from guardrails.policy.schema import LocatedValueError
from guardrails.policy.steps import HfClassifierStep
from guardrails.rules.base import CheckContext, ScanResult

__all__ = ["HfLayer"]

_PLACEHOLDER = re.compile(r"LABEL_\d+")  # what transformers names outputs without id2label


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
            labels = _usable_labels(source, config.revision)
            try:
                classifier = HfSequenceClassifier.load(
                    source, revision=config.revision, max_length=config.max_length,
                    stride=config.stride,
                )  # fmt: skip
            except RuntimeError as exc:  # transformers: checkpoint head size != len(id2label)
                raise ModelLoadError(
                    f"cannot load {source!r}: its weights do not fit its config; the"
                    f" classification head must have one output per id2label entry"
                    f" ({len(labels)}): {exc}"
                ) from None
        except GuardrailsError as exc:
            raise LocatedValueError(str(exc), ("model",)) from None
        if len(labels) == 1:
            # One logit: a softmax over it is always 1.0, so read it as a sigmoid, as a
            # multi-label model is read. (Belongs in classifiers/hf.py; done here at load,
            # before the classifier is shared.)
            classifier.multi_label = True
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


def _usable_labels(source: str, revision: str | None) -> tuple[str, ...]:
    """The model's label names by output index, read from its config before the weights; a
    ModelLoadError naming ``source`` if its ``id2label`` is missing, has gaps, or repeats a name."""
    try:
        from transformers import AutoConfig
    except ImportError as exc:
        raise MissingDependency("ml", "hf_classifier steps", exc) from exc
    try:
        model_config = AutoConfig.from_pretrained(source, revision=revision)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load {source!r}: {exc}") from None
    id2label = dict(getattr(model_config, "id2label", None) or {})
    ids = sorted(id2label)
    if not ids:
        raise ModelLoadError(f"{source!r} has no id2label in its config")
    if ids != list(range(len(ids))):
        raise ModelLoadError(
            f"{source!r}: id2label ids {ids} are not the output indices 0..{len(ids) - 1};"
            " give every output of the model exactly one label"
        )
    labels = tuple(str(id2label[i]) for i in ids)
    placeholders = [name for name in labels if _PLACEHOLDER.fullmatch(name)]
    if placeholders:
        raise ModelLoadError(
            f"{source!r} has no id2label in its config (or one of another size than"
            f" num_labels): transformers named its outputs {', '.join(placeholders)};"
            " give id2label the real label names, one per output"
        )
    repeated = sorted({name for name in labels if labels.count(name) > 1})
    if repeated:
        raise ModelLoadError(f"{source!r}: id2label names {repeated} more than once")
    return labels
