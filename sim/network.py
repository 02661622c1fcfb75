"""Peer and alumni network.

Each person gets a fixed number of ties when they enter: ``peers`` drawn from their own
entry cohort and ``alumni`` drawn from the cohorts that entered up to
``alumni_span_years`` before them. Ties are stored as a dense neighbour table (one row
per person, ids as array positions), and the share of a person's ties with some
property is one sparse matrix-vector product over the rows asked for.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


class Network:
    def __init__(self, capacity: int, peers: int, alumni: int, alumni_span_years: int):
        self.peers = int(peers)
        self.alumni = int(alumni)
        self.span = int(alumni_span_years)
        self.k = self.peers + self.alumni
        self.table = np.zeros((max(capacity, 1), max(self.k, 1)), dtype=np.int64)
        self._cohort_start: dict[int, int] = {}

    def _ensure(self, capacity: int) -> None:
        if capacity > self.table.shape[0]:
            grown = np.zeros((max(capacity, 2 * self.table.shape[0]), self.table.shape[1]), np.int64)
            grown[: self.table.shape[0]] = self.table
            self.table = grown

    def add_cohort(self, cohort: int, ids: np.ndarray, rng: np.random.Generator) -> None:
        """Tie a newly entered cohort (contiguous ids) to its peers and to earlier cohorts."""
        n = len(ids)
        if n == 0:
            return
        start = int(ids[0])
        self._ensure(start + n)
        self._cohort_start[cohort] = start
        if self.k == 0:
            return
        rows = self.table[start:start + n]
        if self.peers:
            if n > 1:
                # a random other member of the cohort: offset in 1..n-1 avoids self-ties
                offs = rng.integers(1, n, size=(n, self.peers))
                rows[:, : self.peers] = start + (np.arange(n)[:, None] + offs) % n
            else:
                rows[:, : self.peers] = start
        if self.alumni:
            earlier = [c for c in self._cohort_start if cohort - self.span <= c < cohort]
            lo = min((self._cohort_start[c] for c in earlier), default=start)
            if lo < start:
                rows[:, self.peers:] = rng.integers(lo, start, size=(n, self.alumni))
            else:  # the first cohort has no alumni yet: tie to peers instead
                rows[:, self.peers:] = start + rng.integers(0, n, size=(n, self.alumni))

    def share(self, ids: np.ndarray, indicator: np.ndarray) -> np.ndarray:
        """For each id, the share of its ties for which ``indicator`` (over all ids) is true."""
        if self.k == 0 or len(ids) == 0:
            return np.zeros(len(ids))
        m = len(ids)
        adj = sparse.csr_matrix(
            (np.full(m * self.k, 1.0 / self.k), self.table[ids].ravel(), np.arange(0, m * self.k + 1, self.k)),
            shape=(m, len(indicator)),
        )
        return adj @ indicator.astype(np.float64)
