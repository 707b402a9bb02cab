"""Toy datasets and the fake embedder shared by the classifier tests (no model, no torch)."""

from __future__ import annotations

import pytest

from guardrails.testing import FakeEmbedder

SPAM = [
    "buy cheap pills now",
    "cheap watches for sale",
    "win a free prize now",
    "free money click here",
    "cheap pills discount offer",
    "claim your free prize today",
]
HAM = [
    "see you at lunch tomorrow",
    "the meeting moved to friday",
    "can you send the report",
    "lunch at noon with the team",
    "the friday report is ready",
    "thanks for the meeting notes",
]
MULTI = [
    ("you are an idiot", ["insult"]),
    ("what a stupid idiot", ["insult"]),
    ("you stupid fool", ["insult"]),
    ("i will hurt you", ["threat"]),
    ("i will find you and hurt you", ["threat"]),
    ("watch your back i will find you", ["threat"]),
    ("you idiot i will hurt you", ["insult", "threat"]),
    ("stupid fool i will find you", ["insult", "threat"]),
    ("have a nice day", ["neutral"]),
    ("the weather is nice today", ["neutral"]),
    ("see you at the party", ["neutral"]),
]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def spam_rows() -> list[dict]:
    rows = [{"text": t, "label": "spam"} for t in SPAM] + [{"text": t, "label": "ham"} for t in HAM]
    rows[0]["id"] = "spam-0"
    return rows


@pytest.fixture
def spam_data(spam_rows):
    from guardrails.training.dataset import dataset_from_rows

    return dataset_from_rows(spam_rows, source="spam.jsonl")


@pytest.fixture(scope="module")
def spam_dataset():
    """The spam/ham rows as one dataset shared by a module (for tests that train slowly)."""
    from guardrails.training.dataset import dataset_from_rows

    rows = [{"text": t, "label": "spam"} for t in SPAM] + [{"text": t, "label": "ham"} for t in HAM]
    return dataset_from_rows(rows, source="spam.jsonl")


@pytest.fixture
def multi_data():
    from guardrails.training.dataset import dataset_from_rows

    return dataset_from_rows([{"text": t, "label": ls} for t, ls in MULTI], source="multi.jsonl")
