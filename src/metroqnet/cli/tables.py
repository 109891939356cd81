"""Plain-text tables for the terminal (no dependency: the CLI must run on a bare install)."""

from __future__ import annotations

import math

from metroqnet.analysis.outcomes import BASES
from metroqnet.analysis.uncertainty import CountAnalysis
from metroqnet.link.evaluate import LinkResult

FIGURE_ROWS = (
    ("p00", "p00"), ("p01", "p01"), ("p10", "p10"), ("p11", "p11"),
    ("E", "E (= <XX>)"), ("d", "coherence bound d"), ("concurrence", "concurrence C"),
    ("atomic_concurrence", "atomic concurrence C~"),
    ("d_general", "general coherence bound d_g"), ("concurrence_general", "general concurrence C_g"),
    ("atomic_concurrence_general", "general atomic concurrence C~_g"),
    ("zz", "<ZZ>"), ("xx", "<XX>"), ("yy", "<YY>"),
    ("fidelity", "PME fidelity F"), ("pme_probability", "P(one click per node | herald)"),
)


def format_link_result(result: LinkResult) -> str:
    lines = [
        f"herald probability        {result.herald_probability:.4e}"
        f"  (plus {result.herald_probability_plus:.4e}, minus {result.herald_probability_minus:.4e})",
        f"heralds from noise        {result.noise_herald_fraction:.3f}",
    ]
    if result.entangling_rate_hz is not None:
        lines.append(f"entangling rate           {result.entangling_rate_hz:.4g} Hz"
                     f" at {result.params.repetition_rate_hz:g} Hz repetition")
        lines.append(f"PME rate                  {result.pme_rate_hz:.4g} Hz")
    lines.append("")
    lines.append(f"{'figure':32s} {'Ψ+ (plus)':>12s} {'Ψ- (minus)':>12s}")
    plus, minus = result.figures["plus"].as_dict(), result.figures["minus"].as_dict()
    for key, label in FIGURE_ROWS:
        cells = ["-" if row[key] is None else f"{row[key]:.5g}" for row in (plus, minus)]
        lines.append(f"{label:32s} {cells[0]:>12s} {cells[1]:>12s}")
    lines.append(f"(exact engine, photon cutoff {result.photon_cutoff})")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def paper_text(row) -> str:
    """The published value of a reproduction row with its error, or '-'."""
    if row.paper is None:
        return "-"
    if row.paper_error:
        return f"{row.paper:.4g} ± {row.paper_error:.2g}"
    return f"{row.paper:.4g}"


def format_reproduction(network, rows, *, title: str = "") -> str:
    """Model beside paper, one line per figure; deviation in the paper's standard errors."""
    suffix = f", {title}" if title else ""
    lines = [f"{network.name}: exact link model beside the published numbers{suffix}", ""]
    lines.append(f"{'experiment':24s} {'figure':24s} {'model':>11s} {'paper':>16s} {'dev':>7s}")
    for row in rows:
        paper = paper_text(row)
        deviation = "" if row.deviation is None else f"{row.deviation:+.1f}σ"
        lines.append(f"{row.experiment:24s} {row.figure:24s} {row.model:11.4g} {paper:>16s} {deviation:>7s}")
    lines.append("")
    lines.append("Every value of the preset is tagged paper/estimated/calibrated/user: metroqnet preset show " + network.name)
    return "\n".join(lines)


def format_estimate(value: float, error: float) -> str:
    """``value ± error`` with two significant digits of the error and the value to the same place."""
    if not (math.isfinite(error) and error > 0):
        return f"{value:.5g} ± {error:.2g}"
    last_digit = math.floor(math.log10(error)) - 1
    if value == 0 or abs(value) >= 1e-3:
        decimals = max(0, -last_digit)
        return f"{value:.{decimals}f} ± {error:.{decimals}f}"
    digits = max(0, math.floor(math.log10(abs(value))) - last_digit)
    return f"{value:.{digits}e} ± {error:.1e}"


