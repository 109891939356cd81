"""Random variates inside compiled loops: numpy's SFC64 stream, a Ziggurat normal, table-inversion Poisson.

The phase loop draws ~12 normals and 4 Poisson counts per trial and must run 10⁷ trials
per second on one core. Called from numba, ``numpy.random.Generator`` costs ~10 ns per
normal (numba's Generator support goes through numpy's bit-generator pointers) and
numpy's Poisson sampler with per-trial means ~60 ns per count; both are measured by
``benchmarks/bench_control_loop.py``. So the kernel carries its own copy of the
generator and of the two transforms, inlined:

* **Bits**: numpy's SFC64 (Doty-Humphrey's Small Fast Chaotic generator, 256 bits of
  state), seeded by numpy from a ``SeedSequence`` (:func:`sfc64_state`). The compiled
  copy is tested word for word against ``numpy.random.SFC64.random_raw``.
* **Normals**: the Ziggurat method of Marsaglia & Tsang (J. Stat. Softw. 5(8), 2000)
  with 256 layers and numpy's bit layout (8 bits layer, 1 bit sign, 52 bits abscissa),
  tail by Marsaglia's exponential method. The tables are built here (:func:`ziggurat_tables`)
  from the base-strip edge r = 3.6541528853610088 with the common area v solved so that
  the top layer closes at the mode; numpy's own tables differ from these by ~1e-11
  relative, so the normals are the same distribution, not numpy's values.
* **Poisson counts** with means that change every draw (a probe's fringe): Poisson(μ) =
  Poisson(jh) + Poisson(μ − jh) with j = ⌊μ/h⌋. The first part is one inversion in a
  precomputed CDF table for the mean jh (a guide table of 4 entries per table entry makes
  it ~1.1 comparisons, and mispredicted loop exits rare: 2 ns a draw less than one entry); the
  remainder r < h is inverted directly, its P(0) = e^{−r} tested against 1 − r first so that
  most draws need no exponential. Both parts share one 64-bit word (:func:`poisson`).
  Exact up to the float64 CDF: each table stops where 1 − CDF < 1e-17 and gives the
  last entry that tail.

Every draw is a pure function of the state array, so a run replayed from a saved state
continues the same stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.seeds import Seed, seed_sequence

__all__ = ["PoissonTables", "poisson", "poisson_tables", "sfc64_state", "standard_normal", "uniform"]

#: Right edge of the Ziggurat's base strip (the normal density's tail starts here).
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_LAYERS = 256
_MANTISSA = 2.0**52
#: A Poisson table is cut where its upper tail is below this.
TAIL_CUT = 1e-17
#: Guide entries per CDF entry (a longer guide lands on the right count more often).
GUIDE_FACTOR = 4
#: Table means 0, h, 2h, … up to the largest mean; h is at most this, and at least max/_MAX_TABLES.
TABLE_STEP = 0.25
_MAX_TABLES = 512


def sfc64_state(seed: Seed) -> np.ndarray:
    """The four uint64 words (a, b, c, counter) numpy's SFC64 starts from for ``seed``."""
    words = np.random.SFC64(seed_sequence(seed)).state["state"]["state"]
    return np.array(words, dtype=np.uint64)


@numba.njit(inline="always", cache=True)
def _next_u64(state):
    """(word, new state): one SFC64 step. The state is a tuple of four uint64 so it lives in registers."""
    a, b, c, counter = state
    out = a + b + counter
    rotated = (c << np.uint64(24)) | (c >> np.uint64(40))
    return out, (b ^ (b >> np.uint64(11)), c + (c << np.uint64(3)), rotated + out, counter + np.uint64(1))


@numba.njit(cache=True)
def raw_words(state: np.ndarray, count: int) -> np.ndarray:
    """``count`` raw 64-bit words (what ``SFC64.random_raw`` gives from the same state); advances ``state``."""
    out = np.empty(count, dtype=np.uint64)
    s = load(state)
    for i in range(count):
        out[i], s = _next_u64(s)
    store(s, state)
    return out


