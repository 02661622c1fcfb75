"""Peer and alumni network.

Each person gets a fixed number of ties when they enter: ``peers`` drawn from their own
entry cohort and ``alumni`` drawn from the cohorts that entered up to
``alumni_span_years`` before them. Ties are stored as a dense neighbour table (tie slot x
person, ids as array positions): row-normalised, it is the sparse adjacency matrix in
ELLPACK layout, and the share of a person's ties with some property is that matrix times
an indicator vector, computed as one gather over the rows asked for.

Properties that only ever switch on (took an elective, went abroad) are tracked
incrementally instead: when people switch on, the people who have them as a tie are
found through the reverse adjacency (a CSR matrix built once, after all ties are drawn;
the update is the product of the newly switched-on people's indicator with it) and their
counters go up, so a decision reads a person's share with one lookup.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import sparse


@njit(cache=True)
def add_rows(rows, indptr, indices, data, counts):
    """The sparse product ``counts += R[rows].sum(axis=0)`` (an indicator row vector of ``rows``
    times the CSR matrix ``R`` given as ``indptr``, ``indices``, ``data``), in one compiled pass
    over the listed rows without building the row slice."""
    for r in rows:
        for pos in range(indptr[r], indptr[r + 1]):
            counts[indices[pos]] += data[pos]


class Network:
    def __init__(self, capacity: int, peers: int, alumni: int, alumni_span_years: int):
        self.peers = int(peers)
        self.alumni = int(alumni)
        self.span = int(alumni_span_years)
        self.k = self.peers + self.alumni
        self.table = np.zeros((max(self.k, 1), max(capacity, 1)), dtype=np.int32)
        self._cohort_start: dict[int, int] = {}
        self._reverse: sparse.csr_matrix | None = None
        self._counts: dict[str, np.ndarray] = {}

    def _ensure(self, capacity: int) -> None:
        if capacity > self.table.shape[1]:
            grown = np.zeros((self.table.shape[0], max(capacity, 2 * self.table.shape[1])), np.int32)
            grown[:, : self.table.shape[1]] = self.table
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
        rows = self.table[:, start:start + n].T  # a view: (person, tie slot)
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

    def finalize(self, n: int) -> None:
        """Build the reverse adjacency once all ``n`` people's ties are drawn."""
        if self.k == 0:
            return
        holders = np.broadcast_to(np.arange(n, dtype=np.int32), (self.k, n)).ravel()
        targets = self.table[:, :n].ravel()
        self._reverse = sparse.csr_matrix((np.ones(len(targets), np.int32), (targets, holders)), shape=(n, n))
        self._reverse.sum_duplicates()

    def mark(self, name: str, ids: np.ndarray) -> None:
        """``ids`` now have property ``name`` (for the first time): count them in their holders' ties."""
        if self._reverse is None or len(ids) == 0:
            return
        rev = self._reverse
        add_rows(np.asarray(ids, dtype=np.int64), rev.indptr, rev.indices, rev.data, self.counts(name)[0])

    def counts(self, name: str) -> tuple[np.ndarray, float]:
        """Per person, how many of their ties are marked ``name`` so far, and one over the
        number of ties (0 without ties): their product is the share of the person's ties so marked."""
        counts = self._counts.get(name)
        if counts is None:
            n = self._reverse.shape[0] if self._reverse is not None else self.table.shape[1]
            counts = self._counts[name] = np.zeros(n, np.int32)
        return counts, (1.0 / self.k if self.k else 0.0)

    def adjacency(self, ids: np.ndarray, n: int) -> sparse.csr_matrix:
        """Row-normalised adjacency of ``ids`` (rows) to all ``n`` people (columns)."""
        m = len(ids)
        return sparse.csr_matrix(
            (np.full(m * self.k, 1.0 / self.k, dtype=np.float32), self.table[:, ids].T.ravel(),
             np.arange(0, m * self.k + 1, self.k, dtype=np.int64)), shape=(m, n))

    def share(self, ids: np.ndarray, indicator: np.ndarray) -> np.ndarray:
        """For each id, the share of its ties for which ``indicator`` (over all ids) is true.

        Equivalent to ``adjacency(ids, n) @ indicator``; done as one gather of the
        neighbour table, which avoids building the sparse matrix every year.
        """
        if self.k == 0 or len(ids) == 0:
            return np.zeros(len(ids))
        hits = indicator.view(np.uint8)[self.table[:, ids]]
        return hits.sum(axis=0, dtype=np.int32) * (1.0 / self.k)
