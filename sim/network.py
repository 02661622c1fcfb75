"""Peer and alumni network (MODEL: "cultures of emigration").

Each person has ``peers`` ties to other members of their own entry cohort and ``alumni``
ties to people of the ``alumni_span_years`` cohorts that entered before them (to their
own cohort for the first cohort simulated). Ties are drawn uniformly at random, with
replacement, and fixed for life.

Ties are not stored. Ids are contiguous by cohort (cohort c holds ids
``(c - first_cohort) * intake`` up to the next cohort's first), so tie ``j`` of person
``i`` is a function of a counter-based draw for (``i``, ``j``) and of the cohort bounds:
:func:`tie` computes it in compiled code when a rule needs it, and :func:`share` the
share of a person's ties with some property. Building the network costs nothing and it
takes no memory; reading a share costs one draw and one lookup per tie, so the rules read
it only for the people whose decision it can change (see the electives and the intention).
"""

from __future__ import annotations

import numpy as np

from . import kernels


class Network:
    """The network of one run: its sizes and the stream key its ties are drawn from."""

    def __init__(self, peers: int, alumni: int, alumni_span_years: int, first_cohort: int, intake: int,
                 key: np.uint64):
        self.peers = int(peers)
        self.alumni = int(alumni)
        self.span = int(alumni_span_years)
        self.k = self.peers + self.alumni
        self.first_cohort = int(first_cohort)
        self.intake = int(intake)
        self.key = key

    @property
    def spec(self) -> np.ndarray:
        """(peers, alumni, span, first cohort, intake) as compiled code takes them."""
        return np.array([self.peers, self.alumni, self.span, self.first_cohort, self.intake], np.int64)

    def ties(self, i: int) -> np.ndarray:
        """The ids person ``i`` is tied to (``peers`` then ``alumni``)."""
        return np.array([tie(self.key, self.spec, i, j) for j in range(self.k)], np.int64)

    def shares(self, ids: np.ndarray, indicator: np.ndarray) -> np.ndarray:
        """For each id, the share of its ties for which ``indicator`` (over all ids) is true."""
        return shares(np.asarray(ids, np.int64), indicator, self.key, self.spec)


@kernels.compiled
def tie(key, spec, i, j):
    """Tie ``j`` of person ``i``: a peer of the same cohort (never ``i`` itself, unless alone)
    for ``j < peers``, else one of the earlier cohorts within the span."""
    peers, span, first, intake = spec[0], spec[2], spec[3], spec[4]
    cohort = first + i // intake
    start = (cohort - first) * intake
    u = kernels.uniform_at(key, i * 256 + j)
    if j < peers or cohort == first:
        if intake <= 1:
            return i
        if j >= peers:  # the first cohort has no alumni: its alumni ties are to its own cohort
            return start + min(int(u * intake), intake - 1)
        offset = 1 + min(int(u * (intake - 1)), intake - 2)
        return start + (i - start + offset) % intake
    lo = (max(cohort - span, first) - first) * intake
    return lo + min(int(u * (start - lo)), start - lo - 1)


@kernels.compiled
def share(key, spec, i, indicator):
    """The share of person ``i``'s ties for which ``indicator`` is true (0 without ties):
    :func:`tie` for every ``j``, with the cohort bounds worked out once."""
    peers, alumni, span, first, intake = spec[0], spec[1], spec[2], spec[3], spec[4]
    k = peers + alumni
    if k == 0:
        return 0.0
    cohort = first + i // intake
    start = (cohort - first) * intake
    hits = 0
    if cohort == first or intake <= 1:
        for j in range(k):
            if indicator[tie(key, spec, i, j)]:
                hits += 1
        return hits / k
    own = i - start
    for j in range(peers):
        u = kernels.uniform_at(key, i * 256 + j)
        if indicator[start + (own + 1 + min(int(u * (intake - 1)), intake - 2)) % intake]:
            hits += 1
    lo = (max(cohort - span, first) - first) * intake
    width = start - lo
    for j in range(peers, k):
        u = kernels.uniform_at(key, i * 256 + j)
        if indicator[lo + min(int(u * width), width - 1)]:
            hits += 1
    return hits / k


@kernels.compiled
def shares(ids, indicator, key, spec):
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        out[j] = share(key, spec, ids[j], indicator)
    return out
