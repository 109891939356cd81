"""The calibration's report as plain-text tables, read from a calibration file's content (format 2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metroqnet.cli.tables import paper_text
from metroqnet.config.calibration_file import Calibration


def _short(key: str) -> str:
    """``nodes.*.FIELD`` -> ``FIELD``, ``nodes.NAME.FIELD`` -> ``FIELD[NAME]``; other key paths as they are."""
    parts = key.split(".")
    if parts[0] == "nodes" and len(parts) == 3:
        return parts[2] if parts[1] == "*" else f"{parts[2]}[{parts[1]}]"
    return key


def _number(value: object, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.{digits}g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, last_left: bool = False
           ) -> list[str]:
    """Columns padded to their widths; the first ``left`` columns (and the last, if ``last_left``) left-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    count = len(widths)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if i < left or (last_left and i == count - 1) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *[line(row) for row in rows]]


def format_posterior(report: Mapping[str, object]) -> list[str]:
    rows = []
    for m in report["posterior"]:  # type: ignore[union-attr]
        rows.append([
            _short(m["key"]), _number(m["map"]), _number(m["median"]),
            f"[{_number(m['low_68'])}, {_number(m['high_68'])}]",
            f"[{m['prior_low']:g}, {m['prior_high']:g}] {m['scale']}", f"{m['width_ratio']:.2f}",
        ])
    return [
        "Posterior of the estimated values (nodes.* values apply to every node, FIELD[NAME] to node NAME alone)",
        *_table(["value", "MAP", "median", "68% interval", "prior", "width"], rows),
        "width: the 68% interval over the prior's; near 1 the data say nothing about that value alone",
    ]


def format_fit(report: Mapping[str, object]) -> list[str]:
    fit = report["fit"]
    rows = [[r["setting"], r["label"], _number(r["paper"]), _number(r["error"], 2), _number(r["map"]),
             f"{r['z']:+.2f}" + ("" if r["in_likelihood"] else " *")] for r in fit["rows"]]  # type: ignore[index]
    return [
        f"Fit at the MAP: chi2 {fit['chi2_at_map']:.2f} for {fit['numbers_in_likelihood']} numbers and "  # type: ignore[index]
        f"{fit['estimated_values']} values -- these are FITTED, not predictions (see leave-one-out)",  # type: ignore[index]
        *_table(["setting", "number", "paper", "error", "MAP", "z"], rows, left=2),
        "* recomputes another number (same measurement): not in the likelihood",
    ]


def format_identifiability(report: Mapping[str, object]) -> list[str]:
    ident = report["identifiability"]
    thresholds = ident["thresholds"]  # type: ignore[index]
    rows = []
    for d in ident["fisher_directions"]:  # type: ignore[index]
        powers = sorted(d["powers"].items(), key=lambda item: -abs(item[1]))
        name = " · ".join(f"{_short(k)}^{v:+.2f}" for k, v in powers if abs(v) >= 0.1)
        rows.append([d["status"], "inf" if d["ratio"] is None else f"{d['ratio']:.3g}",
                     "-" if d["data_sd"] is None else f"{d['data_sd']:.3g}", name])
    lines = [
        "Identifiability: Fisher eigendirections at the MAP, in ln coordinates (a direction is a product of powers)",
        *_table(["status", "data/prior", "data sd (ln)", "combination"], rows, left=1, last_left=True),
        f"determined: data/prior <= {thresholds['determined']:g}; constrained: <= {thresholds['free']:g}; free: above "
        "(the prior, not the data, sets it)",
        "",
        "Link quantities over the posterior (what the numbers act through)",
    ]
    rows = [[q["setting"], q["name"], _number(q["median"]), f"[{_number(q['low_68'])}, {_number(q['high_68'])}]",
             f"±{100 * q['relative_width']:.1f}%"] for q in ident["link_quantities"]]  # type: ignore[index]
    return lines + _table(["setting", "quantity", "median", "68% interval", "relative"], rows, left=2)


