"""Cosine nearest-neighbour search over unit vectors, for the k-NN classifier.

Two kinds behind one ``search``: exact (one matrix product, in chunks of at most ~64 MB of
similarities) and an hnswlib cosine HNSW graph. With ``search="auto"`` (default) the trainer
picks exact search below :data:`EXACT_BELOW` examples, where it is faster, and it is never
approximate. hnswlib is imported only when an HNSW index is built or loaded, so exact search
needs nothing beyond numpy. An index is only read once built or loaded (hnswlib allows parallel
searches) and each call searches on one thread, so concurrent queries are safe.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from guardrails.errors import MissingDependency

__all__ = ["EXACT_BELOW", "NeighbourIndex", "import_hnswlib"]

EXACT_BELOW = 2_000
"""Below this many training examples, search is exact. Measured on 384-d vectors, 2 cores,
one BLAS thread, k=10 (best of 30): exact vs HNSW (M=16, ef=64) per query batch of 1 / 8 / 64:
1k examples 0.12 / 0.46 / 3.3 ms vs 0.10 / 0.76 / 6.0 ms; 2k 0.18 / 1.0 / 6.1 vs 0.11 / 0.92 /
7.1; 5k 1.1 / 3.2 / 14 vs 0.11 / 1.7 / 13; 10k 1.5 / 5.8 / 28 vs 0.10 / 1.4 / 12. HNSW also
costs a build (0.2 s at 1k, 6 s at 10k, one thread) and is approximate."""


class NeighbourIndex:
    """Cosine k-NN search over unit vectors: exact (``vectors``) or HNSW (``hnsw``)."""

    def __init__(self, *, vectors: np.ndarray | None = None, hnsw: Any = None) -> None:
        if (vectors is None) == (hnsw is None):
            raise ValueError("give exactly one of vectors (exact search) or hnsw (an index)")
        self.vectors = None if vectors is None else np.ascontiguousarray(vectors, np.float32)
        self.hnsw = hnsw
        self.size = len(self.vectors) if self.vectors is not None else hnsw.get_current_count()
        self.dimension = int(self.vectors.shape[1] if self.vectors is not None else hnsw.dim)

    @property
    def kind(self) -> str:
        return "exact" if self.vectors is not None else "hnsw"

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        *,
        exact: bool,
        M: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        seed: int = 0,
        threads: int = 1,
    ) -> NeighbourIndex:
        """``threads`` > 1 builds an HNSW graph faster, but the graph (and so a prediction near
        a tie) then depends on thread scheduling; one thread gives the same graph every time."""
        if exact:
            return cls(vectors=vectors)
        hnswlib = import_hnswlib()
        index = hnswlib.Index(space="cosine", dim=vectors.shape[1])
        index.init_index(len(vectors), M=M, ef_construction=ef_construction, random_seed=seed)
        ids = np.arange(len(vectors))
        index.add_items(np.asarray(vectors, np.float32), ids, num_threads=max(1, threads))
        index.set_ef(ef_search)
        return cls(hnsw=index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, cosines)``, each ``(len(queries), k)``, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, self.size)
        if len(queries) == 0:
            return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
        if self.hnsw is not None:
            indices, distances = self.hnsw.knn_query(queries, k=k, num_threads=1)
            return indices.astype(np.int64), (1.0 - distances).astype(np.float32)
        step = max(1, (1 << 24) // self.size)  # at most ~64 MB of similarities at a time
        parts = [self._exact(queries[i : i + step], k) for i in range(0, len(queries), step)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims = queries @ self.vectors.T
        if k < self.size:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(self.size), sims.shape)
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        return np.take_along_axis(top, order, 1), np.take_along_axis(top_sims, order, 1)


def import_hnswlib() -> Any:
    """The ``hnswlib`` module, imported on first need (it comes with the ``ml`` extra)."""
    try:
        import hnswlib
    except ImportError as exc:
        raise MissingDependency("ml", "the knn classifier's HNSW index", exc) from exc
    return hnswlib
