"""The ``semantic`` step: zero-shot labels written as descriptions, calibrated per label.

Each label has one or more descriptions ("instructions for making a weapon") and, optionally, a
few example texts. Content is scored by its best cosine similarity to any of them. Raw cosines
are not comparable across labels: a description full of everyday words sits closer to ordinary
text than a narrow one. So each label is calibrated on its own against a background set of
ordinary text: a label's score is the fraction of background texts less similar to it than the
content is (an empirical CDF, with an exponential tail above the most similar background text).
A threshold of 0.99 then means "more like this label than 99% of ordinary text" for every label:
the same false-positive rate on background traffic, whichever label.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from guardrails.cachedir import cache_dir
from guardrails.errors import GuardrailsError
from guardrails.layers.base import EmbeddingHub, LabelJudge
from guardrails.policy.schema import LocatedValueError
from guardrails.policy.steps import SemanticStep
from guardrails.rules.base import CheckContext, ScanResult

__all__ = ["LabelCalibration", "SemanticLayer", "default_background"]

DEFAULT_LEVEL = 0.99  # labels without thresholds act above the 99th background percentile


def default_background() -> list[str]:
    """The ordinary texts shipped with guardrails (``guardrails/data/background.txt``)."""
    text = resources.files("guardrails").joinpath("data/background.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class LabelCalibration:
    """A label's background similarities, sorted, and the scale of their tail."""

    background: np.ndarray
    scale: float

    @classmethod
    def fit(cls, similarities: np.ndarray) -> LabelCalibration:
        ordered = np.sort(similarities.astype(np.float64))
        return cls(ordered, float(max(ordered.std(), 1e-3)))

    def score(self, cosine: float) -> float:
        """Probability-like score in 0..1: how much more similar than ordinary text."""
        n = len(self.background)
        top = self.background[-1]
        if cosine > top:
            return float(1.0 - np.exp(-(cosine - top) / self.scale) / (n + 1))
        below = np.searchsorted(self.background, cosine, side="right")
        return float(below / (n + 1))


def _background_vectors(embedder: Any, texts: list[str]) -> np.ndarray:
    """Embeddings of the background set, cached on disk per embedder and text."""
    key = hashlib.sha256(
        json.dumps([embedder.config.to_dict(), texts], sort_keys=True).encode()
    ).hexdigest()[:24]
    path = cache_dir() / "background" / f"{key}.npy"
    if path.exists():
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(texts), embedder.dimension):
                return vectors
        except (OSError, ValueError):
            pass
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors, allow_pickle=False)
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: compute again next time
    return vectors


class SemanticLayer:
    kind: ClassVar[str] = "semantic"
    tier: ClassVar[int] = 1
    modality: ClassVar[str] = "text"

    def __init__(
        self,
        service: Any,
        anchors: dict[str, np.ndarray],
        anchor_texts: dict[str, list[str]],
        calibrations: dict[str, LabelCalibration],
        judge: LabelJudge,
    ) -> None:
        self.service = service
        self.labels = tuple(anchors)
        self._anchors = anchors
        self._anchor_texts = anchor_texts
        self.calibrations = calibrations
        self.judge = judge
        self.max_verdict = judge.max_verdict

    @classmethod
    def from_config(
        cls, config: SemanticStep, base_dir: Path, *, hub: EmbeddingHub, action: Any
    ) -> SemanticLayer:
        try:
            embedder = hub.embedder(config.embedder)
        except (GuardrailsError, ValueError, OSError) as exc:
            raise LocatedValueError(f"cannot load the embedder: {exc}", ("embedder",)) from None
        if embedder.modality.value != "text":
            raise LocatedValueError("a semantic step needs a text embedder", ("embedder",))
        if config.background:
            path = Path(config.background)
            path = path if path.is_absolute() else base_dir / path
            try:
                background = [t.strip() for t in path.read_text("utf-8").splitlines() if t.strip()]
            except OSError as exc:
                raise LocatedValueError(f"cannot read background: {exc}", ("background",)) from None
        else:
            background = default_background()
        if len(background) < 50:
            raise LocatedValueError("the background set needs at least 50 texts", ("background",))
        bg = _background_vectors(embedder, background)
        anchors, anchor_texts, calibrations = {}, {}, {}
        for label, descriptions in config.labels.items():
            texts = [*descriptions, *config.examples.get(label, [])]
            vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
            anchors[label], anchor_texts[label] = vectors, texts
            calibrations[label] = LabelCalibration.fit((bg @ vectors.T).max(axis=1))
        judge = LabelJudge.from_step(config, action, default_level=DEFAULT_LEVEL)
        judge.check_labels(config, tuple(anchors), "this step's descriptions")
        service = hub.service(
            embedder,
            max_batch_size=config.max_batch_size,
            max_wait_ms=config.max_wait_ms,
            cache_size=config.cache_size,
        )
        return cls(service, anchors, anchor_texts, calibrations, judge)

    def similarities(self, windows: np.ndarray) -> dict[str, tuple[float, int]]:
        """Per label: the best cosine over windows and anchors, and which anchor it was."""
        out = {}
        for label, vectors in self._anchors.items():
            sims = windows @ vectors.T  # (windows, anchors)
            flat = int(np.argmax(sims))
            out[label] = (float(sims.flat[flat]), flat % vectors.shape[0])
        return out

    async def ascan(self, content: str | bytes, context: CheckContext) -> ScanResult:
        windows = await self.service.windows(content)
        best = self.similarities(windows)
        scores = {label: self.calibrations[label].score(c) for label, (c, _) in best.items()}
        detections = self.judge.judge(scores)
        for i, detection in enumerate(detections):
            anchor = self._anchor_texts[detection.label][best[detection.label][1]]
            detections[i] = dataclasses.replace(detection, evidence=(anchor[:120],))
        return ScanResult(detections, scores)
