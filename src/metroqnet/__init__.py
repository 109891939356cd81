"""metroqnet: digital twin and design tool for metropolitan quantum networks.

For a notebook::

    import metroqnet as mq

    network = mq.load_preset("hefei2024")                  # every value tagged paper/estimated/...
    params = mq.link_parameters(network, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    result = mq.evaluate_link(params)                      # exact; result.to_dataframe()
    record = mq.LinkSampler(params, link="alice-bob").sample(10**8, seed=1)
    analysis = mq.analyze_counts(record)                   # figures ± standard errors

The names below are loaded on first use, so ``import metroqnet`` stays light.
Layers (a module imports only from layers listed before its own): ``config``,
``noise``, ``physics``, ``analysis`` (only ``config`` below it, never a simulator:
it runs on a lab's counts), ``link``, ``sampling``, ``control``, ``experiments``,
``cli``; ``tests/test_import_direction.py`` checks this.
"""

from __future__ import annotations

import importlib
from typing import Any

from metroqnet.config.versions import __version__

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # networks and their values
    "ConfigError": "metroqnet.config.errors",
    "load_preset": "metroqnet.config.presets",
    "load_network": "metroqnet.config.presets",
    "available_presets": "metroqnet.config.presets",
    "parse_override": "metroqnet.config.presets",
    "Override": "metroqnet.config.presets",
    "value_rows": "metroqnet.config.listing",
    "read_calibration": "metroqnet.config.calibration_file",
    "NetworkHardware": "metroqnet.config.hardware",
    "LinkParameters": "metroqnet.config.link_parameters",
    "strong_id": "metroqnet.config.identity",
    # the link, exactly
    "link_parameters": "metroqnet.experiments.link_setup",
    "experiment_link_parameters": "metroqnet.experiments.link_setup",
    "evaluate_link": "metroqnet.link.evaluate",
    "evaluate_links": "metroqnet.link.batch",
    "first_order": "metroqnet.link.closed_form",
    # counts, simulated or a lab's
    "CountRecord": "metroqnet.analysis.records",
    "read_counts": "metroqnet.analysis.count_files",
    "write_counts": "metroqnet.analysis.count_files",
    "read_events": "metroqnet.analysis.events",
    "write_events": "metroqnet.analysis.events",
    "analyze_counts": "metroqnet.analysis.uncertainty",
    "density_matrix": "metroqnet.analysis.uncertainty",
    "density_matrices": "metroqnet.analysis.density_matrix",
    # Monte Carlo
    "LinkSampler": "metroqnet.sampling.link_sampler",
    "GaussianPhase": "metroqnet.sampling.phase_processes",
    "FixedPhase": "metroqnet.sampling.phase_processes",
    "OffsetPhase": "metroqnet.sampling.phase_processes",
    "simulate_link": "metroqnet.experiments.simulation",
    # the control loops and the paper's experiments
    "PhaseLoop": "metroqnet.control.phase_loop",
    "LoopPhaseProcess": "metroqnet.control.loop_phase_process",
    "stabilization_setup": "metroqnet.experiments.phase_stabilization",
    "run_fig2": "metroqnet.experiments.fig2_data",
    "fig3_density": "metroqnet.experiments.fig3_density",
    "theta_scan": "metroqnet.experiments.theta_scan",
    "reproduce_link_experiments": "metroqnet.experiments.hefei_link",
    "calibrate": "metroqnet.experiments.calibration",
    "calibration_file": "metroqnet.experiments.calibration",
    "map_fit": "metroqnet.experiments.calibration",
}
#: Names whose defining function is spelled otherwise in its module.
_ALIASES = {
    "link_parameters": "link_parameters_from_loop",  # σ_res from the loop; physics.mapping's takes it explicitly
    "read_counts": "read_count_file",
    "write_counts": "write_count_file",
    "read_events": "read_event_file",
    "write_events": "write_event_file",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'metroqnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
