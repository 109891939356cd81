"""The phase loop compiled: whole calibration windows, trial by trial, in numba.

What one trial does is documented in :mod:`metroqnet.control.phase_loop`; this module is the
same model written as compiled loops. Within a calibration window the compensation is fixed
and nothing a trial does changes the next one, so each window runs in passes over its
trials, each array laid out instant by trial so that the passes without random draws
vectorize:

1. the normals of the lasers' and fibres' exact Gaussian step (q per trial,
   :mod:`metroqnet.noise.periodic_sampling`);
2. the phase at the trial's instants: the noise part L ξ vectorized over the trials, then
   the state recursion x ← M x + L ξ, the only sequential part (state held in registers
   for up to four state values);
3. the cavity drift 2π∫Δf dt minus the compensation 2π∫f_comp dt, both kept in cycles
   modulo 1 (the drift reaches 10⁹ cycles over 76 h; its fraction is what the phase needs);
4. each probe's fringe, cos φ or sin φ (:mod:`metroqnet.control.compiled_trig`);
5. each probe's two Poisson counts and the reading (N1 − N2)/(V(N1 + N2));
6. the estimate, the residual at the write, and the sum of e^{i(φ̂ₖ − φ̂ₖ₋₁)} whose angle is
   the window's frequency estimate; then the compensation update.

Random numbers come from :mod:`metroqnet.noise.compiled_random` (numpy's SFC64 stream,
Ziggurat normals, table-inversion Poisson): passes 1 and 5 draw in that order, window after
window. The generator's state and the noise state are carried from call to call, so a run
split into any calls of whole windows is bit-identical.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from metroqnet.control.compiled_trig import cos_into, sin_into
from metroqnet.noise.compiled_random import load, poisson, standard_normal, store

TWO_PI = 2.0 * math.pi
#: Index of each value in the kernel's float settings array.
(HALF_PHOTONS, VISIBILITY, DARK, PERIOD_S, GAIN, CAL_ENABLED, STABILIZE, ROUNDS) = range(8)


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
def _phase_pass(trials, state, mean_map, observe, rounds, kick, phase):
    """Pass 2 (sequential part), any state size: ``phase[i, k]`` at each probe and the write; advances ``state``."""
    n_out, d = mean_map.shape
    x = np.empty(d)
    for k in range(trials):
        for i in range(rounds):
            total = kick[i, k]
            for j in range(d):
                total += mean_map[i, j] * state[j]
            phase[i, k] = total
        for i in range(d):
            total = kick[rounds + i, k]
            for j in range(d):
                total += mean_map[rounds + i, j] * state[j]
            x[i] = total
        write = 0.0
        for j in range(d):
            state[j] = x[j]
            write += observe[j] * x[j]
        phase[rounds, k] = write


@numba.njit(cache=True, error_model="numpy")
def _phase_pass4(trials, state, mean_map, observe, rounds, kick, phase):
    """:func:`_phase_pass` for up to four state values, kept in registers (the same sums in the same order:
    the padding adds exact zeros)."""
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
    for k in range(trials):
        for i in range(rounds):
            phase[i, k] = kick[i, k] + m[i, 0] * x0 + m[i, 1] * x1 + m[i, 2] * x2 + m[i, 3] * x3
        y0 = k0[k] + a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3
        y1 = k1[k] + a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3
        y2 = k2[k] + a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3
        y3 = k3[k] + a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3
        x0, x1, x2, x3 = y0, y1, y2, y3
        phase[rounds, k] = 0.0 + c[0] * x0 + c[1] * x1 + c[2] * x2 + c[3] * x3
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
def _drift_pass(trials, window_start, period_ns, offsets_ns, segment, knots_ns, linear_hz, quadratic_hz_per_s,
                cycles_frac, comp_hz, comp_cycles, phase, frequency):
    """Pass 3: add 2π(drift − compensation) cycles to ``phase``; Δf − f_comp at each write into ``frequency``.

    Each instant's row is cut where the drift's segment changes (every 60 s or so), and
    each piece is one vectorized loop. Returns the write's segment at the window's end.
    """
    first_segment = segment
    last = offsets_ns.size - 1
    for s in range(offsets_ns.size):
        start_ns = window_start + offsets_ns[s]
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
        if s == last:
            segment = seg
    return segment


@numba.njit(cache=True, error_model="numpy")
def _count_pass(s, trials, rounds, fringe, half, visibility, dark, step, cdf, guide, start, size, readings):
    """Pass 5: each probe's reading (N1 − N2)/(V(N1 + N2)), clipped to [−1, 1] (0 without counts)."""
    for k in range(trials):
        for r in range(rounds):
            f = visibility * fringe[r, k]
            d1, s = poisson(s, half * (1.0 + f) + dark, step, cdf, guide, start, size)
            d2, s = poisson(s, half * (1.0 - f) + dark, step, cdf, guide, start, size)
            total = d1 + d2
            value = 0.0
            if total > 0:
                value = min(1.0, max(-1.0, (d1 - d2) / (visibility * total)))
            readings[r, k] = value
    return s