@numba.njit(inline="always", cache=True)
def load(state: np.ndarray):
    """The register state from its array form."""
    return state[0], state[1], state[2], state[3]


@numba.njit(inline="always", cache=True)
def store(s, state: np.ndarray) -> None:
    """Write the register state back into its array form."""
    state[0], state[1], state[2], state[3] = s


@numba.njit(inline="always", cache=True)
def uniform(s):
    """(u, new state): u uniform on [0, 1) with 53 random bits (numpy's ``random()`` transform)."""
    word, s = _next_u64(s)
    return np.int64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0), s


def ziggurat_tables(r: float = ZIGGURAT_R) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(k, w, f, v): acceptance thresholds, widths / 2⁵², densities at the layer edges, common area.

    Layer 0 is the base strip (its width v/f(r) includes the tail); layers 1 … 255 run
    from the top (narrowest) down to the one of width r. v is found by bisection so that
    the top layer reaches the mode (f = 1) exactly.
    """
    density = lambda x: math.exp(-0.5 * x * x)  # noqa: E731

    def edges(v: float) -> tuple[list[float], float]:
        x = [0.0] * ZIGGURAT_LAYERS
        x[-1] = r
        for j in range(ZIGGURAT_LAYERS - 1, 1, -1):
            top = density(x[j]) + v / x[j]
            if top >= 1.0:
                return x, top  # closed too early: v too large
            x[j - 1] = math.sqrt(-2.0 * math.log(top))
        return x, density(x[1]) + v / x[1]

    low, high = 4.9e-3, 5.0e-3
    for _ in range(200):
        mid = 0.5 * (low + high)
        if edges(mid)[1] > 1.0:
            high = mid
        else:
            low = mid
    v = low
    x, _ = edges(v)
    x0 = v / density(r)
    width = np.array([x0, *x[1:]]) / _MANTISSA
    threshold = np.zeros(ZIGGURAT_LAYERS, dtype=np.uint64)
    threshold[0] = int(_MANTISSA * r / x0)
    for j in range(2, ZIGGURAT_LAYERS):
        threshold[j] = int(_MANTISSA * x[j - 1] / x[j])
    heights = np.array([1.0, *(density(value) for value in x[1:])])
    return threshold, width, heights, v


_K, _W, _F, _ = ziggurat_tables()
_K = _K.astype(np.int64)  # thresholds < 2^52: compared as signed integers
_INV_R = 1.0 / ZIGGURAT_R


@numba.njit(inline="always", cache=True)
def standard_normal(s):
    """(x, new state): one standard normal variate (module docstring)."""
    while True:
        word, s = _next_u64(s)
        layer = np.int64(word & np.uint64(0xFF))
        word >>= np.uint64(8)
        mantissa = np.int64((word >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF))
        x = mantissa * _W[layer]
        if word & np.uint64(1):
            x = -x
        if mantissa < _K[layer]:
            return x, s
        if layer == 0:  # the tail beyond r
            while True:
                u1, s = uniform(s)
                u2, s = uniform(s)
                xx = -_INV_R * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    return (-(ZIGGURAT_R + xx) if (mantissa >> 8) & 1 else ZIGGURAT_R + xx), s
        else:
            u, s = uniform(s)
            if (_F[layer - 1] - _F[layer]) * u + _F[layer] < math.exp(-0.5 * x * x):
                return x, s


@numba.njit(cache=True)
def normals(state: np.ndarray, count: int) -> np.ndarray:
    """``count`` standard normals (for tests and for filling buffers); advances ``state``."""
    out = np.empty(count)
    s = load(state)
    for i in range(count):
        out[i], s = standard_normal(s)
    store(s, state)
    return out


@dataclass(frozen=True)
class PoissonTables:
    """CDF tables of Poisson(jh), j = 0 … tables − 1, flattened, each with a guide table ``GUIDE_FACTOR`` times its length."""

    step: float
    cdf: np.ndarray  # float64, table j at [start[j], start[j] + size[j])
    guide: np.ndarray  # int32, smallest local k with cdf > i / (GUIDE_FACTOR size[j]), at GUIDE_FACTOR start[j]
    start: np.ndarray  # int64
    size: np.ndarray  # int64
    largest_mean: float

    def arrays(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.step, self.cdf, self.guide, self.start, self.size


def _cdf(mean: float) -> np.ndarray:
    if mean == 0.0:
        return np.ones(1)
    top = int(mean + 12.0 * math.sqrt(mean) + 40.0)
    k = np.arange(top + 1)
    from scipy.special import gammaln

    pmf = np.exp(k * math.log(mean) - mean - gammaln(k + 1.0))
    above = np.cumsum(pmf[::-1])[::-1] - pmf  # P(K > k), summed from the small end of the tail
    last = int(np.argmax(above < TAIL_CUT))
    cdf = np.cumsum(pmf[: last + 1])
    cdf[-1] = 1.0  # the tail beyond (< 1e-17) goes to the last entry
    return cdf


@lru_cache(maxsize=16)
def poisson_tables(largest_mean: float) -> PoissonTables:
    """Tables for every mean in [0, ``largest_mean``] (kept for reuse: they depend only on the range)."""
    if not (math.isfinite(largest_mean) and largest_mean >= 0.0):
        raise ConfigError(f"largest_mean: {largest_mean!r} is not a finite number >= 0")
    step = max(TABLE_STEP, largest_mean / (_MAX_TABLES - 2))
    count = int(largest_mean / step) + 2  # j = ⌊μ/h⌋ ≤ largest/h (one spare against rounding)
    cdfs = [_cdf(j * step) for j in range(count)]
    size = np.array([c.size for c in cdfs], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    guide = np.concatenate(
        [np.searchsorted(c, np.arange(GUIDE_FACTOR * c.size) / (GUIDE_FACTOR * c.size), side="right") for c in cdfs]
    ).astype(np.int32)
    return PoissonTables(step, np.concatenate(cdfs), guide, start, size, float(largest_mean))


@numba.njit(inline="always", cache=True)
def poisson(s, mean, step, cdf, guide, start, size):
    """(count, new state): one Poisson(``mean``) count, 0 <= mean <= the tables' largest mean (module docstring).

    One 64-bit word serves both parts: its top 53 bits are the table part's uniform u, its
    low 11 bits the remainder's uniform v to 1/2048; only when that is not enough to tell
    v < 1 − r (a fraction ~r of the draws) does a second word refine v.
    """
    word, s = _next_u64(s)
    u = np.int64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    low = np.int64(word & np.uint64(0x7FF))
    j = int(mean * (1.0 / step))
    base = start[j]
    count = guide[GUIDE_FACTOR * base + int(u * (GUIDE_FACTOR * size[j]))]
    while cdf[base + count] <= u:
        count += 1
    rest = mean - j * step
    if (low + 1) * (1.0 / 2048.0) <= 1.0 - rest:  # v < 1 − r <= e^{−r} = P(remainder = 0)
        return count, s
    fine, s = uniform(s)
    v = (low + fine) * (1.0 / 2048.0)
    if v < 1.0 - rest:
        return count, s
    # Inversion of Poisson(r), r < step: P(k) = e^{−r} r^k / k!.
    term = math.exp(-rest)
    total = term
    k = 0
    while v >= total and term > 0.0:
        k += 1
        term *= rest / k
        total += term
    return count + k, s


@numba.njit(cache=True)
def poisson_counts(state: np.ndarray, means: np.ndarray, step, cdf, guide, start, size) -> np.ndarray:
    """One count per mean (for tests); advances ``state``."""
    out = np.empty(means.size, dtype=np.int64)
    s = load(state)
    for i in range(means.size):
        out[i], s = poisson(s, means[i], step, cdf, guide, start, size)
    store(s, state)
    return out
