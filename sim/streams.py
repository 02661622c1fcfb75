"""Random streams: one per decision, all spawned from the run's seed.

Each decision draws from its own stream (common random numbers), and per-person draws
are counter-based: the uniform a person gets for a decision in a year depends only on
(seed, decision, year, person id, draw index), never on who else is eligible. So a
policy that changes one decision, or changes who reaches it, does not reshuffle the
draws of any other person or decision, and scenario differences stay low-noise.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from . import kernels

_MASK = (1 << 64) - 1


def _mix_scalar(z: int) -> int:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014) on a Python integer (as
    :func:`sim.kernels.stream_key` computes it in compiled code)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=None)
def _crc(name: str) -> int:
    return zlib.crc32(name.encode())


class Streams:
    """Named random streams derived from one seed with numpy's SeedSequence."""

    def __init__(self, seed: int):
        kernels.compile_all()
        self.seed = int(seed)
        self._keys: dict[str, int] = {}

    def _key(self, name: str) -> int:
        key = self._keys.get(name)
        if key is None:
            ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            key = int(ss.generate_state(1, np.uint64)[0])
            self._keys[name] = key
        return key

    def base(self, name: str) -> np.uint64:
        """The stream's base key: compiled code derives a year's and draw's key from it with
        :func:`sim.kernels.stream_key`, as :meth:`key` does."""
        return np.uint64(self._key(name))

    def key(self, name: str, year: int, draw: int = 0) -> np.uint64:
        """The key of one (stream, year, draw): compiled code draws ``uniform_at(key, id)`` with it."""
        z = (int(year) + 1_000_003) * 0x9E3779B97F4A7C15 + draw
        return np.uint64(_mix_scalar(self._key(name) ^ _mix_scalar(z)))

    def uniform(self, name: str, year: int, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """One U[0, 1) per id, fixed by (stream, year, id, draw)."""
        return kernels.uniforms(np.asarray(ids, dtype=np.int64), self.key(name, year, draw))

    def uniform_grid(self, name: str, years: np.ndarray, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """``uniform(name, y, ids, draw)`` for every y in ``years`` at once: shape (len(years), len(ids))."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(years), len(ids)))
        for row, y in enumerate(years):
            out[row] = kernels.uniforms(ids, self.key(name, y, draw))
        return out

    def normal(self, name: str, year: int, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        """One standard normal per id (inverse CDF of a counter-based uniform)."""
        return kernels.norm_ppfs(self.uniform(name, year, ids, draw))

    def generator(self, name: str, year: int) -> np.random.Generator:
        """A numpy Generator for draws that are not per person (cohort attributes, the world pool)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(_crc(name), year + 1_000_003))
        return np.random.Generator(np.random.PCG64(ss))  # what default_rng(ss) makes
