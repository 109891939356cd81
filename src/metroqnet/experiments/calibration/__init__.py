"""The calibration: every published number's likelihood as a function of the preset's estimated values.

``calibrate(network, seed=...)`` runs the whole procedure (:mod:`.procedure`): the priors
and published numbers of the network file, the phase loop tabulated over its prior, the
MAP, the Fisher eigendirections, posterior samples (emcee) and leave-one-out predictions.
``calibration_file(result)`` turns the result into a calibration file's content
(:mod:`metroqnet.config.calibration_file`); ``map_fit`` is the MAP alone
(``metroqnet reproduce --calibrate``). The method, the priors and the findings are in
``docs/calibration.md``.

With the loop tabulated and the links batched, no fitted number is ever a prediction: the
leave-one-out column is the prediction of each number by a fit that did not see it.
"""

from metroqnet.experiments.calibration.model import ForwardModel, with_values
from metroqnet.experiments.calibration.procedure import (
    CalibrationResult,
    MapFit,
    calibrate,
    calibration_setup,
    map_fit,
)
from metroqnet.experiments.calibration.report import PROCEDURE, calibration_file
from metroqnet.experiments.calibration.sampling import SamplerSettings
from metroqnet.experiments.calibration.targets import Target, calibration_targets

__all__ = [
    "PROCEDURE",
    "CalibrationResult",
    "ForwardModel",
    "MapFit",
    "SamplerSettings",
    "Target",
    "calibrate",
    "calibration_file",
    "calibration_setup",
    "calibration_targets",
    "map_fit",
    "with_values",
]
