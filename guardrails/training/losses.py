"""The losses SetFit training minimises: two in-batch contrastive losses for the body, and the
classification loss of the head (and of LP-FT's joint stage).

Both contrastive losses take every distinct pair inside a batch of ``B`` examples encoded once,
so a forward pass per example serves ``B - 1`` pairs. A pair is positive when its two examples
share a label (multi-label: at least one), as in SetFit.

- ``"cosine"``: SetFit's own loss, the squared error between a pair's cosine similarity and 1
  for a positive pair, 0 for a negative one; positive and negative pairs weigh half each, as
  SetFit's oversampling balances them.
- ``"supcon"``: the supervised contrastive loss (Khosla et al., 2020): for each example, the
  softmax over its cosine similarities to the rest of the batch, at a temperature, should put
  its mass on the examples that share its label. Every negative in the batch pushes at once,
  hardest first, where the cosine loss treats each pair alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the caller that trains; naming a loss needs none
    import torch

__all__ = [
    "PAIR_LOSSES",
    "SUPCON_TEMPERATURE",
    "classification_loss",
    "in_batch_cosine_loss",
    "in_batch_supcon_loss",
]

SUPCON_TEMPERATURE = 0.05
"""The temperature MiniLM was pre-trained at (its in-batch ranking loss scales cosines by 20)."""


def _positives(targets: torch.Tensor) -> torch.Tensor:
    """``(B, B)`` bool: the two examples share at least one label."""
    return (targets @ targets.T) > 0


def in_batch_cosine_loss(
    embeddings: torch.Tensor, targets: torch.Tensor, temperature: float = SUPCON_TEMPERATURE
) -> torch.Tensor:
    """SetFit's cosine-similarity loss over every distinct pair in a batch.

    ``embeddings`` is ``(B, d)``; ``targets`` is ``(B, L)`` with 1 where an example has a label.
    Returns the mean squared error of positive pairs against 1 and of negative pairs against 0,
    each kind weighted one half (or the one kind present, alone). ``temperature`` is unused:
    the signature is the one every pair loss shares.
    """
    import torch

    unit = torch.nn.functional.normalize(embeddings, dim=-1)
    similarity = unit @ unit.T
    positive = _positives(targets)
    upper = torch.ones_like(positive).triu(diagonal=1)
    losses = []
    for mask, goal in ((positive & upper, 1.0), (~positive & upper, 0.0)):
        if bool(mask.any()):
            losses.append(((similarity[mask] - goal) ** 2).mean())
    if not losses:
        return similarity.sum() * 0.0
    return torch.stack(losses).mean()


def in_batch_supcon_loss(
    embeddings: torch.Tensor, targets: torch.Tensor, temperature: float = SUPCON_TEMPERATURE
) -> torch.Tensor:
    """The supervised contrastive loss over a batch: for each example that has a positive in
    the batch, the mean over its positives of ``-log softmax(cos / temperature)``, the softmax
    taken over every other example of the batch; averaged over those examples (0 if none)."""
    import torch

    unit = torch.nn.functional.normalize(embeddings, dim=-1)
    logits = (unit @ unit.T) / temperature
    self_pair = torch.eye(len(unit), dtype=torch.bool)
    logits = logits.masked_fill(self_pair, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = _positives(targets) & ~self_pair
    counts = positive.sum(dim=1)
    anchors = counts > 0
    if not bool(anchors.any()):
        return logits.masked_fill(self_pair, 0.0).sum() * 0.0
    per_anchor = -log_prob.masked_fill(~positive, 0.0).sum(dim=1)
    return (per_anchor[anchors] / counts[anchors]).mean()


PAIR_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "cosine": in_batch_cosine_loss,
    "supcon": in_batch_supcon_loss,
}
"""The body's contrastive losses by name (``SetFitTrainer(loss=...)``)."""


def classification_loss(
    logits: torch.Tensor, goals: torch.Tensor, weights: torch.Tensor, multi_label: bool
) -> torch.Tensor:
    """Weighted cross-entropy: softmax over labels, or one sigmoid per label, summed over labels
    (``weights`` per example, or per cell for multi-label ``goals``)."""
    import torch

    functional = torch.nn.functional
    if multi_label:
        cells = functional.binary_cross_entropy_with_logits(logits, goals, reduction="none")
        return (cells * weights).mean(dim=0).sum()
    per_example = functional.cross_entropy(logits, goals.argmax(dim=1), reduction="none")
    return (per_example * weights).mean()
