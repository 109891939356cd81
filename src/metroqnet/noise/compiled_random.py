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
  Poisson(jh) + Poisson(μ − jh) with j = ⌊μ/h⌋ and a fine step h (1/32). The first part is
  one inversion in a precomputed CDF table for the mean jh, entered through a guide of
  2⁸ entries per table indexed by the uniform's top 8 bits (so the entry's address needs
  no per-table size, only j), then at most two further comparisons done without branches
  (a third, rarer one in a loop); the remainder r < h is inverted directly, its P(0) = e^{−r}
  tested against 1 − r first so that all but a fraction ~r of the draws need no
  exponential. Both parts share one 64-bit word (:func:`poisson`). The steps from the mean
  to the count are short on purpose: the phase lock draws each count at a mean that
  depends on the previous count. Exact up to the float64 CDF: each table stops where
  1 − CDF < 1e-17 and gives the last entry that tail.

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

__all__ = ["PoissonTables", "next_word", "poisson", "poisson_scaled", "poisson_tables", "sfc64_state", "standard_normal", "uniform"]

#: Right edge of the Ziggurat's base strip (the normal density's tail starts here).
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_LAYERS = 256
_MANTISSA = 2.0**52
#: A Poisson table is cut where its upper tail is below this.
TAIL_CUT = 1e-17
#: Guide entries per table: 2^GUIDE_BITS, indexed by the uniform's top bits.
GUIDE_BITS = 8
GUIDE_SIZE = 1 << GUIDE_BITS
#: Table means 0, h, 2h, … up to the largest mean; h is at most this, and at least max/_MAX_TABLES.
TABLE_STEP = 0.25
_MAX_TABLES = 2048


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
    """CDF tables of Poisson(jh), j = 0 … tables − 1, flattened; for each table ``GUIDE_SIZE`` bins of the
    uniform, each with its first count and the CDF there; the remainder's thresholds (:func:`poisson_scaled`)."""

    step: float
    cdf: np.ndarray  # float64, table j at [start[j], start[j] + size[j]), then one entry 2.0 (> any uniform)
    bin_count: np.ndarray  # uint8 (int32 where a count needs more than 7 bits), at GUIDE_SIZE j + i: the count g
    #                        at u = i/GUIDE_SIZE, plus the wide flag BIN_WIDE_SMALL (BIN_WIDE_LARGE)
    bin_cdf: np.ndarray  # float64, at GUIDE_SIZE j + i: cdf_j[g]; in a narrow bin the count is g + (u >= this)
    start: np.ndarray  # int64
    size: np.ndarray  # int64
    thresholds: np.ndarray  # float32 (3, 2048): the remainder's decisions in table steps, by the 11 low bits
    largest_mean: float

    def arrays(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What :func:`poisson` takes: the step, the CDFs, the bins' counts and CDFs, the starts, the thresholds."""
        return self.step, self.cdf, self.bin_count, self.bin_cdf, self.start, self.thresholds

    @property
    def largest_count(self) -> int:
        """The largest count the table part gives (the remainder adds a few, rarely)."""
        return int(self.size.max()) - 1


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


def _remainder_thresholds(step: float) -> np.ndarray:
    """Rows (zero, one, one_at_most), in table steps f = r/h, for v ∈ [low, low + 1)/2048 (any r ≥ 0):

    * f <= zero: v < (low + 1)/2048 <= 1 − r <= e^{−r}, so the remainder is 0;
    * f >= one: v >= low/2048 >= 1 − r + r²/2 >= e^{−r}, so it is at least 1;
    * ... and f <= one_at_most: v < (low + 1)/2048 <= 1 − r²/2 <= e^{−r}(1 + r), so it is exactly 1.

    Stored as float32, each rounded towards its safe side (and first moved by 1e-9 of itself), so the
    three remain sufficient conditions.
    """
    low = np.arange(2048, dtype=float)
    v_low, v_high = low / 2048.0, (low + 1.0) / 2048.0
    zero = (1.0 - v_high) / step * (1.0 - 1e-9)
    # 1 − r + r²/2 = v has the root r = 1 − sqrt(2v − 1) in [0, 1] for v >= 1/2 (none below: never "one" this way)
    one = np.where(v_low >= 0.5, (1.0 - np.sqrt(np.maximum(2.0 * v_low - 1.0, 0.0))) / step, np.inf) * (1.0 + 1e-9)
    at_most = np.sqrt(2.0 * (1.0 - v_high)) / step * (1.0 - 1e-9)
    down = lambda x: np.nextafter(x.astype(np.float32), np.float32(-np.inf))  # noqa: E731
    up = lambda x: np.nextafter(x.astype(np.float32), np.float32(np.inf))  # noqa: E731
    return np.stack([down(zero), up(one), down(at_most)])


#: Flag added to a bin's count when the bin holds more than one step of the CDF (see :class:`PoissonTables`).
BIN_WIDE_SMALL, BIN_WIDE_LARGE = 1 << 7, 1 << 30


@lru_cache(maxsize=16)
def poisson_tables(largest_mean: float) -> PoissonTables:
    """Tables for every mean in [0, ``largest_mean``] (kept for reuse: they depend only on the range)."""
    if not (math.isfinite(largest_mean) and largest_mean >= 0.0):
        raise ConfigError(f"largest_mean: {largest_mean!r} is not a finite number >= 0")
    # a power of two, so that r = f·h is exact; at least TABLE_STEP, at most _MAX_TABLES tables
    step = 2.0 ** math.ceil(math.log2(max(TABLE_STEP, largest_mean / (_MAX_TABLES - 2))))
    count = int(largest_mean / step) + 2  # j = ⌊μ/h⌋ ≤ largest/h (one spare against rounding)
    cdfs = [_cdf(j * step) for j in range(count)]
    size = np.array([c.size for c in cdfs], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(size + 1)[:-1]]).astype(np.int64)
    edges = np.arange(GUIDE_SIZE + 1) / GUIDE_SIZE
    firsts = [np.minimum(np.searchsorted(c, edges, side="right"), c.size - 1) for c in cdfs]  # counts at i/GUIDE_SIZE
    small = max(int(f[:-1].max()) for f in firsts) < BIN_WIDE_SMALL  # every bin's first count fits in 7 bits
    flag = BIN_WIDE_SMALL if small else BIN_WIDE_LARGE
    counts, cdf_at = [], []
    for c, first in zip(cdfs, firsts):
        g = first[:-1]
        counts.append(g + flag * (first[1:] - g > 1))  # more than one step inside the bin: step on in a loop
        cdf_at.append(c[g])
    bin_count = np.concatenate(counts).astype(np.uint8 if small else np.int32)
    bin_cdf = np.concatenate(cdf_at)
    padded = np.concatenate([np.append(c, 2.0) for c in cdfs])
    return PoissonTables(step, padded, bin_count, bin_cdf, start, size, _remainder_thresholds(step),
                         float(largest_mean))