def format_count_analysis(analysis: CountAnalysis, *, source: str = "") -> str:
    """Value ± standard error of every figure from counts, per herald sign."""
    per_basis = ", ".join(f"{basis} {n}" for basis, n in zip(BASES, analysis.trials_per_basis))
    lines = [
        f"link {analysis.link}" + (f" ({source})" if source else "")
        + f": {analysis.trials} trials ({per_basis}); heralds plus {analysis.counts['plus']},"
        f" minus {analysis.counts['minus']}",
        f"herald probability        {format_estimate(*analysis.estimate('herald_probability'))}",
        f"  plus / minus            {format_estimate(*analysis.estimate('herald_probability_plus'))}"
        f" / {format_estimate(*analysis.estimate('herald_probability_minus'))}",
    ]
    if "entangling_rate_hz" in analysis.estimates:
        lines.append(f"entangling rate           {format_estimate(*analysis.estimate('entangling_rate_hz'))} Hz"
                     f" at {analysis.repetition_rate_hz:g} Hz repetition")
    if "pme_rate_hz" in analysis.estimates:
        lines.append(f"PME rate                  {format_estimate(*analysis.estimate('pme_rate_hz'))} Hz")
    if "snr" in analysis.estimates:
        lines.append(f"heralds from noise        {format_estimate(*analysis.estimate('noise_herald_fraction'))}"
                     f"   (server SNR {format_estimate(*analysis.estimate('snr'))}, from the background run)")
    lines += ["", f"{'figure':32s} {'Ψ+ (plus)':>24s} {'Ψ- (minus)':>24s}"]
    for key, label in FIGURE_ROWS:
        cells = [
            format_estimate(*analysis.estimate(key, sign)) if key in analysis.figures[sign] else "-"
            for sign in ("plus", "minus")
        ]
        if cells != ["-", "-"]:
            lines.append(f"{label:32s} {cells[0]:>24s} {cells[1]:>24s}")
    lines.append("(± one standard error from counting statistics, delta method; see docs/count_files.md)")
    lines += [f"note: {note}" for note in analysis.notes]
    return "\n".join(lines)


def _published_residual_text(published: dict[str, float] | None) -> str:
    if not published:
        return "no published value in this network"
    # Only the value: the paper prints no error for it (the preset states one, for the calibration).
    return f"paper: Gaussian, {published['value']:g} deg"


def format_stabilization(summary: dict[str, float]) -> str:
    """Fig. 2 figures beside the paper's."""
    s = summary
    return "\n".join(
        [
            f"phase stabilization and frequency calibration ({s['network']}, experiment {s['experiment']}), "
            "model beside the paper",
            f"  residual phase, as the additional probe reads it   {s['residual_std_deg_measured']:6.1f} deg"
            f"   ({_published_residual_text(s.get('published_residual_std_deg'))})",
            f"  residual phase at the write                        {s['residual_std_deg_at_write']:6.1f} deg"
            f"   (excess kurtosis {s['residual_excess_kurtosis']:+.2f}; shot-noise limit {s['shot_noise_limit_deg']:.1f} deg)",
            f"  without stabilization, at the write                {s['unstabilized_std_deg_at_write']:6.1f} deg"
            f"   (uniform over (-180, 180]: {s['uniform_std_deg']:.1f})",
            f"  without stabilization, as the probe reads it       {s['unstabilized_std_deg_measured']:6.1f} deg"
            "   (arcsin folds it into +-90 deg)",
            f"  probe visibility at set phase 0                    {s['visibility_at_zero_phase']:6.3f}",
            f"  visibility at a 5 kHz frequency difference         {s['visibility_at_5_khz']:6.3f}",
            f"  drift tracking over {s['tracking_hours']:.3g} h: drift {s['drift_peak_to_peak_khz']:.2f} kHz peak to peak,"
            f" max |residual| {s['max_abs_residual_khz']:.3f} kHz   (paper: <= 0.15 kHz against 5 kHz over 76 h)",
        ]
    )
