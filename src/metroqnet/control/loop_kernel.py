"""The phase loop compiled: whole calibration windows, trial by trial, in numba.

What one trial does is documented in :mod:`metroqnet.control.phase_loop`; this module is the
same model written as compiled loops. Within a calibration window the compensation is fixed,
so each window runs in passes over blocks of :data:`BLOCK_TRIALS` trials (whose arrays stay in
the first-level cache), each array laid out instant by trial so that the passes without random
draws or feedback vectorize:

1. the normals of the lasers' and fibres' exact Gaussian step (q per trial,
   :mod:`metroqnet.noise.periodic_sampling`);
2. the phase at the trial's instants: the noise part L ξ vectorized over the trials, then
   the state recursion x ← M x + L ξ (state held in registers for up to four state values);
3. the cavity drift 2π∫Δf dt minus the compensation 2π∫f_comp dt, both kept in cycles
   modulo 1 (the drift reaches 10⁹ cycles over 76 h; its fraction is what the phase needs);
4. sin φ and cos φ at each probe (:mod:`metroqnet.control.compiled_trig`, one reduction for both);
5. the lock, the only pass whose trials depend on each other: the EOM setting θ carries from
   trial to trial, each round's two Poisson counts are drawn at the fringe
   V sin(φ − θ) = V(sin φ cos θ − cos φ sin θ), and the correction g·arcsin ŝ rotates
   (cos θ, sin θ) by a precomputed (cos g·e, sin g·e) looked up by the two counts (:func:`turn_table`)
   — no trigonometry, no division on the chain from one count to the next, which runs through
   a table lookup, two products, a conversion and the draw's two loads (it sets the pass's
   speed: ~50 ns a trial);
6. Σ e^{i(θₖ − θₖ₋₁)} over the window, whose angle is the frequency estimate (products of
   (cos θ, sin θ) only, summed in pass 5 off its chain); the write's phase (passes 3, 4) and the per-trial residual
   φ(t_write) − θ and θ (atan2) only when the trials are kept; then the compensation update.

Random numbers come from :mod:`metroqnet.noise.compiled_random` (numpy's SFC64 stream,
Ziggurat normals, table-inversion Poisson): passes 1 and 5 draw in that order, block after
block, one word a count; the rare count that needs a finer uniform takes it from a second
stream (``aux``). Helpers called per count take their tables without reference counting
(``_nrt=False``): numba would otherwise count each array argument up and down at every call.
The generators' states, the noise state and θ are carried from call to call, and
(cos θ, sin θ) is renormalized at each window's end, so a run split into any calls of whole
windows is bit-identical.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from metroqnet.control.compiled_trig import sincos_into
from metroqnet.noise.compiled_random import load, next_word, poisson_scaled, standard_normal, store

TWO_PI = 2.0 * math.pi
#: Index of each value in the kernel's float settings array.
(HALF_PHOTONS, VISIBILITY, DARK, PERIOD_S, GAIN, CAL_ENABLED, STABILIZE, ROUNDS) = range(8)
#: Index of each value in the kernel's loop-state array: the frequency compensation (Hz), its
#: phase in cycles mod 1 at the window's start, the EOM setting θ as (cos θ, sin θ), and 1 once the
#: next block's normals are drawn.
(COMP_HZ, COMP_CYCLES, THETA_COS, THETA_SIN, NORMALS_READY) = range(5)
#: Trials simulated pass by pass at a time: the arrays of a block stay in the first-level cache.
BLOCK_TRIALS = 512


@numba.njit(cache=True)
def _normals_pass(s, trials, xi):
    """Pass 1: ``xi[j, k]``, the q normals of each trial in draw order; returns the generator state."""
    q = xi.shape[0]
    for k in range(trials):
        for j in range(q):
            xi[j, k], s = standard_normal(s)
    return s


@numba.njit(cache=True, error_model="numpy")
def _noise_part(trials, root, xi, kick):
    """``kick[i, k]`` = Σ_j L[i, j] ξ[j, k]: the noise of every output of every trial (vectorized over k)."""
    q = root.shape[1]
    for i in range(kick.shape[0]):
        row = kick[i]
        for k in range(trials):
            row[k] = root[i, 0] * xi[0, k]
        for j in range(1, q):
            weight, draws = root[i, j], xi[j]
            for k in range(trials):
                row[k] += weight * draws[k]


@numba.njit(cache=True, error_model="numpy")
def _phase_pass(trials, state, mean_map, observe, rounds, kick, phase, write=True):
    """Pass 2 (sequential part), any state size: ``phase[i, k]`` at each probe and (``write``) at the write;
    advances ``state``.

    Every sum runs over the state from its last coordinate to its first: the cumulative phase P,
    the first coordinate, comes last, so that in the state recursion P's own term closes the sum
    (:func:`_phase_pass4` keeps the recursion's chain from one trial to the next that short).
    """
    n_out, d = mean_map.shape
    x = np.empty(d)
    for k in range(trials):
        for i in range(rounds):
            total = kick[i, k]
            for j in range(d - 1, -1, -1):
                total += mean_map[i, j] * state[j]
            phase[i, k] = total
        for i in range(d):
            total = kick[rounds + i, k]
            for j in range(d - 1, -1, -1):
                total += mean_map[rounds + i, j] * state[j]
            x[i] = total
        at_write = 0.0
        for j in range(d - 1, -1, -1):
            state[j] = x[j]
            at_write += observe[j] * x[j]
        if write:
            phase[rounds, k] = at_write


@numba.njit(cache=True, error_model="numpy")
def _phase_pass4(trials, state, mean_map, observe, rounds, kick, phase, write=True):
    """:func:`_phase_pass` for up to four state values, kept in registers: the same numbers (the same sums in the
    same order; the padding and the terms of coefficients that are exactly zero add exact zeros).

    The noise state (P, rates, OU values) evolves as P' = P + Σ mᵢ·rateᵢ + kick and each other
    coordinate on its own; when the map has that form (checked here), the recursion skips the
    zero coefficients, so a trial waits on the previous one for one product and one sum.
    """
    n_out, d = mean_map.shape
    m = np.zeros((rounds + 4, 4))
    m[:n_out, :d] = mean_map
    c = np.zeros(4)
    c[:d] = observe
    x = np.zeros(4)
    x[:d] = state
    pad = np.zeros((4, trials))
    pad[:d] = kick[rounds:rounds + d, :trials]
    x0, x1, x2, x3 = x[0], x[1], x[2], x[3]
    r = rounds
    a00, a01, a02, a03 = m[r, 0], m[r, 1], m[r, 2], m[r, 3]
    a10, a11, a12, a13 = m[r + 1, 0], m[r + 1, 1], m[r + 1, 2], m[r + 1, 3]
    a20, a21, a22, a23 = m[r + 2, 0], m[r + 2, 1], m[r + 2, 2], m[r + 2, 3]
    a30, a31, a32, a33 = m[r + 3, 0], m[r + 3, 1], m[r + 3, 2], m[r + 3, 3]
    k0, k1, k2, k3 = pad[0], pad[1], pad[2], pad[3]
    separate = (a10 == 0.0 and a12 == 0.0 and a13 == 0.0 and a20 == 0.0 and a21 == 0.0 and a23 == 0.0
                and a30 == 0.0 and a31 == 0.0 and a32 == 0.0)
    for k in range(trials):
        for i in range(rounds):
            phase[i, k] = kick[i, k] + m[i, 3] * x3 + m[i, 2] * x2 + m[i, 1] * x1 + m[i, 0] * x0
        if separate:
            y0 = k0[k] + a03 * x3 + a02 * x2 + a01 * x1 + a00 * x0
            y1 = k1[k] + a11 * x1
            y2 = k2[k] + a22 * x2
            y3 = k3[k] + a33 * x3
        else:
            y0 = k0[k] + a03 * x3 + a02 * x2 + a01 * x1 + a00 * x0
            y1 = k1[k] + a13 * x3 + a12 * x2 + a11 * x1 + a10 * x0
            y2 = k2[k] + a23 * x3 + a22 * x2 + a21 * x1 + a20 * x0
            y3 = k3[k] + a33 * x3 + a32 * x2 + a31 * x1 + a30 * x0
        x0, x1, x2, x3 = y0, y1, y2, y3
        if write:
            phase[rounds, k] = 0.0 + c[3] * x3 + c[2] * x2 + c[1] * x1 + c[0] * x0
    x[0], x[1], x[2], x[3] = x0, x1, x2, x3
    state[:] = x[:d]


@numba.njit(cache=True, error_model="numpy")
def _drift_rows(first, last, start_ns, period_ns, knot_ns, cycles0, linear, quadratic, comp_cycles, comp_hz,
                window_start, row):
    """Add 2π(drift − compensation) mod 1 cycle to ``row[first:last]``, all in one drift segment (vectorized:
    the loop runs over a slice from 0, so no negative index needs wrapping)."""
    piece = row[first:last]
    first_ns = start_ns + first * period_ns
    for i in range(piece.size):
        t = first_ns + i * period_ns
        since_s = (t - knot_ns) * 1e-9
        cycles = cycles0 + (linear + quadratic * since_s) * since_s
        net = cycles - comp_cycles - comp_hz * ((t - window_start) * 1e-9)
        piece[i] += TWO_PI * (net - math.floor(net))


@numba.njit(cache=True, error_model="numpy")
def _drift_pass(trials, instants, block_start, window_start, period_ns, offsets_ns, segment, knots_ns, linear_hz,
                quadratic_hz_per_s, cycles_frac, comp_hz, comp_cycles, phase, frequency):
    """Pass 3: add 2π(drift − compensation) cycles to the first ``instants`` rows of ``phase``; with the write's
    row (the last), Δf − f_comp at each write into ``frequency``.

    The arrays hold the trials from ``block_start`` on; the compensation counts from ``window_start``.
    Each instant's row is cut where the drift's segment changes (every 60 s or so), and
    each piece is one vectorized loop. Returns the last row's segment at the block's end.
    """
    first_segment = segment
    last = offsets_ns.size - 1
    for s in range(instants):
        start_ns = block_start + offsets_ns[s]
        seg = first_segment
        k = 0
        while k < trials:
            while seg + 2 < knots_ns.size and start_ns + k * period_ns >= knots_ns[seg + 1]:
                seg += 1
            end = trials  # trials before the next knot
            if seg + 2 < knots_ns.size:
                end = min(trials, (knots_ns[seg + 1] - start_ns + period_ns - 1) // period_ns)
            _drift_rows(k, end, start_ns, period_ns, knots_ns[seg], cycles_frac[seg], linear_hz[seg],
                        quadratic_hz_per_s[seg], comp_cycles, comp_hz, window_start, phase[s])
            if s == last:
                piece, first_ns = frequency[k:end], start_ns + k * period_ns
                for i in range(piece.size):
                    since_s = (first_ns + i * period_ns - knots_ns[seg]) * 1e-9
                    piece[i] = linear_hz[seg] + 2.0 * quadratic_hz_per_s[seg] * since_s - comp_hz
            k = end
        segment = seg
    return segment



#: The correction table's side is 2^TURN_BITS counts per detector (larger counts are computed directly).
TURN_BITS = 7
TURN_SIDE = 1 << TURN_BITS


@numba.njit(cache=True)
def turn(d1, d2, visibility, gain):
    """(cos g·e, sin g·e): the correction g·e, e = arcsin(clip((d1 − d2)/(V(d1 + d2)))) (e = 0 without counts)."""
    total = d1 + d2
    if total == 0:
        return 1.0, 0.0
    reading = min(1.0, max(-1.0, (d1 - d2) / (visibility * total)))
    if gain == 1.0:
        return math.sqrt(max(0.0, 1.0 - reading * reading)), reading
    angle = gain * math.asin(reading)
    return math.cos(angle), math.sin(angle)


@numba.njit(cache=True)
def turn_table(visibility, gains):
    """:func:`turn` of round r's gain for counts d1, d2 < ``TURN_SIDE``, flat at 2·((r·side + d1)·side + d2)."""
    table = np.empty(2 * gains.size * TURN_SIDE * TURN_SIDE)
    for r in range(gains.size):
        for d1 in range(TURN_SIDE):
            for d2 in range(TURN_SIDE):
                i = 2 * ((r * TURN_SIDE + d1) * TURN_SIDE + d2)
                table[i], table[i + 1] = turn(d1, d2, visibility, gains[r])
    return table


@numba.njit(cache=True, _nrt=False)
def _lookup(turns, r, d1, d2, visibility, gain):
    """:func:`turn` from the table (computed for counts beyond it); no reference counting of ``turns``, so a call
    costs its load."""
    if (d1 | d2) < TURN_SIDE:  # both below the side (a power of two), one comparison
        i = np.uint64(((((r << TURN_BITS) | d1) << TURN_BITS) | d2) << 1)  # unsigned: no wrap-around of the index
        return turns[i], turns[i + np.uint64(1)]
    return turn(d1, d2, visibility, gain)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _lock_pass(s, aux, trials, rounds, sin_phi, cos_phi, half, visibility, dark, gains, turns, theta, theta_c,
               theta_s, window_sum, step, cdf, bin_count, bin_cdf, start, thresholds, xi_next, next_trials):
    """Pass 5: each round's counts at the EOM setting θ, then θ's correction; returns the generator state.

    It also draws the next block's normals (pass 1 of the next block, ``next_trials`` trials into
    ``xi_next``), trial k's before trial k's counts: the lock waits on its chain from one count to
    the next, and the normals' work fills that wait (~8 ns a trial less than a pass of its own).

    θ is carried in ``theta`` = [cos θ, sin θ] (updated in place); θ after each trial's rounds
    goes to ``theta_c``, ``theta_s``, and its increment from the trial before into
    ``window_sum`` = [Σ re, Σ im, cos θ, sin θ of the last trial] of e^{i(θₖ − θₖ₋₁)} (the window's
    first trial finds the last θ at (0, 0) and adds nothing). To keep the chain from one count to the next short, θ is
    held as (c, s) = θ before the last correction and that correction t = (cos g·e, sin g·e)
    apart: the next fringe sin(φ − θ) = sin(φ − θ₀)·t_c − cos(φ − θ₀)·t_s needs only two
    products once t is known, and θ₀ catches up with t alongside.
    """
    c, sn = theta[0], theta[1]
    tc, ts = 1.0, 0.0
    sum_re, sum_im, last_c, last_s = window_sum[0], window_sum[1], window_sum[2], window_sum[3]
    scale = half * visibility / step  # the fringe's part of a count's mean, in table steps
    centre = (half + dark) / step
    normals_per_trial = xi_next.shape[0]
    for k in range(trials):
        if k < next_trials:
            for j in range(normals_per_trial):
                xi_next[j, k], s = standard_normal(s)
        for r in range(rounds):
            a = sin_phi[r, k] * c - cos_phi[r, k] * sn  # sin(φ − θ₀)
            b = cos_phi[r, k] * c + sin_phi[r, k] * sn  # cos(φ − θ₀)
            p, q = scale * a, scale * b
            mean1 = centre + p * tc - q * ts  # (half·(1 + V sin(φ − θ)) + dark) / step
            mean2 = centre - p * tc + q * ts
            c, sn = c * tc - sn * ts, sn * tc + c * ts
            word1, s = next_word(s)
            word2, s = next_word(s)
            d1 = poisson_scaled(word1, aux, mean1, step, cdf, bin_count, bin_cdf, start, thresholds)
            d2 = poisson_scaled(word2, aux, mean2, step, cdf, bin_count, bin_cdf, start, thresholds)
            tc, ts = _lookup(turns, r, d1, d2, visibility, gains[r])
        now_c, now_s = c * tc - sn * ts, sn * tc + c * ts
        theta_c[k], theta_s[k] = now_c, now_s
        sum_re += now_c * last_c + now_s * last_s
        sum_im += now_s * last_c - now_c * last_s
        last_c, last_s = now_c, now_s
    for k in range(trials, next_trials):
        for j in range(normals_per_trial):
            xi_next[j, k], s = standard_normal(s)
    theta[0], theta[1] = c * tc - sn * ts, sn * tc + c * ts
    window_sum[0], window_sum[1], window_sum[2], window_sum[3] = sum_re, sum_im, last_c, last_s
    return s


@numba.njit(cache=True)
def _residual_pass(trials, stabilize, phase_write, sin_write, cos_write, theta_c, theta_s, residual_out,
                   estimate_out, offset):
    """Per-trial outputs (only when the trials are kept): φ(t_write) − θ (or φ itself) and θ, in (−π, π]."""
    for k in range(trials):
        c, sn = theta_c[k], theta_s[k]
        estimate = math.atan2(sn, c)
        if stabilize:
            residual = math.atan2(sin_write[k] * c - cos_write[k] * sn, cos_write[k] * c + sin_write[k] * sn)
        else:
            residual = phase_write[k] - TWO_PI * math.floor((phase_write[k] + math.pi) / TWO_PI)
        if residual <= -math.pi:
            residual += TWO_PI
        if estimate <= -math.pi:
            estimate += TWO_PI
        residual_out[offset + k] = residual
        estimate_out[offset + k] = estimate


@numba.njit(cache=True)
def run_windows(
    windows, window_trials, first_trial, start_ns, period_ns, offsets_ns, values, gains, turns,
    rng, aux, state, mean_map, root, observe,
    knots_ns, linear_hz, quadratic_hz_per_s, cycles_frac,
    control, step, cdf, bin_count, bin_cdf, start, thresholds, normals,
    residual_out, estimate_out, frequency_out, log_out, write_trials,
):
    """Simulate ``windows`` whole calibration windows; per-trial values into the ``*_out`` arrays
    (when ``write_trials``), one row per window into ``log_out`` (time s, drift Hz, compensation Hz,
    estimate Hz). ``control`` (indices :data:`COMP_HZ` … :data:`NORMALS_READY`) is updated in place;
    ``gains`` are the rounds' gains and ``turns`` their :func:`turn_table`. ``normals`` (q × the
    block size) carries the next block's normals from call to call: each block's lock pass draws
    the next block's (the first block of a run draws its own when ``control[NORMALS_READY]`` is 0)."""
    half, visibility, dark = values[HALF_PHOTONS], values[VISIBILITY], values[DARK]
    period_s, gain = values[PERIOD_S], values[GAIN]
    enabled, stabilize, rounds = values[CAL_ENABLED] > 0, values[STABILIZE] > 0, int(values[ROUNDS])
    block = min(BLOCK_TRIALS, window_trials)
    xi = normals.copy()
    xi_next = np.empty_like(xi)
    kick = np.empty((mean_map.shape[0], block))
    phase = np.empty((rounds + 1, block))
    sin_phi = np.empty((rounds + 1, block))
    cos_phi = np.empty((rounds + 1, block))
    theta_c = np.empty(block)
    theta_s = np.empty(block)
    frequency = np.empty(block)
    theta = np.empty(2)
    theta[0], theta[1] = control[THETA_COS], control[THETA_SIN]
    window_sum = np.zeros(4)
    s = load(rng)
    if control[NORMALS_READY] == 0.0:  # the run's first block: nobody drew its normals yet
        s = _normals_pass(s, block, xi)
        control[NORMALS_READY] = 1.0
    segment = 0
    for w in range(windows):
        window_start = start_ns + (first_trial + w * window_trials) * period_ns
        comp_hz, comp_cycles = control[COMP_HZ], control[COMP_CYCLES]
        while segment + 2 < knots_ns.size and window_start >= knots_ns[segment + 1]:
            segment += 1
        drift_hz = linear_hz[segment] + 2.0 * quadratic_hz_per_s[segment] * ((window_start - knots_ns[segment]) * 1e-9)
        window_sum[:] = 0.0
        for first in range(0, window_trials, block):
            n = min(block, window_trials - first)
            following = min(block, window_trials - first - n) if first + n < window_trials else block
            block_start = window_start + first * period_ns
            _noise_part(n, root, xi, kick)
            if state.size <= 4:
                _phase_pass4(n, state, mean_map, observe, rounds, kick, phase, write_trials)
            else:
                _phase_pass(n, state, mean_map, observe, rounds, kick, phase, write_trials)
            instants = rounds + 1 if write_trials else rounds  # the write's phase only for the kept trials
            segment = _drift_pass(n, instants, block_start, window_start, period_ns, offsets_ns, segment, knots_ns,
                                  linear_hz, quadratic_hz_per_s, cycles_frac, comp_hz, comp_cycles, phase, frequency)
            for r in range(instants):
                sincos_into(phase[r, :n], sin_phi[r, :n], cos_phi[r, :n])
            s = _lock_pass(s, aux, n, rounds, sin_phi, cos_phi, half, visibility, dark, gains, turns, theta,
                           theta_c, theta_s, window_sum, step, cdf, bin_count, bin_cdf, start, thresholds, xi_next,
                           following)
            if write_trials:
                offset = w * window_trials + first
                _residual_pass(n, stabilize, phase[rounds], sin_phi[rounds], cos_phi[rounds], theta_c, theta_s,
                               residual_out, estimate_out, offset)
                frequency_out[offset:offset + n] = frequency[:n]
            xi, xi_next = xi_next, xi
        norm = 1.0 / math.sqrt(theta[0] * theta[0] + theta[1] * theta[1])  # rotations keep |e^{iθ}| to ~1e-13
        theta[0] *= norm
        theta[1] *= norm
        # Keep the cumulative phase small: only e^{iφ} matters, and compiled_trig is exact below its LARGE.
        state[0] -= TWO_PI * math.floor(state[0] / TWO_PI)
        log_out[w, 0] = (window_start - start_ns) * 1e-9
        log_out[w, 1] = drift_hz
        log_out[w, 2] = comp_hz
        log_out[w, 3] = math.atan2(window_sum[1], window_sum[0]) / (TWO_PI * period_s)
        comp_cycles += comp_hz * window_trials * period_s
        control[COMP_CYCLES] = comp_cycles - math.floor(comp_cycles)
        if enabled:
            control[COMP_HZ] = comp_hz + gain * log_out[w, 3]
    control[THETA_COS], control[THETA_SIN] = theta[0], theta[1]
    normals[:] = xi
    store(s, rng)
    return segment
