"""Exact Fock engine: closed-form limits, invariants and convergence of the photon cutoff."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.link.evaluate import evaluate_link
from metroqnet.link.fock_engine import heralded_memory_states, joint_tables, phase_resolved_tables, photon_cutoff
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters

from .strategies import link_points


def ideal(**changes: float) -> LinkParameters:
    """No loss, no noise, perfect overlaps, no phase noise; χ and μ set small."""
    values = dict(
        excitation_probability=1e-7, herald_efficiency=1.0, read_efficiency=1.0, probe_mean_photon_number=1e-4
    )
    values.update(changes)
    return LinkParameters.from_mapping(values)


def thermal_silent_probability(n_x: float, n_y: float, gram: np.ndarray) -> float:
    """<:exp(-p† G p):> for independent thermal modes of means n_x, n_y: 1/det(I + N G).

    Closed form (Gaussian integral of the thermal P function), independent of the Fock sums.
    """
    return 1.0 / float(np.linalg.det(np.eye(2) + np.diag([n_x, n_y]) @ gram))


def test_herald_probability_matches_thermal_closed_form(hefei_like):
    p = hefei_like.replace(excitation_probability_y=0.03, herald_efficiency_y=0.1, herald_mode_overlap_x=0.7)
    n = [chi / (1 - chi) for chi in (p.excitation_probability_x, p.excitation_probability_y)]
    eta_x, eta_y = p.herald_efficiency_x, p.herald_efficiency_y
    g = math.sqrt(p.herald_mode_overlap_x * p.herald_mode_overlap_y * eta_x * eta_y)
    q = p.herald_noise_probability
    both = np.diag([eta_x, eta_y])
    tables = joint_tables(p)
    for sign, other in (("plus", -1.0), ("minus", 1.0)):
        gram_other = 0.5 * np.array([[eta_x, other * g], [other * g, eta_y]])
        expected = (1 - q) * (thermal_silent_probability(*n, gram_other) - (1 - q) * thermal_silent_probability(*n, both))
        assert tables.herald_probability(sign) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("sign, s", [("plus", 1.0), ("minus", -1.0)])
def test_ideal_limit_gives_maximally_entangled_state(sign, s):
    # Ideal Ψ±: <ZZ> = -1, <XX> = <YY> = ±1, p01 = p10 = 1/2, C = C~ = F = 1 (SPEC §2.5), up to O(μ, χ).
    figures = evaluate_link(ideal()).figures[sign]
    assert figures.zz == pytest.approx(-1.0, abs=1e-3)
    assert figures.xx == pytest.approx(s, abs=1e-3)
    assert figures.yy == pytest.approx(s, abs=1e-3)
    assert figures.p01 == pytest.approx(0.5, abs=1e-6)
    assert figures.p10 == pytest.approx(0.5, abs=1e-6)
    assert figures.concurrence == pytest.approx(1.0, abs=1e-3)
    assert figures.atomic_concurrence == pytest.approx(1.0, abs=1e-3)
    assert figures.concurrence_general == pytest.approx(1.0, abs=1e-3)
    assert figures.atomic_concurrence_general == pytest.approx(1.0, abs=1e-3)
    assert figures.fidelity == pytest.approx(1.0, abs=1e-3)


def test_phase_noise_scales_single_excitation_coherence():
    # With χ -> 0 only the one-excitation coherence |10><01| carries <XX>; averaging e^{iδ} over
    # a Gaussian δ multiplies it by exp(-σ²/2) exactly.
    base = ideal(read_efficiency=0.5, probe_mean_photon_number=0.01)
    reference = evaluate_link(base).figures["plus"].xx
    for sigma in (0.2, 0.7, 1.0):
        xx = evaluate_link(base.replace(phase_noise_std_rad=sigma)).figures["plus"].xx
        assert xx / reference == pytest.approx(math.exp(-0.5 * sigma**2), rel=1e-5)


def test_mode_overlap_scales_coherence():
    # Distinguishable write-out photons: the heralded coherence scales with sqrt(ov_x ov_y).
    base = ideal(read_efficiency=0.5, probe_mean_photon_number=0.01)
    reference = evaluate_link(base).figures["plus"].xx
    xx = evaluate_link(base.replace(herald_mode_overlap_x=0.81, herald_mode_overlap_y=0.64)).figures["plus"].xx
    assert xx / reference == pytest.approx(0.9 * 0.8, rel=1e-5)


def test_photon_cutoff_is_converged(hefei_like):
    strong = hefei_like.replace(excitation_probability_x=0.2, excitation_probability_y=0.15, probe_mean_photon_number_x=0.3)
    coarse, fine = joint_tables(strong, tolerance=1e-12), joint_tables(strong, tolerance=1e-16)
    assert fine.photon_cutoff > coarse.photon_cutoff
    for sign in HERALD_SIGNS:
        for basis in BASES:
            np.testing.assert_allclose(coarse.tables[sign][basis], fine.tables[sign][basis], rtol=1e-10, atol=0)


def test_cutoff_follows_tolerance():
    assert photon_cutoff(0.01, tolerance=1.5e-10) == 5  # 0.01^5 <= 1.5e-10 < 0.01^4
    assert photon_cutoff(0.0) == 1
    with pytest.raises(ValueError, match="tolerance"):
        photon_cutoff(0.1, tolerance=2.0)


@settings(max_examples=40, deadline=None)
@given(link_points())
def test_probabilities_are_consistent_across_bases(params):
    tables = joint_tables(params)
    herald_total = 0.0
    for sign in HERALD_SIGNS:
        herald = tables.herald_probability(sign)
        herald_total += herald
        for basis in BASES:
            table = tables.tables[sign][basis]
            # Each basis is a complete measurement: its patterns sum to the herald probability.
            assert table.sum() == pytest.approx(herald, rel=1e-10)
            assert (table >= -1e-14 * herald).all()
    assert 0.0 < herald_total <= 1.0


@settings(max_examples=40, deadline=None)
@given(link_points())
def test_physical_invariants(params):
    result = evaluate_link(params)
    plus, minus = result.figures["plus"], result.figures["minus"]
    for figures in (plus, minus):
        assert sum((figures.p00, figures.p01, figures.p10, figures.p11)) == pytest.approx(1.0, abs=1e-12)
        assert all(0.0 <= p <= 1.0 for p in (figures.p00, figures.p01, figures.p10, figures.p11))
        assert 0.0 <= figures.concurrence <= figures.atomic_concurrence + 1e-12
        # The paper's C~ can exceed 1 (see test_paper_bound_exceeds_one_where_the_general_bound_does_not);
        # the general bound's cannot, and it is never above the paper's (√(p01 p10) <= (p01 + p10)/2).
        assert 0.0 <= figures.concurrence_general <= figures.atomic_concurrence_general + 1e-12
        assert figures.atomic_concurrence_general <= 1.0
        assert figures.d_general <= figures.d + 1e-15
        assert figures.concurrence_general <= figures.concurrence + 1e-15
        assert -1.0 <= figures.zz <= 1.0 and 0.0 <= figures.fidelity <= 1.0
    # E flips sign between the two heralds; the Z populations do not depend on it.
    assert plus.E > 0 > minus.E
    assert plus.p11 == pytest.approx(minus.p11, rel=1e-9)


def test_phase_resolved_tables_average_to_the_exact_tables(hefei_like):
    # Σ_k C_k exp(-k²σ²/2) is the Gaussian average of Σ_k C_k e^{ikδ}: it must equal joint_tables at σ.
    params = hefei_like.replace(excitation_probability_x=0.15, probe_mean_photon_number_y=0.2)
    resolved = phase_resolved_tables(params)
    averaged = resolved.gaussian_average(params.phase_noise_std_rad)
    exact = joint_tables(params).tables
    for s, sign in enumerate(HERALD_SIGNS):
        for b, basis in enumerate(BASES):
            np.testing.assert_allclose(averaged[s, b], exact[sign][basis], rtol=1e-12)
    # At a fixed δ the Z tables do not depend on δ; X tables do, and stay non-negative.
    at = resolved.at_phase(np.array([0.0, 1.0, np.pi]))
    np.testing.assert_allclose(at[1, :, 0], at[0, :, 0], rtol=1e-12)
    assert not np.allclose(at[1, :, 1], at[0, :, 1])
    assert (at > -1e-15).all()


@pytest.mark.parametrize("engine", [joint_tables, phase_resolved_tables])
def test_overflowing_probe_is_refused_not_nan(hefei_like, engine):
    # LinkParameters allow any EP photon number >= 0; at ~1e60 the displacement sums overflow.
    with pytest.raises(ConfigError, match="probe_mean_photon_number"):
        engine(hefei_like.replace(probe_mean_photon_number_x=1e300))


#: A strongly unbalanced link (found by Hypothesis): read efficiencies 0.75/0.25 make p10 ≈ 3 p01,
#: with EP photons 0.11/0.04; χ and the herald efficiencies small, so one excitation dominates.
UNBALANCED = dict(
    excitation_probability=0.001, herald_efficiency=0.001, read_efficiency_x=0.75, read_efficiency_y=0.25,
    probe_mean_photon_number_x=0.10779123358892527, probe_mean_photon_number_y=0.03872983346207417,
)


def read_out_coherence(params: LinkParameters, sign: str) -> float:
    """|<10|ρ|01>| of the two read-out modes given the herald, from the engine's heralded memory state.

    Independent of the click tables and of the estimators: the memory state of
    ``heralded_memory_states`` (normalized by its trace), then each memory's pure-loss read
    (transmission η) in closed form: k photons lost from |1+k><k| leave |1><0| with amplitude
    √((k+1)η)(1−η)^k, and likewise for Y's |l><1+l|.
    """
    cutoff = photon_cutoff(max(params.excitation_probability_x, params.excitation_probability_y))
    rho = heralded_memory_states(params, cutoff)[sign]  # rho[n, m, n', m']
    trace = np.einsum("nmnm->", rho).real
    k = np.arange(cutoff)

    def lost(eta: float) -> np.ndarray:
        return np.sqrt((k + 1) * eta) * (1.0 - eta) ** k

    # Elements <1+k, l| rho |k, 1+l> for k, l = 0..cutoff-1.
    elements = rho[k[:, None] + 1, k[None, :], k[:, None], k[None, :] + 1]
    coherence = np.einsum("kl,k,l->", elements, lost(params.read_efficiency_x), lost(params.read_efficiency_y))
    return abs(coherence) / trace


@pytest.mark.parametrize("sign", HERALD_SIGNS)
def test_paper_bound_exceeds_one_where_the_general_bound_does_not(sign):
    """The paper's coherence bound |d| >= (p01 + p10 + 2√(p00 p11))|E|/2 assumes p01 ≈ p10.

    On this unbalanced link it overstates the coherence of the read-out state and the
    loss-deducted C~ comes out above 1 (a documented limit of ``concurrence`` and
    ``atomic_concurrence``, kept as the number the paper reports). The general bound
    |d| >= |E|(√(p01 p10) + √(p00 p11)) stays below the true coherence, and its C~ <= 1.
    "True" coherence: ``read_out_coherence`` (the engine's heralded memory state through the
    read loss, not the click tables), checked against the one-excitation closed form
    ½√(η_X η_Y) (equal herald weights at X and Y, no noise or dephasing) up to O(χ).
    """
    params = LinkParameters.from_mapping(UNBALANCED)
    figures = evaluate_link(params).figures[sign]
    true_coherence = read_out_coherence(params, sign)
    assert true_coherence == pytest.approx(0.5 * math.sqrt(0.75 * 0.25), rel=5e-3)
    assert figures.p10 > 2.9 * figures.p01
    # The paper's bound: above the true coherence, C~ > 1 (measured 1.092).
    assert figures.d > true_coherence
    assert figures.atomic_concurrence > 1.05
    # The general bound: a true lower bound, C~ <= 1 (measured d_general 0.206 <= 0.216, C~ 0.951).
    assert figures.d_general <= true_coherence
    assert 0.9 < figures.atomic_concurrence_general <= 1.0
    assert figures.concurrence_general < figures.concurrence


def test_both_bounds_agree_on_a_balanced_link(hefei_like):
    # Identical nodes: p01 = p10, and √(p01 p10) = (p01 + p10)/2 makes the two bounds one.
    for figures in evaluate_link(hefei_like).figures.values():
        assert figures.p01 == pytest.approx(figures.p10, rel=1e-12)
        assert figures.d_general == pytest.approx(figures.d, rel=1e-12)
        assert figures.concurrence_general == pytest.approx(figures.concurrence, rel=1e-12)
        assert figures.atomic_concurrence_general == pytest.approx(figures.atomic_concurrence, rel=1e-12)
        assert figures.concurrence > 0.1  # not trivially equal at the clip
