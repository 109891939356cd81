"""Plain-text tables for the terminal (no dependency: the CLI must run on a bare install)."""

from __future__ import annotations

from metroqnet.link.evaluate import LinkResult

FIGURE_ROWS = (
    ("p00", "p00"), ("p01", "p01"), ("p10", "p10"), ("p11", "p11"),
    ("E", "E (= <XX>)"), ("d", "coherence bound d"), ("concurrence", "concurrence C"),
    ("atomic_concurrence", "atomic concurrence C~"), ("zz", "<ZZ>"), ("xx", "<XX>"), ("yy", "<YY>"),
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
        lines.append(f"{label:32s} {plus[key]:12.5g} {minus[key]:12.5g}")
    lines.append(f"(exact engine, photon cutoff {result.photon_cutoff})")
    return "\n".join(lines)


def format_reproduction(network, rows, *, title: str = "") -> str:
    """Model beside paper, one line per figure; deviation in the paper's standard errors."""
    suffix = f", {title}" if title else ""
    lines = [f"{network.name}: exact link model beside the published numbers{suffix}", ""]
    lines.append(f"{'experiment':24s} {'figure':24s} {'model':>11s} {'paper':>16s} {'dev':>7s}")
    for row in rows:
        if row.paper is None:
            paper = "-"
        elif row.paper_error:
            paper = f"{row.paper:.4g} ± {row.paper_error:.2g}"
        else:
            paper = f"{row.paper:.4g}"
        deviation = "" if row.deviation is None else f"{row.deviation:+.1f}σ"
        lines.append(f"{row.experiment:24s} {row.figure:24s} {row.model:11.4g} {paper:>16s} {deviation:>7s}")
    lines.append("")
    lines.append("Every hardware value is tagged paper/estimated in the preset; see README 'Results'.")
    return "\n".join(lines)


def format_calibration(calibration) -> str:
    link = "-".join(calibration.link)
    return "\n".join(
        [
            f"calibration: write-out mode overlap at the server (all nodes), from the published {link} C",
            f"  model C with ideal overlap   {calibration.ideal_concurrence:.4f}",
            f"  published C (mean of signs) {calibration.target_concurrence:.4f}",
            f"  calibrated overlap           {calibration.overlap:.4f}"
            f"  (same coherence loss as {calibration.equivalent_phase_noise_rad:.3f} rad extra phase noise)",
        ]
    )
