"""Fine-tuning a SetFit encoder body: in-batch contrastive pairs, and LP-FT's joint stage.

The `setfit` library feeds its encoder one sentence pair at a time: each of its pairs costs two
forward passes, so 8,320 pairs cost 16,640 passes. Here a batch of ``B`` examples is encoded
once and a pair loss (:mod:`guardrails.training.losses`: the supervised contrastive loss, or
SetFit's own cosine-similarity loss) is taken over all ``B * (B - 1) / 2`` pairs inside the
batch. Batches are stratified, so every batch holds positive and negative pairs. Rows are
encoded in length-sorted chunks, so the forward passes spend little on padding.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import numpy as np
import torch

from guardrails.training.losses import (
    PAIR_LOSSES,
    SUPCON_TEMPERATURE,
    classification_loss,
    in_batch_cosine_loss,
    in_batch_supcon_loss,
)

__all__ = [
    "balanced_batches",
    "classification_loss",
    "encode_batch",
    "fine_tune_with_head",
    "in_batch_cosine_loss",
    "in_batch_supcon_loss",
    "length_chunks",
    "pairs_per_batch",
    "setfit_pair_count",
    "train_body",
    "trainable_parameters",
    "transformer_depth",
    "tuned_parameters",
    "warmup_linear",
]


def setfit_pair_count(label_matrix: np.ndarray) -> int:
    """The number of pairs the `setfit` library draws by default ("oversampling").

    It enumerates every unordered pair with replacement (self-pairs included), counts the
    positive and negative ones, and draws ``2 * max(positives, negatives)`` pairs.
    """
    binary = np.asarray(label_matrix, dtype=np.float64) > 0
    shared = (binary.astype(np.float64) @ binary.T.astype(np.float64)) > 0
    upper = np.triu(np.ones(shared.shape, dtype=bool))
    positives = int(np.count_nonzero(shared & upper))
    negatives = int(np.count_nonzero(~shared & upper))
    return 2 * max(positives, negatives)


def pairs_per_batch(batch_size: int) -> int:
    """Distinct pairs one batch of ``batch_size`` examples covers."""
    return batch_size * (batch_size - 1) // 2


def balanced_batches(
    strata: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One epoch of example indices in batches that each mix the strata in proportion.

    ``strata`` gives each example's class (for multi-label data: its label set, as an integer).
    Each class is shuffled and its members spread evenly over the epoch, so every batch draws
    from every class (a rare class appears in proportion to its size); the final short batch
    is merged into the one before when it is too small to pair well.
    """
    strata = np.asarray(strata)
    position = np.empty(len(strata), dtype=np.float64)
    for value in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == value))
        position[members] = (np.arange(len(members)) + rng.random()) / len(members)
    order = np.argsort(position, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < max(4, batch_size // 4):
        batches[-2] = np.concatenate([batches[-2], batches.pop()])
    return [rng.permutation(batch) for batch in batches]


def length_chunks(lengths: np.ndarray, max_rows: int, overhead: int = 16) -> list[np.ndarray]:
    """Split positions ``0..n-1`` of ``lengths`` (sorted longest first) into padded chunks.

    A chunk costs its rows times its longest row, in tokens, plus ``overhead`` tokens for the
    extra forward call; dynamic programming finds the cheapest split, so one long text does not
    pad fifteen short ones to its length.
    """
    n = len(lengths)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    cut = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        for begin in range(max(0, end - max_rows), end):
            cost = best[begin] + overhead + (end - begin) * int(lengths[begin])
            if cost < best[end]:
                best[end], cut[end] = cost, begin
    bounds = [n]
    while bounds[-1] > 0:
        bounds.append(int(cut[bounds[-1]]))
    bounds.reverse()
    return [np.arange(a, b) for a, b in itertools.pairwise(bounds)]


def encode_batch(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    rows: np.ndarray,
    chunk_size: int,
) -> torch.Tensor:
    """Mean-pooled, gradient-carrying embeddings of ``rows`` of pre-tokenised inputs.

    The rows are encoded in length-sorted chunks (:func:`length_chunks`, at most
    ``chunk_size`` rows each), each trimmed to its own longest row, so little compute goes to
    padding; the result is in the order of ``rows``.
    """
    from guardrails.embedders.text import mean_pool

    lengths = attention_mask[torch.from_numpy(rows)].sum(dim=1).numpy()
    order = np.argsort(-lengths, kind="stable")
    parts = []
    for positions in length_chunks(lengths[order], chunk_size):
        index = torch.from_numpy(rows[order[positions]])
        width = int(lengths[order[positions[0]]])
        mask = attention_mask[index, :width]
        hidden = model(input_ids=input_ids[index, :width], attention_mask=mask)[0]
        parts.append(mean_pool(hidden, mask))
    pooled = torch.cat(parts)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.from_numpy(order)] = torch.arange(len(order))
    return pooled[inverse]


def warmup_linear(optimizer: torch.optim.Optimizer, steps: int, warmup: float) -> Any:
    """Linear warm-up over ``warmup`` of the steps, then linear decay to zero."""
    warm = max(1, round(warmup * steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (steps - step) / max(1, steps - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _blocks(model: torch.nn.Module) -> torch.nn.ModuleList | None:
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    return max(lists, key=len, default=None)


def transformer_depth(model: torch.nn.Module) -> int:
    """How many transformer blocks ``model`` has (its longest ``ModuleList``; 0 if none)."""
    blocks = _blocks(model)
    return 0 if blocks is None else len(blocks)


def tuned_parameters(model: torch.nn.Module, top_layers: int | None) -> list[Any]:
    """The parameters fine-tuning the top ``top_layers`` transformer blocks changes: those
    blocks and every parameter registered after them (e.g. a pooler); ``None``: all of them.

    The blocks are the model's longest ``ModuleList``."""
    named = list(model.named_parameters())
    blocks = _blocks(model)
    if top_layers is None or blocks is None or top_layers >= len(blocks):
        return [param for _, param in named]
    first = {id(p) for p in blocks[len(blocks) - top_layers].parameters()} if top_layers else set()
    start = next((i for i, (_, p) in enumerate(named) if id(p) in first), len(named))
    return [param for _, param in named[start:]]


def trainable_parameters(model: torch.nn.Module, top_layers: int | None) -> list[Any]:
    """Freeze every parameter but :func:`tuned_parameters` (so backward passes stop below the
    first tuned block) and return those; undo with ``requires_grad_(True)`` on the model."""
    tuned = tuned_parameters(model, top_layers)
    keep = {id(param) for param in tuned}
    for param in model.parameters():
        param.requires_grad_(id(param) in keep)
    return tuned


def train_body(
    model: torch.nn.Module,
    tokens: dict[str, torch.Tensor],
    targets: np.ndarray,
    strata: np.ndarray,
    rng: np.random.Generator,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    chunk_size: int = 16,
    progress: bool = False,
    train_layers: int | None = None,
    loss: str = "supcon",
    temperature: float = SUPCON_TEMPERATURE,
) -> list[float]:
    """Fine-tune ``model`` in place for ``steps`` steps of the pair loss named ``loss`` (see
    :mod:`guardrails.training.losses`) on stratified batches (AdamW, warm-up then linear
    decay); returns the loss of every step."""
    from tqdm.auto import tqdm

    if steps == 0:
        return []
    pair_loss = PAIR_LOSSES[loss]
    ids, mask = tokens["input_ids"], tokens["attention_mask"]
    goals = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    params = trainable_parameters(model, train_layers)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = warmup_linear(optimizer, steps, warmup)
    batch_size = min(batch_size, len(targets))
    losses: list[float] = []
    model.train()
    with tqdm(total=steps, desc="setfit body", file=sys.stderr, disable=not progress) as bar:
        while len(losses) < steps:
            for rows in balanced_batches(strata, batch_size, rng)[: steps - len(losses)]:
                vectors = encode_batch(model, ids, mask, rows, chunk_size)
                value = pair_loss(vectors, goals[torch.from_numpy(rows)], temperature)
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                schedule.step()
                losses.append(value.item())
                bar.update(1)
    for param in model.parameters():
        param.requires_grad_(True)
    model.eval()
    return losses


def fine_tune_with_head(
    model: torch.nn.Module,
    tokens: dict[str, torch.Tensor],
    targets: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray,
    head: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    *,
    multi_label: bool,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.01,
    chunk_size: int = 16,
    train_layers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """LP-FT's second stage: the body (at ``lr``) and a probed linear head (at ``100 * lr``)
    trained together on :func:`classification_loss`; returns the head's new weight and bias."""
    weight = torch.nn.Parameter(torch.from_numpy(np.array(head[0], dtype=np.float32)))
    bias = torch.nn.Parameter(torch.from_numpy(np.array(head[1], dtype=np.float32)))
    groups = [
        {"params": trainable_parameters(model, train_layers), "lr": lr},
        {"params": [weight, bias], "lr": lr * 100},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=weight_decay)
    goals = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    cell_weights = torch.from_numpy(np.asarray(weights, dtype=np.float32))
    ids, mask = tokens["input_ids"], tokens["attention_mask"]
    model.train()
    for _ in range(epochs):
        for rows in balanced_batches(strata, min(batch_size, len(targets)), rng):
            index = torch.from_numpy(rows)
            unit = torch.nn.functional.normalize(encode_batch(model, ids, mask, rows, chunk_size))
            loss = classification_loss(
                unit @ weight.T + bias, goals[index], cell_weights[index], multi_label
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    for param in model.parameters():
        param.requires_grad_(True)
    model.eval()
    return weight.detach().numpy(), bias.detach().numpy()
