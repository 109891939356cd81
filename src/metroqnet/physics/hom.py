"""Hong–Ou–Mandel interference of a read-out field with a coherent pulse (the paper's Fig. 3b).

Field a (the read-out: mean n_a, its own g⁽²⁾_a; unconditioned, the DLCZ read-out is one mode of a
two-mode squeezed vacuum, i.e. thermal, g⁽²⁾_a = 2) and field b (the entanglement-probe pulse:
coherent, g⁽²⁾_b = 1, mean n_b) meet on a 50:50 beamsplitter, outputs c = (a + b)/√2 and
d = (a − b)/√2 (at a node, the PBS that joins the orthogonally polarized fields followed by the
±45° measurement is this beamsplitter). Means are counted as detected: a common efficiency keeps a
thermal field thermal and a coherent one coherent, so it only scales n_a and n_b.

**Mode overlap.** a is in the temporal mode f, b in f·e^{−i2πδt} (detuned by δ) with a fraction M of
its intensity in a's transverse/polarization mode (``probe_mode_overlap``). For Gaussian pulses whose
*intensity* |f(t)|² has rms duration τ, the amplitude is f(t) ∝ exp(−t²/(4τ²)) (transform limited, the
same profile for both, as the paper states for the EP pulse) and
⟨f|f e^{−i2πδt}⟩ = ∫|f|² e^{−i2πδt} dt = exp(−(2πδτ)²/2) (the characteristic function of a Gaussian of
variance τ²), so the intensity overlap is

    V(δ) = M · exp(−(2πδτ)²),   a Gaussian in δ of rms width σ_δ = 1/(2√2 π τ).

Gaussian pulses are assumed because the paper fits its dip with a Gaussian, which is what Gaussian
pulses give exactly (an exponential cavity-decay shape would give a Lorentzian dip instead).

**Normalised cross-correlation** (normally ordered moments, both states phase-invariant so only
terms with as many a as a† survive; the same algebra as classical intensities with a random
relative phase):

    ⟨:n_c n_d:⟩ = ¼ [g_a n_a² + g_b n_b² + 2 n_a n_b (1 − V)],   ⟨n_c⟩ = ⟨n_d⟩ = (n_a + n_b)/2,

    g⁽²⁾_HOM(δ) = [g_a n_a² + g_b n_b² + 2 n_a n_b (1 − V(δ))] / (n_a + n_b)².

With r = n_a/n_b: g = [g_a r² + g_b + 2r(1 − V)]/(1 + r)². Far detuned (V → 0) it tends to
[g_a r² + g_b + 2r]/(1 + r)² (no interference). At V = 1 it is smallest at r = g_b/g_a, where it is

    g_min = g_a g_b / (g_a + g_b):  2/3 for thermal + coherent (at n_a = n_b/2), 1/2 for two coherent
    pulses, 1 for two thermal fields, 0 for two single photons (g_a = g_b = 0, the textbook HOM dip).

2/3 is the *thermal–coherent interference limit*: no thermal read-out mixed with a coherent pulse
reaches below it at any intensities and overlap; only a read-out of lower g_a (multimode, or heralded
and so sub-thermal) could. Independent noise of mean n₀ per output (dark counts) adds
n₀(n_a + n_b) + n₀² to ⟨:n_c n_d:⟩ and n₀ to each mean.

**Threshold detectors** (what a lab counts), thermal a and coherent b, exact: a thermal field has a
Gaussian P-function, A ~ CN(0, n_a), and ⟨exp(−s|A + β|²)⟩ = exp(−s|β|²/(1 + s n_a))/(1 + s n_a), so

    P(no click at c) = (1 − p₀) exp(−n_b(1 − V)/2) exp(−(V n_b/2)/(1 + n_a/2)) / (1 + n_a/2)  (= at d),
    P(no click at c nor d) = (1 − p₀)² exp(−n_b) / (1 + n_a),

p₀ each detector's noise-click probability, and g⁽²⁾ = P(c, d)/(P(c) P(d)) with
P(c, d) = 1 − P(c̄) − P(d̄) + P(c̄ d̄). It tends to the moment form as n_a, n_b → 0 (differences of
order n_a, n_b). Arrays broadcast; scalars give floats.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.units import S_PER_NS
from metroqnet.config.validation import NonNegative, Number, Positive, Probability, check_array, output

#: g⁽²⁾ of the two kinds of classical field the paper mixes: a single-mode thermal field (the
#: unconditioned read-out, the marginal of a two-mode squeezed vacuum) and a coherent pulse.
THERMAL_G2 = 2.0
COHERENT_G2 = 1.0
HZ_PER_MHZ = 1e6


def temporal_overlap(detuning_mhz: ArrayLike, *, duration_rms_ns: ArrayLike) -> float | np.ndarray:
    """|⟨f|f e^{−i2πδt}⟩|² = exp(−(2πδτ)²) for Gaussian pulses of intensity rms duration τ."""
    delta_hz = check_array("detuning_mhz", detuning_mhz, Number) * HZ_PER_MHZ
    tau_s = check_array("duration_rms_ns", duration_rms_ns, Positive) * S_PER_NS
    return output(np.exp(-((2.0 * math.pi * delta_hz * tau_s) ** 2)))


def dip_width_mhz(*, duration_rms_ns: ArrayLike) -> float | np.ndarray:
    """σ_δ = 1/(2√2 π τ) (MHz): the rms width of the Gaussian V(δ) = M exp(−δ²/(2σ_δ²))."""
    tau_s = check_array("duration_rms_ns", duration_rms_ns, Positive) * S_PER_NS
    return output(1.0 / (2.0 * math.sqrt(2.0) * math.pi * tau_s) / HZ_PER_MHZ)


def hom_visibility(detuning_mhz: ArrayLike, *, duration_rms_ns: ArrayLike, mode_overlap: ArrayLike
                   ) -> float | np.ndarray:
    """V(δ) = M · exp(−(2πδτ)²): the intensity overlap of the two fields' modes."""
    overlap = check_array("mode_overlap", mode_overlap, Probability)
    return output(overlap * temporal_overlap(detuning_mhz, duration_rms_ns=duration_rms_ns))