def _prediction_rows(rows: Sequence[Mapping[str, object]]) -> list[list[str]]:
    out = []
    for r in rows:
        paper = _number(r["paper"]) + ("" if r.get("error") is None else f" ± {_number(r['error'], 2)}")
        if r.get("error_source") == "stated":
            paper += " s"
        k, h = r.get("pareto_k"), r.get("leverage")
        method = str(r["method"]) + ("" if k is None else f" k={k:.2f}") + ("" if h is None else f" h={h:.2f}")
        out.append([str(r["setting"]), str(r["label"]), paper, f"{_number(r['mean'])} ± {_number(r['sd'], 2)}",
                    f"[{_number(r['low_68'])}, {_number(r['high_68'])}]",
                    f"[{_number(r['low_2sigma'])}, {_number(r['high_2sigma'])}]",
                    f"{r['z']:+.2f}" if r.get("z") is not None else "-", "yes" if r["inside_2sigma"] else "NO",
                    method])
    return out


PREDICTION_HEADER = ["setting", "number", "paper", "predicted", "68% interval", "2σ interval", "z", "in 2σ", "method"]


def format_leave_one_out(report: Mapping[str, object]) -> list[str]:
    loo = report["leave_one_out"]
    lines = [
        "Leave-one-out: each published number predicted by the fit that excludes it (the honest 'predicted' column)",
        *_table(PREDICTION_HEADER, _prediction_rows(loo["rows"]), left=2, last_left=True),  # type: ignore[index]
        f"inside 2σ: {loo['inside_2sigma']} of {loo['numbers']}   (s: the paper prints no error; the preset states "  # type: ignore[index]
        "one, with its reason; predicted: mean ± sd of the measured value, the number's own error included)",
    ]
    refits = loo.get("refits") or []  # type: ignore[union-attr]
    if refits:
        lines.append("refitted (Pareto k or leverage h above its limit): "
                     + "; ".join(", ".join(r["left_out"]) for r in refits))
    by_link = loo.get("links_out")  # type: ignore[union-attr]
    if by_link:
        lines += [
            "",
            "Leave-one-link-out: each published link's numbers predicted by a refit without any of them",
            *_table(PREDICTION_HEADER, _prediction_rows(by_link["rows"]), left=2, last_left=True),
            f"inside 2σ: {by_link['inside_2sigma']} of {by_link['numbers']} (a number left out alone keeps its "
            "other sign and its link's C or C~ in the fit; this leaves the whole link out)",
        ]
    return lines


def format_not_fitted(report: Mapping[str, object]) -> list[str]:
    block = report.get("not_fitted") or {}
    rows = block.get("rows") or []  # type: ignore[union-attr]
    if not rows:
        return []
    inside = sum(1 for r in rows if r["inside_2sigma"])
    return [
        "Outside the fit (predicted from the full posterior; not in the likelihood)",
        *_table(PREDICTION_HEADER, _prediction_rows(rows), left=2, last_left=True),
        f"inside 2σ: {inside} of {len(rows)}. Why outside the fit: {block.get('reason') or '-'}",  # type: ignore[union-attr]
    ]


def format_107us(report: Mapping[str, object], experiment: str = "storage_107us") -> list[str]:
    """The 107 µs run's numbers: paper, fitted (MAP) and predicted (leave-one-out)."""
    fit = {r["key"]: r for r in report["fit"]["rows"]}  # type: ignore[index]
    rows = []
    for r in report["leave_one_out"]["rows"]:  # type: ignore[index]
        if r["setting"] != experiment:
            continue
        paper = _number(r["paper"]) + ("" if r.get("error") is None else f" ± {_number(r['error'], 2)}")
        map_row = fit.get(r["key"])
        rows.append([r["label"], paper, "-" if map_row is None else f"{_number(map_row['map'])} ({map_row['z']:+.1f}σ)",
                     f"{_number(r['mean'])} ± {_number(r['sd'], 2)} ({r['z']:+.1f}σ)",
                     "yes" if r["inside_2sigma"] else "NO"])
    if not rows:
        return []
    return [f"The {experiment} run with its declared settings: fitted (MAP) and predicted (leave-one-out)",
            *_table(["number", "paper", "fitted (MAP)", "predicted", "in 2σ"], rows)]