@numba.njit(cache=True)
def _estimate_pass(trials, rounds, stabilize, phase, readings, residual_out, estimate_out, offset, write_trials):
    """Pass 6: estimates and residuals (when ``write_trials``) and Σ e^{i(φ̂ₖ − φ̂ₖ₋₁)} (returned as re, im)."""
    sum_re, sum_im, last_re, last_im = 0.0, 0.0, 0.0, 0.0
    for k in range(trials):
        c_hat = readings[0, k]
        if rounds == 1:
            re, im = c_hat, math.sqrt(max(0.0, 1.0 - c_hat * c_hat))  # e^{i arccos ĉ}
        else:
            s_hat = readings[1, k]
            norm = math.sqrt(c_hat * c_hat + s_hat * s_hat)
            if norm > 0.0:
                re, im = c_hat / norm, s_hat / norm
            else:
                re, im = 1.0, 0.0  # atan2(0, 0) = 0
        if k > 0:
            sum_re += re * last_re + im * last_im
            sum_im += im * last_re - re * last_im
        last_re, last_im = re, im
        if write_trials:
            estimate = math.atan2(im, re) if rounds == 2 else math.acos(c_hat)
            residual = phase[rounds, k] - estimate if stabilize else phase[rounds, k]
            residual -= TWO_PI * math.floor((residual + math.pi) / TWO_PI)
            if residual <= -math.pi:
                residual += TWO_PI
            residual_out[offset + k] = residual
            estimate_out[offset + k] = estimate
    return sum_re, sum_im


@numba.njit(cache=True)
def run_windows(
    windows, window_trials, first_trial, start_ns, period_ns, offsets_ns, values,
    rng, state, mean_map, root, observe,
    knots_ns, linear_hz, quadratic_hz_per_s, cycles_frac,
    control, step, cdf, guide, start, size,
    residual_out, estimate_out, frequency_out, log_out, write_trials,
):
    """Simulate ``windows`` whole calibration windows; per-trial values into the ``*_out`` arrays
    (when ``write_trials``), one row per window into ``log_out`` (time s, drift Hz, compensation Hz,
    estimate Hz). ``control`` = [compensation Hz, compensation cycles mod 1] is updated in place."""
    half, visibility, dark = values[HALF_PHOTONS], values[VISIBILITY], values[DARK]
    period_s, gain = values[PERIOD_S], values[GAIN]
    enabled, stabilize, rounds = values[CAL_ENABLED] > 0, values[STABILIZE] > 0, int(values[ROUNDS])
    xi = np.empty((root.shape[1], window_trials))
    kick = np.empty((mean_map.shape[0], window_trials))
    phase = np.empty((rounds + 1, window_trials))
    fringe = np.empty((rounds, window_trials))
    readings = np.empty((rounds, window_trials))
    frequency = np.empty(window_trials)
    s = load(rng)
    segment = 0
    for w in range(windows):
        window_start = start_ns + (first_trial + w * window_trials) * period_ns
        comp_hz, comp_cycles = control[0], control[1]
        while segment + 2 < knots_ns.size and window_start >= knots_ns[segment + 1]:
            segment += 1
        drift_hz = linear_hz[segment] + 2.0 * quadratic_hz_per_s[segment] * ((window_start - knots_ns[segment]) * 1e-9)
        s = _normals_pass(s, window_trials, xi)
        _noise_part(window_trials, root, xi, kick)
        if state.size <= 4:
            _phase_pass4(window_trials, state, mean_map, observe, rounds, kick, phase)
        else:
            _phase_pass(window_trials, state, mean_map, observe, rounds, kick, phase)
        segment = _drift_pass(window_trials, window_start, period_ns, offsets_ns, segment, knots_ns, linear_hz,
                              quadratic_hz_per_s, cycles_frac, comp_hz, comp_cycles, phase, frequency)
        cos_into(phase[0], fringe[0])  # round 1 reads cos φ
        if rounds == 2:
            sin_into(phase[1], fringe[1])  # round 2, with the EOM at −π/2, reads cos(φ − π/2) = sin φ
        s = _count_pass(s, window_trials, rounds, fringe, half, visibility, dark, step, cdf, guide, start, size,
                        readings)
        offset = w * window_trials
        sum_re, sum_im = _estimate_pass(window_trials, rounds, stabilize, phase, readings, residual_out,
                                        estimate_out, offset, write_trials)
        if write_trials:
            frequency_out[offset:offset + window_trials] = frequency
        # Keep the cumulative phase small: only e^{iφ} matters, and compiled_trig is exact below its LARGE.
        state[0] -= TWO_PI * math.floor(state[0] / TWO_PI)
        log_out[w, 0] = (window_start - start_ns) * 1e-9
        log_out[w, 1] = drift_hz
        log_out[w, 2] = comp_hz
        log_out[w, 3] = math.atan2(sum_im, sum_re) / (TWO_PI * period_s)
        comp_cycles += comp_hz * window_trials * period_s
        control[1] = comp_cycles - math.floor(comp_cycles)
        if enabled:
            control[0] = comp_hz + gain * log_out[w, 3]
    store(s, rng)
    return segment
