"""Peer and alumni network (MODEL: "cultures of emigration").

Each person has ``peers`` ties to other members of their own entry cohort and ``alumni``
ties to people of the ``alumni_span_years`` cohorts that entered before them (to their
own cohort for the first cohort simulated). Ties are drawn uniformly at random, with
replacement, and fixed for life.

Ties are not stored. Ids are contiguous by cohort (cohort c holds ids
``(c - first_cohort) * intake`` up to the next cohort's first), so tie ``j`` of person
``i`` is a function of a counter-based draw for (``i``, ``j // 2``) (each draw gives two
ties, 32 bits each) and of the cohort bounds:
:func:`tie` computes it in compiled code when a rule needs it, and :func:`share` the
share of a person's ties with some property. Building the network costs nothing and it
takes no memory; reading a share costs half a draw and one lookup per tie, so the rules read
it only for the people whose decision it can change (see the electives and the intention).
The properties ties are counted for (took an elective, went abroad) only ever switch on, and
are kept as bit sets (:meth:`Network.mark`): an eighth of the memory of a flag array, so a
lookup at a random tie stays in the processor's cache.
"""

from __future__ import annotations

import copy

import numpy as np

from . import kernels

_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)


class Network:
    """The network of one run: its sizes and the stream key its ties are drawn from."""

    def __init__(self, peers: int, alumni: int, alumni_span_years: int, first_cohort: int, intake: int,
                 key: np.uint64, capacity: int = 0):
        self.peers = int(peers)
        self.alumni = int(alumni)
        self.span = int(alumni_span_years)
        self.k = self.peers + self.alumni
        self.first_cohort = int(first_cohort)
        self.intake = int(intake)
        self.key = key
        self._bits: dict[str, np.ndarray] = {}
        self._words = (int(capacity) + 63) // 64 + 1
        self._spec = np.array([self.peers, self.alumni, self.span, self.first_cohort, self.intake], np.int64)

    def copy(self) -> "Network":
        """The same ties, with the bit sets copied (the copy's marks are its own)."""
        other = copy.copy(self)
        other._bits = {name: bits.copy() for name, bits in self._bits.items()}
        return other

    def bits(self, name: str) -> np.ndarray:
        """The bit set of property ``name`` (bit ``i``: person ``i`` has it)."""
        b = self._bits.get(name)
        if b is None:
            b = self._bits[name] = np.zeros(self._words, np.uint64)
        return b

    def mark(self, name: str, ids: np.ndarray) -> None:
        """``ids`` now have property ``name`` (for good)."""
        set_bits(self.bits(name), np.asarray(ids, np.int64))

    @property
    def spec(self) -> np.ndarray:
        """(peers, alumni, span, first cohort, intake) as compiled code takes them."""
        return self._spec

    def ties(self, i: int) -> np.ndarray:
        """The ids person ``i`` is tied to (``peers`` then ``alumni``)."""
        return np.array([tie(self.key, self.spec, i, j) for j in range(self.k)], np.int64)

    def shares(self, ids: np.ndarray, name: str) -> np.ndarray:
        """For each id, the share of its ties marked ``name``."""
        return shares(np.asarray(ids, np.int64), self.bits(name), self.key, self.spec)


@kernels.compiled
def set_bits(bits, ids):
    for i in ids:
        bits[i >> 6] |= np.uint64(1) << np.uint64(i & 63)


@kernels.compiled
def has(bits, i):
    """Whether bit ``i`` is set."""
    return (bits[i >> 6] >> np.uint64(i & 63)) & np.uint64(1) != np.uint64(0)


@kernels.compiled
def tie(key, spec, i, j):
    """Tie ``j`` of person ``i``: a peer of the same cohort (never ``i`` itself, unless alone)
    for ``j < peers``, else one of the earlier cohorts within the span."""
    peers, span, first, intake = spec[0], spec[2], spec[3], spec[4]
    cohort = first + i // intake
    start = (cohort - first) * intake
    pair = kernels.uniform_pair_at(key, i * 256 + j // 2)
    u = pair[0] if j % 2 == 0 else pair[1]
    if j < peers or cohort == first:
        if intake <= 1:
            return i
        if j >= peers:  # the first cohort has no alumni: its alumni ties are to its own cohort
            return start + min(int(u * intake), intake - 1)
        offset = 1 + min(int(u * (intake - 1)), intake - 2)
        return start + (i - start + offset) % intake
    lo = (max(cohort - span, first) - first) * intake
    return lo + min(int(u * (start - lo)), start - lo - 1)


_EXACT_WIDTH = 1 << 21  # below this, int(u * width) == (32-bit draw * width) >> 32 exactly (u * width < 2^53)


@kernels.compiled
def share(key, spec, i, bits):
    """The share of person ``i``'s ties whose bit is set in ``bits`` (0 without ties):
    :func:`tie` for every ``j``, with the cohort bounds worked out once and the positions
    computed in integer arithmetic (the same numbers as :func:`tie`'s)."""
    peers, alumni, span, first, intake = spec[0], spec[1], spec[2], spec[3], spec[4]
    k = peers + alumni
    if k == 0:
        return 0.0
    cohort = first + i // intake
    start = (cohort - first) * intake
    lo = (max(cohort - span, first) - first) * intake
    width = start - lo
    if cohort == first or intake <= 1 or intake >= _EXACT_WIDTH or width >= _EXACT_WIDTH:
        hits = 0
        for j in range(k):
            if has(bits, tie(key, spec, i, j)):
                hits += 1
        return hits / k
    own = i - start
    w_peer = np.uint64(intake - 1)
    w_alumni = np.uint64(width)
    hits = 0
    for jj in range(0, k, 2):
        z = kernels.splitmix_at(key, i * 256 + jj // 2)
        for h in range(2):
            j = jj + h
            if j >= k:
                break
            x = (z >> _S32) if h == 0 else (z & _LOW32)
            if j < peers:  # another member of the cohort: skip over oneself, wrapping around
                target = own + 1 + np.int64((x * w_peer) >> _S32)
                if target >= intake:
                    target -= intake
                target += start
            else:
                target = lo + np.int64((x * w_alumni) >> _S32)
            hits += np.int64((bits[target >> 6] >> np.uint64(target & 63)) & np.uint64(1))
    return hits / k


@kernels.compiled
def shares(ids, bits, key, spec):
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        out[j] = share(key, spec, ids[j], bits)
    return out