def hom_g2(
    *,
    mean_a: ArrayLike,
    mean_b: ArrayLike,
    visibility: ArrayLike,
    g2_a: ArrayLike = THERMAL_G2,
    g2_b: ArrayLike = COHERENT_G2,
    noise_mean: ArrayLike = 0.0,
) -> float | np.ndarray:
    """[g_a n_a² + g_b n_b² + 2 n_a n_b (1 − V)] / (n_a + n_b)², with noise n₀ per output (module doc)."""
    n_a = check_array("mean_a", mean_a, NonNegative)
    n_b = check_array("mean_b", mean_b, NonNegative)
    v = check_array("visibility", visibility, Probability)
    g_a = check_array("g2_a", g2_a, NonNegative)
    g_b = check_array("g2_b", g2_b, NonNegative)
    n_0 = check_array("noise_mean", noise_mean, NonNegative)
    total = n_a + n_b
    if np.any(total + 2.0 * n_0 <= 0.0):
        raise ValueError("mean_a, mean_b, noise_mean: no light at all, g2 is undefined; give a positive mean")
    coincidences = 0.25 * (g_a * n_a**2 + g_b * n_b**2 + 2.0 * n_a * n_b * (1.0 - v)) + n_0 * total + n_0**2
    return output(coincidences / (0.5 * total + n_0) ** 2)


def no_interference_g2(*, ratio: ArrayLike, g2_a: ArrayLike = THERMAL_G2, g2_b: ArrayLike = COHERENT_G2
                       ) -> float | np.ndarray:
    """(g_a r² + g_b + 2r)/(1 + r)², r = n_a/n_b: the far-detuned value (V = 0), without noise."""
    r = check_array("ratio", ratio, NonNegative)
    return hom_g2(mean_a=r, mean_b=1.0, visibility=0.0, g2_a=g2_a, g2_b=g2_b)


def optimal_ratio(*, g2_a: ArrayLike = THERMAL_G2, g2_b: ArrayLike = COHERENT_G2) -> float | np.ndarray:
    """r = n_a/n_b = g_b/g_a, where g⁽²⁾ at perfect overlap is smallest (1/2 for thermal + coherent)."""
    g_a = check_array("g2_a", g2_a, Positive)
    return output(check_array("g2_b", g2_b, NonNegative) / g_a)


def interference_limit(*, g2_a: ArrayLike = THERMAL_G2, g2_b: ArrayLike = COHERENT_G2) -> float | np.ndarray:
    """g_a g_b/(g_a + g_b): the least g⁽²⁾ over intensities at perfect overlap (2/3 thermal + coherent)."""
    g_a = check_array("g2_a", g2_a, NonNegative)
    g_b = check_array("g2_b", g2_b, NonNegative)
    if np.any(g_a + g_b <= 0.0):
        raise ValueError("g2_a, g2_b: both 0 (two single photons) have limit 0; give at least one positive")
    return output(g_a * g_b / (g_a + g_b))


def threshold_click_probabilities(
    *, mean_thermal: ArrayLike, mean_coherent: ArrayLike, visibility: ArrayLike, noise_probability: ArrayLike = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(c), P(d), P(c and d)) for a thermal field and a coherent pulse on threshold detectors (exact)."""
    n_a = check_array("mean_thermal", mean_thermal, NonNegative)
    n_b = check_array("mean_coherent", mean_coherent, NonNegative)
    v = check_array("visibility", visibility, Probability)
    dark = 1.0 - check_array("noise_probability", noise_probability, Probability)
    half = 1.0 + 0.5 * n_a
    none_c = dark * np.exp(-0.5 * n_b * (1.0 - v) - 0.5 * v * n_b / half) / half
    none_both = dark**2 * np.exp(-n_b) / (1.0 + n_a)
    click = 1.0 - none_c
    return click, click.copy(), 1.0 - 2.0 * none_c + none_both


def threshold_hom_g2(
    *, mean_thermal: ArrayLike, mean_coherent: ArrayLike, visibility: ArrayLike, noise_probability: ArrayLike = 0.0
) -> float | np.ndarray:
    """P(c, d)/(P(c) P(d)) on threshold detectors, thermal + coherent (module doc)."""
    p_c, p_d, p_cd = threshold_click_probabilities(
        mean_thermal=mean_thermal, mean_coherent=mean_coherent, visibility=visibility,
        noise_probability=noise_probability,
    )
    if np.any(p_c <= 0.0):
        raise ValueError("mean_thermal, mean_coherent, noise_probability: no clicks at all, g2 is undefined")
    return output(p_cd / (p_c * p_d))
