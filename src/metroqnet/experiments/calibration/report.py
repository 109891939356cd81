"""A calibration's result as a calibration file (:mod:`metroqnet.config.calibration_file`): values and report."""

from __future__ import annotations

import emcee
import scipy

from metroqnet.config.calibration_file import Calibration
from metroqnet.config.versions import versions
from metroqnet.experiments.calibration.identifiability import DETERMINED, FREE
from metroqnet.experiments.calibration.leave_one_out import PARETO_K_LIMIT
from metroqnet.experiments.calibration.posterior import MAP_STARTS
from metroqnet.experiments.calibration.procedure import DERIVED_SAMPLES, CalibrationResult
from metroqnet.experiments.calibration.residual_table import GRID_POINTS

PROCEDURE = (
    "metroqnet.experiments.calibration.calibrate: the likelihood of every published number of the network's "
    "[published] section with its one-sigma error (the paper's, or the preset's stated error_reason), as a function "
    "of the values of [calibration.priors] (uniform priors in their scale), on the batch exact engine with the phase "
    "loop tabulated over its prior; MAP by L-BFGS-B, posterior by emcee, Fisher eigendirections, leave-one-out "
    "predictions (PSIS, refits where k > 0.7); docs/calibration.md"
)
#: A value whose 68 % posterior interval is at least this share of its prior's is reported as not determined.
NOT_DETERMINED_WIDTH = 0.8


def _reason(result: CalibrationResult, key: str) -> str:
    marginal = next(m for m in result.marginals if m.key == key)
    status = "not determined by the data alone (posterior about as wide as the prior)" if (
        marginal.width_ratio >= NOT_DETERMINED_WIDTH) else f"posterior {marginal.width_ratio:.2f} of the prior's width"
    return (
        f"MAP of metroqnet calibrate (seed {result.seed}) against the published numbers; posterior median "
        f"{marginal.median:.4g}, 68% [{marginal.low_68:.4g}, {marginal.high_68:.4g}] in the prior "
        f"[{marginal.prior_low:g}, {marginal.prior_high:g}] ({marginal.scale}); {status}"
    )


def _links_out(result: CalibrationResult) -> dict[str, object]:
    """The leave-one-link-out block, where the run made it (absent otherwise: the file is unchanged)."""
    if result.links_out is None:
        return {}
    rows = [p.as_dict() for p in result.links_out]
    return {"links_out": {"inside_2sigma": sum(p.inside_2sigma for p in result.links_out), "numbers": len(rows),
                          "rows": rows, "refits": list(result.links_out_refits)}}


def calibration_file(result: CalibrationResult) -> Calibration:
    """The values the file applies (the MAP, each with its posterior in the reason) and the whole report."""
    values = {key: (value, _reason(result, key)) for key, value in result.map_values.items()}
    inside, total = result.inside_2sigma()
    fit_rows = []
    for target in result.targets:
        if target.key in result.map_predictions:
            value = result.map_predictions[target.key]
            fit_rows.append({
                "key": target.key, "label": target.label, "setting": target.setting, "paper": target.value,
                "error": target.error, "map": value, "z": (value - target.value) / target.error,
                "posterior_sd": result.posterior_sd.get(target.key),
                "in_likelihood": target.in_likelihood,
            })
    report = {
        "settings": {"seed": result.seed, **result.settings.as_dict(), "map_random_starts": MAP_STARTS,
                     "loop_grid_points": GRID_POINTS, "derived_samples": DERIVED_SAMPLES,
                     "pareto_k_limit": PARETO_K_LIMIT},
        "priors": {p.key: {"low": p.low, "high": p.high, "scale": p.scale, "reason": p.reason} for p in result.priors},
        "targets": [t.as_dict() for t in result.targets],
        "fit": {"log_posterior_at_map": result.map.log_prob, "chi2_at_map": result.map_chi2,
                "numbers_in_likelihood": sum(t.in_likelihood for t in result.targets),
                "estimated_values": len(result.priors), "rows": fit_rows},
        "posterior": [m.as_dict() for m in result.marginals],
        "identifiability": {
            "thresholds": {"determined": DETERMINED, "free": FREE},
            "fisher_directions": [d.as_dict() for d in result.fisher_directions],
            "link_quantities": [q.as_dict() for q in result.link_quantities],
        },
        "leave_one_out": {"inside_2sigma": inside, "numbers": total, "rows": [p.as_dict() for p in result.leave_one_out],
                          "refits": list(result.refits), **_links_out(result)},
        "not_fitted": {"reason": result.links_reason, "rows": [p.as_dict() for p in result.not_fitted]},
        "diagnostics": {"chain": result.chain, "map": {"starts": result.map.starts, "evaluations": result.map.evaluations},
                        "loop_table": result.table, "loop_at_map_minus_table_deg": result.loop_check},
        "versions": {**versions(), "scipy_version": scipy.__version__, "emcee_version": emcee.__version__},
    }
    return Calibration(network=result.network, procedure=PROCEDURE, values=values, report=report)
