"""Any Hugging Face sequence-classification model with ``id2label`` (BERT, RoBERTa, DistilBERT,
XLM-R, ModernBERT, ...), from a local directory or a hub id.

Probabilities follow the model's ``problem_type``: a sigmoid per label for
``multi_label_classification``, else a softmax. A text longer than the model's window is split
into overlapping windows and each label keeps its highest probability over them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from guardrails.classifiers.base import Prediction, to_prediction
from guardrails.embedders.text import special_tokens
from guardrails.errors import InputError, MissingDependency, ModelLoadError

__all__ = ["HfSequenceClassifier"]


class HfSequenceClassifier:
    def __init__(self, model: Any, tokenizer: Any, max_length: int, stride: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        config = model.config
        self.labels = tuple(config.id2label[i] for i in range(len(config.id2label)))
        self.multi_label = getattr(config, "problem_type", None) == "multi_label_classification"
        self._specials = special_tokens(tokenizer)
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str,
        *,
        revision: str | None = None,
        max_length: int | None = None,
        stride: int = 64,
    ) -> HfSequenceClassifier:
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise MissingDependency("ml", "hf_classifier steps", exc) from exc
        try:
            tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
            network = AutoModelForSequenceClassification.from_pretrained(model, revision=revision)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load {model!r}: {exc}") from None
        if not getattr(network.config, "id2label", None):
            raise ModelLoadError(f"{model!r} has no id2label in its config")
        network.eval()
        limit = min(
            tokenizer.model_max_length or 512,
            getattr(network.config, "max_position_embeddings", 512) or 512,
            512,
        )
        window = min(max_length or limit, limit)
        return cls(network, tokenizer, window, min(stride, window // 2))

    def _windows(self, text: str) -> list[list[int]]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        head, tail = self._specials
        room = self.max_length - len(head) - len(tail)
        if len(ids) <= room:
            return [head + ids + tail]
        step = max(room - self.stride, 1)
        return [
            head + ids[start : start + room] + tail
            for start in range(0, max(len(ids) - self.stride, 1), step)
        ]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), len(labels))`` probabilities; thread-safe."""
        import torch

        if any(not isinstance(t, str) for t in texts):
            raise InputError("an hf_classifier step reads text")
        sequences, owner = [], []
        for index, text in enumerate(texts):
            for window in self._windows(text):
                sequences.append(window)
                owner.append(index)
        batch = self.tokenizer.pad({"input_ids": sequences}, return_tensors="pt")
        with self._lock, torch.inference_mode():
            logits = self.model(**batch).logits.float()
        proba = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        np.maximum.at(out, np.asarray(owner), proba.numpy())
        return out

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list[Prediction]:
        return [to_prediction(self.labels, p, top_k) for p in self.predict_proba(texts)]
