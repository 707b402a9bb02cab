"""A fine-tuned text encoder stored as the tensors that differ from its base.

A SetFit body fine-tuned in its top layers only (``train_layers``) shares most of its weights
with the base encoder it came from. Saving just the changed tensors keeps a MiniLM classifier
with three tuned layers near 10 MB in float16 instead of 90 MB, at the price of needing the
base encoder at load time. The base is identified by a sha256 over its tensors, so loading a
delta on top of a different base (another version, another model) fails with a message instead
of silently producing wrong embeddings.

Each changed tensor is stored in float16 when that is exact (the trainer's
``body_dtype="float16"`` rounds the tuned weights before the head is fitted), else float32;
loading always yields float32 weights, so a round trip predicts identically.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.artifacts import load_arrays, save_arrays
from guardrails.embedders.base import TextEmbedderConfig
from guardrails.errors import ModelLoadError

__all__ = ["MAX_DELTA_SHARE", "base_fingerprint", "changed_tensors", "load_delta", "save_delta"]

MAX_DELTA_SHARE = 0.5
"""Store a delta only when at most this share of the encoder's values changed; a body tuned
throughout is saved whole (a delta would be as large and would need the base besides)."""

_SKIP = ("pooler.",)  # unused by mean pooling; often absent from checkpoints and randomly set


def _tensors(model: Any) -> dict[str, Any]:
    return {k: v for k, v in model.state_dict().items() if not k.startswith(_SKIP)}


def base_fingerprint(model: Any) -> str:
    """sha256 over the names, shapes and float32 bytes of ``model``'s tensors (sorted)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(_tensors(model).items()):
        array = tensor.detach().cpu().float().contiguous().numpy()
        digest.update(f"{name}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def changed_tensors(model: Any, base: Any) -> dict[str, Any] | None:
    """The tensors of ``model`` that differ from ``base``'s, or ``None`` when the two do not
    share an architecture or more than :data:`MAX_DELTA_SHARE` of the values changed."""
    import torch

    mine, theirs = _tensors(model), _tensors(base)
    if mine.keys() != theirs.keys() or any(mine[k].shape != theirs[k].shape for k in mine):
        return None
    changed = {k: v for k, v in mine.items() if not torch.equal(v, theirs[k])}
    total = sum(v.numel() for v in mine.values())
    if sum(v.numel() for v in changed.values()) > MAX_DELTA_SHARE * total:
        return None
    return changed


def save_delta(path: Path, changed: dict[str, Any], fingerprint: str) -> None:
    """Write ``changed`` (name -> tensor) to one safetensors file, float16 where exact."""
    arrays = {}
    for name, tensor in changed.items():
        array = tensor.detach().cpu().float().numpy()
        half = array.astype(np.float16)
        arrays[name] = half if np.array_equal(half.astype(np.float32), array) else array
    save_arrays(path, arrays, metadata={"base_sha256": fingerprint})


def load_delta(path: Path, config: TextEmbedderConfig, fingerprint: str, max_length: Any) -> Any:
    """The base encoder ``config`` names with the tensors in ``path`` written over it, as a
    TextEmbedder; ModelLoadError if the base is not the one the delta was made from."""
    import torch

    from guardrails.embedders.text import TextEmbedder

    base = TextEmbedder.from_config(config)
    found = base_fingerprint(base.model)
    if found != fingerprint:
        raise ModelLoadError(
            f"{path}: stores the fine-tuned layers of text encoder {config.model!r} as changes "
            f"to it, but the encoder found here differs from the one it was trained from "
            f"(sha256 {found[:12]}, expected {fingerprint[:12]}); install the same base model"
        )
    arrays = load_arrays(path)
    state = base.model.state_dict()
    unknown = sorted(set(arrays) - set(state))
    if unknown:
        raise ModelLoadError(f"{path}: tensors the encoder does not have: {unknown[:3]}")
    for name, array in arrays.items():
        if tuple(array.shape) != tuple(state[name].shape):
            raise ModelLoadError(f"{path}: {name} has shape {array.shape}")
    update = {name: torch.from_numpy(array.astype(np.float32)) for name, array in arrays.items()}
    base.model.load_state_dict(update, strict=False)
    if isinstance(max_length, int):
        config = config.model_copy(update={"max_length": max_length})
    return TextEmbedder.from_modules(base.model, base.tokenizer, config)
