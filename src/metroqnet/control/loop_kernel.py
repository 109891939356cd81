"""The phase loop compiled: whole calibration windows, trial by trial, in numba.

What one trial does is documented in :mod:`metroqnet.control.phase_loop`; this module is the
same model written as compiled loops. Within a calibration window the compensation is fixed
and nothing a trial does changes the next one, so each window runs in four tight passes over
its trials (simple loops compile to fast code; one fused loop did not):

1. the lasers' and fibres' phase at the trial's instants: one exact Gaussian step per trial
   (:mod:`metroqnet.noise.periodic_sampling`), q normals per trial;
2. the cavity drift 2π∫Δf dt minus the compensation 2π∫f_comp dt, both kept in cycles
   modulo 1 (the drift reaches 10⁹ cycles over 76 h; its fraction is what the phase needs);
3. each probe's two Poisson counts and the reading (N1 − N2)/(V(N1 + N2));
4. the estimate, the residual at the write, and the sum of e^{i(φ̂ₖ − φ̂ₖ₋₁)} whose angle is
   the window's frequency estimate; then the compensation update.

Random numbers come from :mod:`metroqnet.noise.compiled_random` (numpy's SFC64 stream,
Ziggurat normals, table-inversion Poisson): passes 1 and 3 draw in that order, window after
window. The generator's state and the noise state are carried from call to call, so a run
split into any calls of whole windows is bit-identical.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from metroqnet.noise.compiled_random import load, poisson, standard_normal, store

TWO_PI = 2.0 * math.pi
#: Index of each value in the kernel's float settings array.
(HALF_PHOTONS, VISIBILITY, DARK, PERIOD_S, GAIN, CAL_ENABLED, STABILIZE, ROUNDS) = range(8)


@numba.njit(cache=True)
def _noise_pass(s, trials, state, mean_map, root, observe, rounds, xi, phase):
    """Pass 1: the noise phase at each trial's instants into ``phase[k, :]``; returns the generator state."""
    n_out, d = mean_map.shape
    q = root.shape[1]
    for k in range(trials):
        for j in range(q):
            xi[j], s = standard_normal(s)
        for i in range(n_out):
            total = 0.0
            for j in range(d):
                total += mean_map[i, j] * state[j]
            for j in range(q):
                total += root[i, j] * xi[j]
            if i < rounds:
                phase[k, i] = total
            else:
                state[i - rounds] = total
        write = 0.0
        for j in range(d):
            write += observe[j] * state[j]
        phase[k, rounds] = write
    return s


@numba.njit(cache=True)
def _drift_pass(trials, window_start, period_ns, offsets_ns, segment, knots_ns, linear_hz, quadratic_hz_per_s,
                cycles_frac, comp_hz, comp_cycles, phase, frequency):
    """Pass 2: add 2π(drift − compensation) cycles to ``phase``; Δf − f_comp at each write into ``frequency``."""
    samples = offsets_ns.size
    for k in range(trials):
        trial_start = window_start + k * period_ns
        for s in range(samples):
            t = trial_start + offsets_ns[s]
            while segment + 2 < knots_ns.size and t >= knots_ns[segment + 1]:
                segment += 1
            since_s = (t - knots_ns[segment]) * 1e-9
            cycles = cycles_frac[segment] + (linear_hz[segment] + quadratic_hz_per_s[segment] * since_s) * since_s
            net = cycles - comp_cycles - comp_hz * ((t - window_start) * 1e-9)
            phase[k, s] += TWO_PI * (net - math.floor(net))
            if s == samples - 1:
                frequency[k] = linear_hz[segment] + 2.0 * quadratic_hz_per_s[segment] * since_s - comp_hz
    return segment


@numba.njit(cache=True)
def _count_pass(s, trials, rounds, phase, half, visibility, dark, step, cdf, guide, start, size, readings):
    """Pass 3: each probe's reading (N1 − N2)/(V(N1 + N2)), clipped to [−1, 1] (0 without counts)."""
    for k in range(trials):
        for r in range(rounds):
            # round 1 reads cos φ; round 2, with the EOM at −π/2, cos(φ − π/2) = sin φ
            fringe = visibility * (math.cos(phase[k, 0]) if r == 0 else math.sin(phase[k, 1]))
            d1, s = poisson(s, half * (1.0 + fringe) + dark, step, cdf, guide, start, size)
            d2, s = poisson(s, half * (1.0 - fringe) + dark, step, cdf, guide, start, size)
            total = d1 + d2
            value = 0.0
            if total > 0:
                value = min(1.0, max(-1.0, (d1 - d2) / (visibility * total)))
            readings[k, r] = value
    return s


@numba.njit(cache=True)
def _estimate_pass(trials, rounds, stabilize, phase, readings, residual_out, estimate_out, offset, write_trials):
    """Pass 4: estimates and residuals (when ``write_trials``) and Σ e^{i(φ̂ₖ − φ̂ₖ₋₁)} (returned as re, im)."""
    sum_re, sum_im, last_re, last_im = 0.0, 0.0, 0.0, 0.0
    for k in range(trials):
        c_hat = readings[k, 0]
        if rounds == 1:
            re, im = c_hat, math.sqrt(max(0.0, 1.0 - c_hat * c_hat))  # e^{i arccos ĉ}
        else:
            s_hat = readings[k, 1]
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
            residual = phase[k, rounds] - estimate if stabilize else phase[k, rounds]
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
    xi = np.empty(root.shape[1])
    phase = np.empty((window_trials, rounds + 1))
    readings = np.empty((window_trials, rounds))
    frequency = np.empty(window_trials)
    s = load(rng)
    segment = 0
    for w in range(windows):
        window_start = start_ns + (first_trial + w * window_trials) * period_ns
        comp_hz, comp_cycles = control[0], control[1]
        while segment + 2 < knots_ns.size and window_start >= knots_ns[segment + 1]:
            segment += 1
        drift_hz = linear_hz[segment] + 2.0 * quadratic_hz_per_s[segment] * ((window_start - knots_ns[segment]) * 1e-9)
        s = _noise_pass(s, window_trials, state, mean_map, root, observe, rounds, xi, phase)
        segment = _drift_pass(window_trials, window_start, period_ns, offsets_ns, segment, knots_ns, linear_hz,
                              quadratic_hz_per_s, cycles_frac, comp_hz, comp_cycles, phase, frequency)
        s = _count_pass(s, window_trials, rounds, phase, half, visibility, dark, step, cdf, guide, start, size,
                        readings)
        offset = w * window_trials
        sum_re, sum_im = _estimate_pass(window_trials, rounds, stabilize, phase, readings, residual_out,
                                        estimate_out, offset, write_trials)
        if write_trials:
            frequency_out[offset:offset + window_trials] = frequency
        # Keep the cumulative phase small: only e^{iφ} matters, and cos is fastest near 0.
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
