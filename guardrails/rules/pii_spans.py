"""Retrying inside a PII candidate that failed validation.

A candidate regex is greedy: ``pay 2 4111 1111 1111 1111`` or a card followed by its CVV is one
run of digit groups whose checksum fails, though a valid card sits inside it. When the whole run
fails, :func:`valid_ranges` tries its contiguous group ranges instead, longest first (leftmost on
a tie), keeping each one the validator accepts that overlaps none already kept.

The work is bounded per group: a range spans at most ``max_groups`` groups, long runs are taken
in overlapping windows of :data:`WINDOW` groups, and each window makes at most ``budget``
validator calls, so a long text costs time linear in its length.

Checksums and libphonenumber accept many digit strings by chance (Luhn one in ten), so a caller
can pass ``max_gap``: the ranges are kept only if the groups they leave over form no stretch
weighing more than that (``pay 2``, a CVV, a room number), which stops a phone number being
picked out of the middle of an account number or a table of figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["WINDOW", "valid_ranges"]

WINDOW = 16  # groups per window of a long run


def valid_ranges(
    weights: Sequence[int],
    low: int,
    high: int,
    max_groups: int,
    accept: Callable[[int, int], bool],
    budget: int | None = None,
    max_gap: int | None = None,
) -> list[tuple[int, int]]:
    """Non-overlapping ranges ``(i, j)`` of groups ``i..j`` inclusive that ``accept`` validates,
    each ``max_groups`` groups long at most and weighing (digits, characters) ``low..high``;
    none at all if a stretch of groups left over weighs more than ``max_gap``."""
    count = len(weights)
    used = [False] * count
    found: list[tuple[int, int]] = []
    step = max(1, WINDOW - max_groups + 1)  # consecutive windows share max_groups - 1 groups
    gap = settled = 0  # leftover weight so far; groups before `settled` can no longer be covered
    for first in range(0, max(1, count - max_groups + 1), step):
        last = min(count, first + WINDOW)
        ranges: list[tuple[int, int, int]] = []
        for i in range(first, last):
            weight = 0
            for j in range(i, min(last, i + max_groups)):
                weight += weights[j]
                if weight > high:
                    break
                if weight >= low:
                    ranges.append((-weight, i, j))
        ranges.sort()
        calls = 0
        for _, i, j in ranges:
            if any(used[i : j + 1]):
                continue
            if budget is not None and calls >= budget:
                break
            calls += 1
            if accept(i, j):
                used[i : j + 1] = [True] * (j + 1 - i)
                found.append((i, j))
        if max_gap is not None:  # give up on a run as soon as part of it is left unexplained
            end = count if last == count else first + step
            for k in range(settled, end):
                gap = 0 if used[k] else gap + weights[k]
                if gap > max_gap:
                    return []
            settled = end
        if last == count:
            break
    return found
