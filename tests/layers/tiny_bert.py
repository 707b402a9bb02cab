"""A tiny randomly initialised BERT sequence classifier, built and saved at test time (no hub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_tiny_bert(
    path: Path, words: list[str], *, config_json: dict[str, Any] | None = None, **config: Any
) -> Path:
    """Save the model and its tokenizer (vocabulary: ``words``) to ``path``, made here.
    ``config`` goes to ``BertConfig`` (``id2label``, ``problem_type``...); ``config_json`` then
    overwrites keys of the saved config.json, as a hand-edited config would."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (path / "vocab.txt").write_text("\n".join(vocab))
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), model_max_length=32)
    bert = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, **config,
    )  # fmt: skip
    BertForSequenceClassification(bert).save_pretrained(path)
    tokenizer.save_pretrained(path)
    if config_json:
        saved = json.loads((path / "config.json").read_text())
        (path / "config.json").write_text(json.dumps({**saved, **config_json}))
    return path
