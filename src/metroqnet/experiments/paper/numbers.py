"""Published numbers beside the twin's, with the role of each: predicted, calibrated or model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

#: ``predicted``: a leave-one-out prediction (the fit never saw the number); ``calibrated``: the number
#: was in the fit (its value at the MAP is fitted, not predicted); ``model``: no calibration behind it.
ROLES = ("predicted", "calibrated", "model")
#: The columns of ``numbers.csv`` and of each ``--json`` row, in order.
COLUMNS = ("experiment", "figure", "key", "model", "model_error", "paper", "paper_error", "deviation_sigma", "role",
           "source")


@dataclass(frozen=True)
class NumberRow:
    """One published number (or a twin's figure the paper does not print: ``paper`` None).

    ``model_error``: the twin's one-sigma error where it has one (a simulated run's counting error,
    a prediction's spread over the calibration's posterior); ``deviation_sigma`` is
    (model − paper) / √(paper_error² + model_error²). ``source`` says where the model value comes
    from (``exact``, ``simulated``, ``leave-one-out``, ``MAP``).
    """

    experiment: str
    figure: str
    key: str
    model: float
    model_error: float | None
    paper: float | None
    paper_error: float | None
    role: str
    source: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role: {self.role!r} is not one of {', '.join(ROLES)}")

    @property
    def deviation_sigma(self) -> float | None:
        if self.paper is None or not self.paper_error:
            return None
        spread = math.hypot(self.paper_error, self.model_error or 0.0)
        return (self.model - self.paper) / spread

    @property
    def inside_2sigma(self) -> bool | None:
        deviation = self.deviation_sigma
        return None if deviation is None else abs(deviation) <= 2.0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["deviation_sigma"] = self.deviation_sigma
        return {name: out[name] for name in COLUMNS}


def calibration_rows(report: Mapping[str, object]) -> list[NumberRow]:
    """From a calibration file's report: each number's MAP value (``calibrated``) and leave-one-out (``predicted``).

    The calibrated row's ``model_error`` is the model value's sd over the posterior (the calibration's
    uncertainty; None in a file written before the report carried it).
    The predicted row's ``model_error`` is the prediction's own spread (the model's sd over the
    refit's posterior, without the number's measurement error, which is ``paper_error``).
    """
    rows: list[NumberRow] = []
    fit = report.get("fit")
    for row in (fit.get("rows", []) if isinstance(fit, Mapping) else []):
        rows.append(NumberRow(experiment=row["setting"], figure=row["label"], key=row["key"], model=float(row["map"]),
                              model_error=_float(row.get("posterior_sd")), paper=row["paper"],
                              paper_error=row["error"], role="calibrated", source="MAP"))
    for block_name in ("leave_one_out", "not_fitted"):
        block = report.get(block_name)
        for row in (block.get("rows", []) if isinstance(block, Mapping) else []):
            rows.append(NumberRow(experiment=row["setting"], figure=row["label"], key=row["key"],
                                  model=float(row["mean"]), model_error=_float(row.get("model_sd")),
                                  paper=row["paper"], paper_error=row["error"], role="predicted",
                                  source="leave-one-out" if block_name == "leave_one_out" else "posterior"))
    return rows


def calibration_sd(report: Mapping[str, object]) -> dict[str, float]:
    """Each fitted number's model sd over the calibration's posterior, by key (empty for an older file)."""
    fit = report.get("fit")
    rows = fit.get("rows", []) if isinstance(fit, Mapping) else []
    return {row["key"]: float(row["posterior_sd"]) for row in rows if row.get("posterior_sd") is not None}


def combined_error(stderr: float | None, calibration: float | None) -> float | None:
    """A simulated figure's error: its counting error and the calibration's uncertainty, in quadrature."""
    if stderr is None and calibration is None:
        return None
    return math.hypot(stderr or 0.0, calibration or 0.0)


def _float(value: object) -> float | None:
    return None if value is None else float(value)


def prediction_quality(rows: Iterable[NumberRow]) -> dict[str, object]:
    """How many predicted numbers land within 2σ of the paper, and for each that does not, why (:func:`gap`)."""
    rows = list(rows)
    fitted = {row.key: row for row in rows if row.role == "calibrated" and row.source == "MAP"}
    predicted = [row for row in rows if row.role == "predicted" and row.deviation_sigma is not None]
    outside = [row for row in predicted if not row.inside_2sigma]
    return {"predicted": len(predicted), "inside_2sigma": len(predicted) - len(outside),
            "outside": [{"experiment": row.experiment, "figure": row.figure, "deviation_sigma": row.deviation_sigma,
                         "gap": gap(row, fitted.get(row.key))} for row in outside]}


def gap(predicted: NumberRow, fitted: NumberRow | None) -> str:
    """Where a prediction's miss comes from, read off the numbers themselves.

    With the number in the fit (``fitted``, the MAP) inside 2σ the model can reach it: if the
    prediction's spread is wider than the paper's error, the other numbers barely determine what
    this one measures (it is what pins that down in the fit); if narrower, they pull the
    prediction away (a tension within the data). Still outside 2σ at the MAP, no setting of the
    estimated values reaches it together with the others: the model lacks something this number
    measures. Not fitted at all: it is only predicted from the rest.
    """
    spread, error = predicted.model_error or 0.0, predicted.paper_error or 0.0
    text = (f"predicted {predicted.model:.4g} ± {spread:.2g} against the paper's {predicted.paper:.4g} ± {error:.2g}")
    if fitted is None or fitted.deviation_sigma is None:
        return text + "; the number is not in the fit: the model predicts it from the others only"
    at_map = f"with the number in the fit the MAP gives {fitted.model:.4g} ({fitted.deviation_sigma:+.1f}σ)"
    if not fitted.inside_2sigma:
        return text + (f"; even {at_map}: no setting of the estimated values reaches it together with the other "
                       "numbers, so the model lacks what this number measures")
    if error and spread > error:
        return text + (f"; {at_map}: the model reaches it. Without it the other numbers leave what it measures "
                       f"loosely determined (the prediction's spread is {spread / error:.1f}× the paper's error): "
                       "this number is what pins that down in the fit, not a missing mechanism")
    return text + (f"; {at_map}: the model reaches it, and the other numbers pull the prediction away (a tension "
                   "within the data, not a missing mechanism)")


def rows_csv(rows: Iterable[NumberRow]) -> str:
    """``numbers.csv``: one line per row, the :data:`COLUMNS`."""
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = row.as_dict()
        writer.writerow(["" if values[name] is None else (repr(values[name]) if isinstance(values[name], float)
                                                           else values[name]) for name in COLUMNS])
    return text.getvalue()
