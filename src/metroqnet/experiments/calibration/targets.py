"""The published numbers a calibration fits: each with its one-sigma error and the model quantity it is compared with.

Keys name a number where the ``[published]`` section holds it:
``experiments.NAME.FIGURE`` (a declared experiment's figure) and
``links.NAME.FIGURE`` (a published link's C or C̃, at the setting of Table 1's run,
:data:`metroqnet.experiments.hefei_link.TABLE1_EXPERIMENT`).

In the fit: every published figure of a declared link experiment, the residual phase
of a declared stabilization experiment, and the C and C̃ of the links the
``[calibration]`` section names. A number in the fit needs an error: printed by the
paper, or stated in the preset with ``error_reason`` (where the paper prints none).
The other published links are *not fitted*: the calibration predicts them from the
posterior and shows them beside the paper, outside the likelihood.

A number the ``[calibration.same_measurement]`` table names as another one recomputed
(the entangling rate = heralding probability × repetition rate) stays out of the
likelihood, so one measurement counts once; it is predicted like every other number.
"""

from __future__ import annotations

from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.published import PublishedValue
from metroqnet.experiments.hefei_link import EXPERIMENT_FIGURES, LINK_FIGURES, TABLE1_EXPERIMENT

#: The reproduction's label of Fig. 2b's residual as the additional probe reads it (hefei_link.residual_rows).
RESIDUAL_PROBE_LABEL = "residual σ, probe (deg)"

#: Published experiment figure -> (label, model quantity). Quantities of a link evaluation:
#: ``herald_probability``, ``noise_herald_fraction``, ``entangling_rate_hz``, ``pme_rate_hz`` and
#: ``FIGURE:SIGN`` of the per-sign figures; ``residual_probe_deg`` is the loop's (stabilization experiments).
_LABELS = {attribute: label for label, attribute, _ in (*EXPERIMENT_FIGURES, *LINK_FIGURES)}
EXPERIMENT_QUANTITIES = {
    "heralding_probability": (_LABELS["heralding_probability"], "herald_probability"),
    "herald_noise_fraction": (_LABELS["herald_noise_fraction"], "noise_herald_fraction"),
    "entangling_rate_hz": (_LABELS["entangling_rate_hz"], "entangling_rate_hz"),
    "pme_fidelity_plus": (_LABELS["pme_fidelity_plus"], "fidelity:plus"),
    "pme_fidelity_minus": (_LABELS["pme_fidelity_minus"], "fidelity:minus"),
    "pme_rate_hz": (_LABELS["pme_rate_hz"], "pme_rate_hz"),
    "residual_phase_std_deg": (RESIDUAL_PROBE_LABEL, "residual_probe_deg"),
}
LINK_QUANTITIES = {
    "concurrence_plus": (_LABELS["concurrence_plus"], "concurrence:plus"),
    "concurrence_minus": (_LABELS["concurrence_minus"], "concurrence:minus"),
    "atomic_concurrence_plus": (_LABELS["atomic_concurrence_plus"], "atomic_concurrence:plus"),
    "atomic_concurrence_minus": (_LABELS["atomic_concurrence_minus"], "atomic_concurrence:minus"),
}
LOOP_QUANTITY = "residual_probe_deg"


@dataclass(frozen=True)
class Target:
    """One published number: its value and error, and where the model computes it.

    ``experiment`` and ``nodes`` give the setting the model evaluates (a link
    experiment's storage, rate and herald scale with ``nodes``; a stabilization
    experiment's loop). ``error_reason`` is set when the error is the preset's, not the
    paper's. ``same_as`` names the number this one recomputes (then it is not in the
    likelihood); ``fitted`` is False for a number only predicted.
    """

    key: str
    label: str
    setting: str
    value: float
    error: float | None
    error_reason: str | None
    quantity: str
    experiment: str
    nodes: tuple[str, str]
    fitted: bool = True
    same_as: str | None = None

    @property
    def in_likelihood(self) -> bool:
        return self.fitted and self.same_as is None

    @property
    def error_source(self) -> str:
        return "paper" if self.error_reason is None else "stated"

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key, "label": self.label, "setting": self.setting, "value": self.value, "error": self.error,
            "error_source": self.error_source, "error_reason": self.error_reason, "fitted": self.fitted,
            "same_measurement_as": self.same_as, "in_likelihood": self.in_likelihood,
        }


def _target(key: str, label: str, setting: str, published: PublishedValue, quantity: str, experiment: str,
            nodes: tuple[str, str], *, fitted: bool, same_as: str | None) -> Target:
    if fitted and not published.error:
        raise ConfigError.at(
            f"published.{key}", f"{published.value!r} has no error; a number in the calibration's likelihood needs "
            "one: give the paper's, or state one with error_reason saying why that size"
        )
    return Target(key=key, label=label, setting=setting, value=float(published.value),
                  error=None if published.error is None else float(published.error),
                  error_reason=published.error_reason, quantity=quantity, experiment=experiment, nodes=nodes,
                  fitted=fitted, same_as=same_as)


def calibration_targets(network: NetworkHardware) -> tuple[Target, ...]:
    """Every published number of ``network`` as a :class:`Target`, in the order of the file."""
    published = network.published
    if published is None:
        raise ConfigError.at("published", f"network {network.name!r} has no [published] section to calibrate against")
    priors = network.calibration
    same = {} if priors is None else {key: entry.same_as for key, entry in priors.same_measurement.items()}
    fitted_links = () if priors is None else priors.links
    targets: list[Target] = []
    for name, figures in published.experiments.items():
        experiment = network.experiment(name)
        if experiment.nodes is None:
            raise ConfigError.at(f"experiments.{name}.nodes", "not declared; a fitted experiment needs its node pair")
        for figure, (label, quantity) in EXPERIMENT_QUANTITIES.items():
            value = getattr(figures, figure)
            if value is None:
                continue
            if (quantity == LOOP_QUANTITY) != (experiment.kind == "stabilization"):
                raise ConfigError.at(
                    f"published.experiments.{name}.{figure}",
                    f"a {experiment.kind!r} experiment has no {label!r} in the model",
                )
            key = f"experiments.{name}.{figure}"
            targets.append(_target(key, label, name, value, quantity, name, experiment.nodes, fitted=True,
                                   same_as=same.get(key)))
    for name, link in published.links.items():
        fitted = name in fitted_links
        if TABLE1_EXPERIMENT not in network.experiments:
            raise ConfigError.at(
                f"published.links.{name}", f"the link figures are evaluated at experiment {TABLE1_EXPERIMENT!r}, "
                "which the network does not declare"
            )
        for figure, (label, quantity) in LINK_QUANTITIES.items():
            value = getattr(link, figure)
            if value is None:
                continue
            key = f"links.{name}.{figure}"
            setting = "table1 " + "-".join(link.nodes)  # as the reproduction names the row
            targets.append(_target(key, label, setting, value, quantity, TABLE1_EXPERIMENT, link.nodes,
                                   fitted=fitted, same_as=same.get(key) if fitted else None))
    keys = {target.key for target in targets if target.in_likelihood}
    for target in targets:
        if target.same_as is not None and target.same_as not in keys:
            raise ConfigError.at(
                f"calibration.same_measurement.{target.key}.as",
                f"{target.same_as!r} is not a number in the likelihood; name one that is",
            )
    if not keys:
        raise ConfigError.at("published", f"network {network.name!r} publishes no number the calibration can fit")
    return tuple(targets)