@numba.njit(inline="always", cache=True)
def next_word(s):
    """(word, new state): one raw 64-bit word of the stream (what :func:`poisson` takes)."""
    return _next_u64(s)


# The draw and its helpers take arrays but never keep them: compiled without reference counting
# (``_nrt=False``), a call costs what its loads cost. With numba's reference counting each array
# argument is counted up and down at every call, several times the cost of the draw itself.


@numba.njit(cache=True, _nrt=False)
def poisson(word, aux, mean, step, cdf, bin_count, bin_cdf, start, thresholds):
    """One Poisson(``mean``) count from the 64-bit ``word``, 0 <= mean <= the tables' largest mean.

    ``aux`` is a second generator state (four uint64, updated in place) that the rare draws
    needing a finer remainder uniform take their second word from (module docstring).
    """
    return poisson_scaled(word, aux, mean * (1.0 / step), step, cdf, bin_count, bin_cdf, start, thresholds)


@numba.njit(cache=True, _nrt=False)
def poisson_scaled(word, aux, scaled_mean, step, cdf, bin_count, bin_cdf, start, thresholds):
    """:func:`poisson` of the mean ``scaled_mean`` · ``step`` (a caller that has the mean in table units saves a product).

    The word's top 53 bits are the table part's uniform u (its top 8 bits the bin), its low 11
    bits the remainder's uniform v to 1/2048. In a bin that holds at most one step of the CDF the
    count is the bin's first count plus (u >= the CDF there): two loads side by side and a
    comparison, no branch; the few wide bins (the tails) step on in a loop. The remainder
    r = f·h (f the fraction of ``scaled_mean``) is decided by comparing f with three thresholds
    of the 11 bits (:func:`_remainder_thresholds`); only where they cannot tell (a fraction
    ~r² + 1/1024 of the draws) does a word of ``aux`` refine v. One exit and no loop on the
    common path: the count follows the mean by a conversion, two loads and a comparison.
    """
    # Indices are unsigned: numba then skips the wrap-around of negative indices, two operations
    # on the way from the mean to each load.
    u = np.int64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    low = word & np.uint64(0x7FF)
    j = int(scaled_mean)
    fraction = scaled_mean - j
    entry = (np.uint64(j) << np.uint64(GUIDE_BITS)) + (word >> np.uint64(64 - GUIDE_BITS))
    first = np.int64(bin_count[entry])
    count = first + np.int64(u >= bin_cdf[entry])
    flag = BIN_WIDE_SMALL if bin_count.itemsize == 1 else BIN_WIDE_LARGE
    if first >= flag:
        count = _step_on(cdf, start[j], first - flag, u)
    one = fraction >= thresholds[np.uint64(1), low]
    count += np.int64(one)
    # bitwise, not short-circuit: one branch, taken by the few draws the thresholds cannot decide
    sure = (fraction <= thresholds[np.uint64(0), low]) | (one & (fraction <= thresholds[np.uint64(2), low]))
    if not sure:
        count += _remainder(np.int64(low), fraction * step, aux) - np.int64(one)
    return count


@numba.njit(cache=True, _nrt=False)
def _step_on(cdf, base, count, u):
    """The count in a wide bin: from its first count, on while the CDF is <= u."""
    while cdf[base + count] <= u:
        count += 1
    return count


@numba.njit(cache=True, _nrt=False)
def _remainder(low, rest, aux):
    """Poisson(``rest``) by inversion from v = (low + a uniform of ``aux``)/2048 (the rare case of the draw)."""
    s = load(aux)
    fine, s = uniform(s)
    store(s, aux)
    v = (low + fine) * (1.0 / 2048.0)
    term = math.exp(-rest)
    total = term
    k = 0
    while v >= total and term > 0.0:
        k += 1
        term *= rest / k
        total += term
    return k


@numba.njit(cache=True)
def poisson_counts(state: np.ndarray, aux: np.ndarray, means: np.ndarray, step, cdf, bin_count, bin_cdf, start,
                   thresholds) -> np.ndarray:
    """One count per mean (for tests); advances ``state`` (one word a count) and ``aux``."""
    out = np.empty(means.size, dtype=np.int64)
    s = load(state)
    for i in range(means.size):
        word, s = _next_u64(s)
        out[i] = poisson(word, aux, means[i], step, cdf, bin_count, bin_cdf, start, thresholds)
    store(s, state)
    return out