def format_table1(report: Mapping[str, object]) -> list[str]:
    """Table 1's numbers of every link: paper, fitted (MAP) and predicted (leave-one-out, or posterior if outside)."""
    fit = {r["key"]: r for r in report["fit"]["rows"]}  # type: ignore[index]
    block = report.get("not_fitted") or {}
    predicted = [*report["leave_one_out"]["rows"], *(block.get("rows") or [])]  # type: ignore[index, union-attr]
    rows = []
    for r in predicted:
        if not str(r["key"]).startswith("links."):
            continue
        paper = _number(r["paper"]) + ("" if r.get("error") is None else f" ± {_number(r['error'], 2)}")
        map_row = fit.get(r["key"])
        rows.append([str(r["setting"]).removeprefix("table1 "), r["label"], paper,
                     "-" if map_row is None else f"{_number(map_row['map'], 3)} ({map_row['z']:+.1f}σ)",
                     f"{_number(r['mean'], 3)} ± {_number(r['sd'], 2)} ({r['z']:+.1f}σ)",
                     "yes" if r["inside_2sigma"] else "NO", str(r["method"])])
    if not rows:
        return []
    inside = sum(1 for row in rows if row[5] == "yes")
    return ["Table 1, every link at the 5 µs run's settings: fitted (MAP) and predicted (leave-one-out)",
            *_table(["link", "number", "paper", "fitted (MAP)", "predicted", "in 2σ", "how"], rows, left=2,
                    last_left=True),
            f"inside 2σ: {inside} of {len(rows)} (the model gives Ψ+ and Ψ- the same value: one number per link and "
            "figure, against the paper's two)"]


def format_calibration_report(calibration: Calibration, *, path: str | None = None) -> str:
    report = calibration.report
    settings = report.get("settings", {})
    chain = report.get("diagnostics", {}).get("chain", {})  # type: ignore[union-attr]
    lines = [
        f"{calibration.network}: calibration (seed {settings.get('seed')}), "  # type: ignore[union-attr]
        f"{settings.get('walkers')} walkers x {settings.get('steps')} steps ({settings.get('burn_in')} burn-in); "  # type: ignore[union-attr]
        f"acceptance {_number(chain.get('acceptance'), 2)}, autocorrelation {_number(chain.get('autocorrelation_steps'), 3)} "
        f"steps, ~{_number(chain.get('effective_samples'), 3)} effective samples",
        "",
    ]
    for block in (format_posterior, format_fit, format_identifiability, format_leave_one_out, format_not_fitted,
                  format_table1, format_107us):
        part = block(report)
        if part:
            lines += [*part, ""]
    loop = report.get("diagnostics", {}).get("loop_at_map_minus_table_deg")  # type: ignore[union-attr]
    if loop:
        lines.append("loop table at the MAP (interpolated minus a loop run, deg): "
                     + ", ".join(f"{k} {v:+.3f}" for k, v in loop.items()))
    if path is not None:
        lines.append(f"apply it to any command with --calibration {path} (values tagged 'calibrated')")
    return "\n".join(lines).rstrip()


def format_map_fit(fit) -> str:
    """The MAP values of ``reproduce --calibrate`` beside the preset's estimates and the priors."""
    rows = []
    for prior in fit.priors:
        estimated = fit.estimated.get(prior.key)
        rows.append([_short(prior.key), _number(estimated), _number(fit.values[prior.key]),
                     f"[{prior.low:g}, {prior.high:g}] {prior.scale}"])
    return "\n".join([
        f"calibration: MAP of the published numbers within the priors (seed {fit.seed}), chi2 {fit.chi2:.2f}; "
        "values tagged 'calibrated' (nodes.* values apply to every node, FIELD[NAME] to node NAME alone)",
        *_table(["value", "estimated", "MAP", "prior"], rows),
    ])


def format_reproduction_with_predictions(network, rows, predictions: Mapping[tuple[str, str], Mapping[str, object]],
                                         *, title: str = "") -> str:
    """Model beside paper with the calibration file's prediction (leave-one-out, or posterior outside the fit)."""
    suffix = f", {title}" if title else ""
    table = []
    for row in rows:
        paper = paper_text(row)
        found = predictions.get((row.experiment, row.figure))
        predicted = "-" if found is None else f"{_number(found['mean'])} ± {_number(found['sd'], 2)}"
        inside = "" if found is None else ("yes" if found["inside_2sigma"] else "NO")
        method = "" if found is None else str(found["method"])
        table.append([row.experiment, row.figure, f"{row.model:.4g}", paper, predicted, inside, method])
    return "\n".join([
        f"{network.name}: exact link model beside the published numbers{suffix}",
        "",
        *_table(["experiment", "figure", "model", "paper", "predicted", "in 2σ", "how"], table, left=2),
        "",
        "predicted: the calibration file's leave-one-out prediction (the number left out of the fit), or for a number "
        "outside the fit its prediction from the posterior; model: this network's value (fitted where calibrated)",
    ])
