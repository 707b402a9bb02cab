"""Embedders: text encoders and image backbones behind one protocol.

Importing this package imports no torch: implementations are resolved lazily by
:func:`load_embedder` from the tagged config (see :mod:`guardrails.embedders.base`).
"""

from __future__ import annotations

import os
from typing import Any

from guardrails.embedders.base import (
    DEFAULT_TEXT_MODEL,
    Embedder,
    EmbedderConfig,
    Modality,
    TextEmbedderConfig,
    VisionEmbedderConfig,
    embedder_config_from_dict,
    load_embedder,
)

__all__ = [
    "DEFAULT_TEXT_MODEL",
    "Embedder",
    "EmbedderConfig",
    "Modality",
    "TextEmbedderConfig",
    "VisionEmbedderConfig",
    "embedder_config_from_dict",
    "limit_torch_threads",
    "load_embedder",
]

THREADS_ENV = "GUARDRAILS_TORCH_THREADS"


def limit_torch_threads(torch: Any) -> int:
    """Cap torch's intra-op threads to the CPUs this process may run on; return the count.

    Called when a model is loaded, never at import. ``GUARDRAILS_TORCH_THREADS`` sets the count
    explicitly. Otherwise torch's own default is kept unless it exceeds the CPUs in this
    process's affinity mask (containers often report the host's cores), where oversubscription
    makes every forward pass slower.
    """
    wanted = os.environ.get(THREADS_ENV, "").strip()
    if wanted:
        try:
            count = max(1, int(wanted))
        except ValueError:
            raise ValueError(f"{THREADS_ENV} must be an integer, got {wanted!r}") from None
    else:
        available = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        )
        count = min(torch.get_num_threads(), available or 1)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
