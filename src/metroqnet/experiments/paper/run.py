"""Run every section of the paper, keep what each makes, survive a section that fails.

Each section gets the network (the preset as estimated, or with the calibration's MAP values
applied once the calibration section has run), its own child stream of the seed
(:data:`SECTION_STREAMS`), the output folder and the run's size (:class:`RunSize`: the paper's
statistics, or ``quick``). It returns a :class:`SectionResult` (rows, figures, data files, notes);
an exception in one section is recorded on it (``error``) and the others still run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from metroqnet.config.calibration_file import Calibration, calibration_text
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import prepare_output_folder, write_text_file
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, child, seed_record, seed_sequence
from metroqnet.config.versions import versions
from metroqnet.experiments.paper.numbers import (
    NumberRow, calibration_rows, calibration_sd, combined_error, prediction_quality, rows_csv,
)
from metroqnet.experiments.plot_files import plot_or_note

#: Each section's child stream of the run's seed (fixed keys: adding a section changes no other's draws).
SECTION_STREAMS = {"calibration": 0, "fig2": 1, "fig4": 2, "table1": 3, "fig3": 4, "network": 5, "timing": 6}
#: The link experiments of Fig. 3 (storage 5 µs and 107 µs, Alice–Bob).
FIG3_EXPERIMENTS = ("storage_5us", "storage_107us")
#: (figure label, the analysis' estimate, sign, the published field) of a link experiment's simulated run.
LINK_NUMBERS = (
    ("heralding probability", "herald_probability", None, "heralding_probability"),
    ("entangling rate (Hz)", "entangling_rate_hz", None, "entangling_rate_hz"),
    ("PME fidelity Ψ+", "fidelity", "plus", "pme_fidelity_plus"),
    ("PME fidelity Ψ-", "fidelity", "minus", "pme_fidelity_minus"),
    ("PME rate (Hz)", "pme_rate_hz", None, "pme_rate_hz"),
)


@dataclass(frozen=True)
class RunSize:
    """How much each section simulates: the paper's statistics (:data:`FULL`) or a quick look (:data:`QUICK`)."""

    name: str
    walkers: int
    steps: int
    refit_steps: int
    fig2_trials: int
    fig2_hours: float | None  # None: the experiment's duration (76 h)
    theta_trials: int
    link_run_scale: float
    network_hours: float  # the link runs' trials over the paper's (estimated) run length


FULL = RunSize(name="full", walkers=32, steps=1200, refit_steps=600, fig2_trials=100_000, fig2_hours=None,
               theta_trials=100_000_000, link_run_scale=1.0, network_hours=100.0)
QUICK = RunSize(name="quick", walkers=26, steps=120, refit_steps=60, fig2_trials=10_000, fig2_hours=0.5,
                theta_trials=5_000_000, link_run_scale=0.1, network_hours=10.0)


@dataclass
class SectionResult:
    name: str
    title: str
    rows: list[NumberRow] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Context:
    network: NetworkHardware
    folder: Path
    size: RunSize
    seed: Seed
    calibration: Calibration | None = None
    progress: Callable[[str], None] | None = None
    #: stage(description, total) -> advance(n): a progress bar for a long step (the CLI's; None shows nothing)
    stage: Callable[[str, int], Callable[[int], None]] | None = None

    def advance(self, description: str, total: int) -> Callable[[int], None] | None:
        return None if self.stage is None else self.stage(description, total)

    def stream(self, section: str):
        return child(self.seed, SECTION_STREAMS[section])

    def model_error(self, key: str, stderr: float | None, role: str) -> float | None:
        """A simulated number's error: for a calibrated one, the calibration's sd of it added in quadrature."""
        if role != "calibrated" or self.calibration is None:
            return stderr
        return combined_error(stderr, calibration_sd(self.calibration.report).get(key))


@dataclass
class PaperRun:
    network: str
    size: str
    seed: dict[str, object]
    sections: list[SectionResult]
    versions: dict[str, str]

    @property
    def rows(self) -> list[NumberRow]:
        return [row for section in self.sections for row in section.rows]

    @property
    def failed(self) -> list[SectionResult]:
        return [section for section in self.sections if section.error is not None]

    def summary(self) -> dict[str, object]:
        return {"network": self.network, "size": self.size, "seed": self.seed,
                "quality": prediction_quality(self.rows),
                "sections": [{"name": s.name, "title": s.title, "error": s.error,
                              "figures": [p.name for p in s.figures], "files": [p.name for p in s.files],
                              "notes": s.notes} for s in self.sections],
                **self.versions}


def _changes(context: Context, baseline: NetworkHardware) -> SectionResult:
    """The section a ``--set`` run leads with: what differs from the preset, and what it moves."""
    from metroqnet.experiments.paper.changes import figure_changes, parameter_changes

    result = SectionResult(name="changes", title="What the changed values do (exact figures at the preset and "
                           "at the changed values)")
    start = time.perf_counter()
    try:
        if context.calibration is not None:
            baseline = with_calibration(baseline, context.calibration)
        result.tables["parameter_changes"] = parameter_changes(baseline, context.network)
        result.tables["figure_changes"] = figure_changes(baseline, context.network)
        path = context.folder / "changes.json"
        write_text_file(path, json.dumps(result.tables, indent=2, default=str) + "\n", what="--out")
        result.files.append(path)
        if not result.tables["parameter_changes"]:
            result.notes.append("No value differs from the preset's (the --set values equal the preset's, or the "
                                "calibration sets them).")
    except Exception as error:  # reported on the page like any section's failure
        result.error = f"{type(error).__name__}: {error}"
    result.seconds = time.perf_counter() - start
    return result


def with_calibration(network: NetworkHardware, calibration: Calibration) -> NetworkHardware:
    """``network`` with the calibration's values, tagged ``calibrated`` with their reasons."""
    from metroqnet.experiments.calibration.model import with_values

    values = {key: value for key, (value, _) in calibration.values.items()}
    reasons = {key: reason for key, (_, reason) in calibration.values.items()}
    return with_values(network, values, reason=reasons)


def _calibration(context: Context, result: SectionResult) -> None:
    from metroqnet.experiments.calibration import SamplerSettings, calibrate, calibration_file

    size = context.size
    settings = SamplerSettings(walkers=size.walkers, steps=size.steps, refit_steps=size.refit_steps)
    seed = int(context.stream("calibration").generate_state(1)[0])
    calibration = calibration_file(calibrate(context.network, seed=seed, settings=settings, stage=context.stage))
    path = write_text_file(context.folder / "calibration.json", calibration_text(calibration), what="--out")
    result.files.append(path)
    result.rows += calibration_rows(calibration.report)
    result.tables["posterior"] = list(calibration.report.get("posterior", []))
    result.notes.append(f"emcee: {size.walkers} walkers × {size.steps} steps (seed {seed}); the MAP values are "
                        "applied to every later section")
    context.calibration = calibration
    context.network = with_calibration(context.network, calibration)


def _fig2(context: Context, result: SectionResult) -> None:
    from metroqnet.experiments.fig2_data import fig2_trials, run_fig2, write_fig2
    from metroqnet.experiments.phase_stabilization import stabilization_setup

    setup = stabilization_setup(context.network)
    hours = context.size.fig2_hours if context.size.fig2_hours is not None else setup.duration_h
    trials = context.size.fig2_trials
    fig = run_fig2(setup, trials=trials, hours=hours, seed=context.stream("fig2"),
                   progress=context.advance("Fig. 2 (trials)", fig2_trials(setup, trials=trials, hours=hours)))
    written, notes = write_fig2(fig, context.folder / "fig2", overwrite=True)
    result.figures += [path for path in written if path.suffix == ".png"]
    result.files += [path for path in written if path.suffix != ".png"]
    result.notes += notes
    summary = fig.summary()
    published = summary.get("published_residual_std_deg") or {}
    measured_deg = float(summary["residual_std_deg_measured"])
    role = "calibrated" if context.calibration is not None else "model"
    # a Gaussian sample's sd from n draws has a standard error of sd / sqrt(2 n)
    counting_deg = measured_deg / math.sqrt(2 * fig.stabilized.trials) if fig.stabilized.trials else None
    result.rows.append(NumberRow(
        experiment=setup.experiment, figure="residual σ, probe (deg), simulated", key="fig2.residual_std_deg_measured",
        model=measured_deg,
        model_error=context.model_error(f"experiments.{setup.experiment}.residual_phase_std_deg", counting_deg, role),
        paper=published.get("value"), paper_error=published.get("error"), role=role, source="simulated"))
    result.rows.append(NumberRow(
        experiment=setup.experiment, figure=f"max |Δω| over {hours:g} h (kHz; the paper's is a bound, over 76 h)",
        key="fig2.max_abs_residual_khz", model=float(summary["max_abs_residual_khz"]), model_error=None,
        paper=_published(context.network, "experiments", setup.experiment, "max_frequency_offset_khz"),
        paper_error=None, role="model", source="simulated"))
    result.notes.append(f"{fig.stabilized.trials} trials per point, {hours:g} h of drift tracking; the paper: "
                        "Δω ≤ 0.15 kHz over 76 h")


def _fig4(context: Context, result: SectionResult) -> None:
    from metroqnet.experiments.theta_scan import theta_scan, write_theta_scan

    thetas = [k * math.pi / 6 for k in range(13)]
    scan = theta_scan(context.network, thetas_rad=thetas, trials_per_point=context.size.theta_trials,
                      seed=context.stream("fig4"))
    written, notes = write_theta_scan(scan, context.folder / "fig4", overwrite=True)
    result.figures += [path for path in written if path.suffix == ".png"]
    result.files += [path for path in written if path.suffix != ".png"]
    result.notes += notes
    difference = scan.as_dict().get("phase_difference", {})
    exact = (difference.get("exact_rad") or {}).get("plus")
    sampled = (difference.get("sampled_rad") or {}).get("plus")
    if exact is not None:
        result.rows.append(NumberRow(
            experiment="fig4", figure="AC − BC phase of the θ oscillation (deg), exact", key="fig4.phase_difference",
            model=math.degrees(exact), model_error=None, paper=_published(context.network, "network", "", "theta_delay_deg"),
            paper_error=None, role="model", source="exact"))
        if sampled is not None:
            result.rows.append(NumberRow(
                experiment="fig4", figure="AC − BC phase of the θ oscillation (deg), simulated",
                key="fig4.phase_difference", model=math.degrees(sampled), model_error=None,
                paper=_published(context.network, "network", "", "theta_delay_deg"), paper_error=None,
                role="model", source="simulated"))
        result.notes.append(f"Alice–Charlie minus Bob–Charlie phase of the θ oscillation: {math.degrees(exact):.1f}° "
                            "(the paper: 90°; the model gives no delay, docs/theta_scan.md says why)")


def _table1(context: Context, result: SectionResult) -> None:
    from metroqnet.experiments.table1 import PUBLISHED_FIELDS, table1

    table = table1(context.network, seed=context.stream("table1"), calibration=context.calibration)
    calibrated = context.calibration is not None
    for row in table.rows:
        if row.source == "leave-one-out":
            continue  # the calibration section gives the predictions
        role = "calibrated" if (calibrated and row.paper is not None) else "model"
        key = f"links.{row.link}.{PUBLISHED_FIELDS.get(row.figure, row.figure)}"
        result.rows.append(NumberRow(
            experiment=f"table1 {row.link}", figure=row.figure, key=key,
            model=row.model, model_error=context.model_error(key, row.model_stderr, role), paper=row.paper, paper_error=row.paper_error, role=role,
            source=row.source))
    from metroqnet.experiments.fig4_correlators import fig4_correlators, plot_fig4_correlators

    trials = {length.link: length.trials for length in table.run_lengths}
    correlators = fig4_correlators(context.network, trials=trials, seed=child(context.stream("table1"), 7))
    _write_correlators(context, result, correlators, plot_fig4_correlators, "fig4", "fig4cd_correlators")
    result.notes += list(table.notes)
    result.notes.append("run lengths estimated from the paper's errors of C: "
                        + ", ".join(f"{length.link} {length.trials:.2e} trials" for length in table.run_lengths))
    text = json.dumps({"rows": [row.as_dict() for row in table.rows],
                       "run_lengths": [length.as_dict() for length in table.run_lengths]}, indent=2, allow_nan=False)
    result.files.append(write_text_file(context.folder / "table1.json", text + "\n", what="--out"))


def paper_run_trials(params, error: float, *, sign: str = "plus") -> int:
    """Trials whose delta-method error of the PME fidelity equals the paper's ``error`` (an estimate from an error bar).

    The paper gives no trial counts; the fidelity's error scales as 1/√trials, so its printed error
    fixes the run length up to the model's own populations, as Table 1's error of C does
    (:func:`metroqnet.experiments.table1.run_length`).
    """
    from metroqnet.experiments.table1 import run_length

    return run_length(params, {sign: error}, figure="fidelity").trials


def _published(network: NetworkHardware, section: str, name: str, field_name: str) -> float | None:
    """A published value (``section`` 'experiments' with ``name``, or 'network'), None where not published."""
    published = network.published
    if published is None:
        return None
    owner = published.network if section == "network" else published.experiments.get(name)
    value = getattr(owner, field_name, None)
    return None if value is None else float(value.value)


#: HOM pulses per detuning point of Fig. 3b (the paper gives none): enough for a visible dip's error bars.
HOM_PULSES = {"full": 10_000_000, "quick": 1_000_000}


def _fig3b(context: Context, result: SectionResult) -> None:
    """Fig. 3b: the HOM dip between Alice's read-out and her EP pulse, with simulated points and a Gaussian fit."""
    from metroqnet.experiments.hom_fig3b import fig3b_table, plot_fig3b, run_fig3b

    node = next(iter(context.network.nodes))
    fig = run_fig3b(context.network, node=node, pulses=HOM_PULSES[context.size.name],
                    seed=child(context.stream("fig3"), 3))
    folder = prepare_output_folder(context.folder / "fig3", overwrite=True)
    result.files.append(write_text_file(folder / "fig3b_hom.csv", fig3b_table(fig), what="--out"))
    _add_plot(result, plot_fig3b, fig, folder / "fig3b_hom.png")
    summary = fig.summary()
    result.notes.append(
        f"Fig. 3b ({node}): g2 {summary['far_detuned_g2']:.3f} far detuned, {summary['resonant_g2']:.3f} on resonance "
        f"(thermal-coherent limit {summary['thermal_coherent_limit']:.3f}); dip width {summary['dip_width_mhz']:.2f} MHz "
        f"rms; the paper's values are not in the text (docs/hom.md)")


def _write_correlators(context: Context, result: SectionResult, figure, plot, folder_name: str, stem: str) -> None:
    """A correlator figure's CSV, JSON and PNG into the section's folder."""
    folder = prepare_output_folder(context.folder / folder_name, overwrite=True)
    result.files.append(write_text_file(folder / f"{stem}.csv", figure.to_csv(), what="--out"))
    result.files.append(write_text_file(folder / f"{stem}.json", json.dumps(figure.as_dict(), indent=2,
                                                                           allow_nan=False) + "\n", what="--out"))
    _add_plot(result, plot, figure, folder / f"{stem}.png")


def _add_plot(result: SectionResult, plot, data, path: Path) -> None:
    figures, notes = plot_or_note(plot, data, path)
    result.figures += figures
    result.notes += notes


def _fig3(context: Context, result: SectionResult) -> None:
    from metroqnet.experiments.fig3_density import fig3_density, write_fig3_density
    from metroqnet.experiments.link_setup import experiment_link_parameters
    from metroqnet.experiments.simulation import simulate_link

    network, published = context.network, context.network.published
    role = "calibrated" if context.calibration is not None else "model"
    lengths = {}
    for index, name in enumerate(FIG3_EXPERIMENTS):
        params = experiment_link_parameters(network, name)
        figures = published.experiments.get(name) if published is not None else None
        error = getattr(getattr(figures, "pme_fidelity_plus", None), "error", None)
        if error is None:
            raise ConfigError.at(f"published.experiments.{name}.pme_fidelity_plus", "no error: the run length "
                                 "cannot be estimated")
        trials = max(3, round(paper_run_trials(params, error) * context.size.link_run_scale))
        lengths[name] = trials
        analysis = simulate_link(params, trials=trials, seed=child(context.stream("fig3"), 1, index),
                                 link="-".join(network.experiment(name).nodes)).analysis
        for label, estimate, sign, field_name in LINK_NUMBERS:
            value = getattr(figures, field_name, None)
            try:
                model, stderr = analysis.estimate(estimate, sign) if sign else analysis.estimate(estimate)
            except (KeyError, ValueError):
                continue
            key, row_role = f"experiments.{name}.{field_name}", role if value is not None else "model"
            result.rows.append(NumberRow(
                experiment=name, figure=f"{label}, simulated", key=key, model=model,
                model_error=context.model_error(key, stderr, row_role), paper=None if value is None else value.value,
                paper_error=None if value is None else value.error, role=row_role, source="simulated"))
    _fig3b(context, result)
    from metroqnet.experiments.fig3_correlators import fig3_correlators, plot_fig3_correlators

    correlators = fig3_correlators(network, trials=lengths, seed=child(context.stream("fig3"), 4))
    _write_correlators(context, result, correlators, plot_fig3_correlators, "fig3", "fig3eh_correlators")
    density = fig3_density(network, trials=lengths[FIG3_EXPERIMENTS[0]], seed=child(context.stream("fig3"), 2))
    written, notes = write_fig3_density(density, context.folder / "fig3", overwrite=True)
    result.figures += [path for path in written if path.suffix == ".png"]
    result.files += [path for path in written if path.suffix != ".png"]
    result.notes += notes
    result.notes.append("run lengths estimated from the paper's errors of F (Ψ+): " + ", ".join(
        f"{name} {trials:.2e} trials" for name, trials in lengths.items())
        + (f" (× {context.size.link_run_scale:g}, quick)" if context.size.link_run_scale != 1 else "")
        + "; the density matrices of both storage times use the 5 µs run's length")


def _timing(context: Context, result: SectionResult) -> None:
    """The trial's timing: the two published rates fix T0 and the duty cycle (fitted); the round trips."""
    from metroqnet.physics.mapping import round_trip_us
    from metroqnet.physics.trial_timing import fit_cycle, repetition_rate_hz

    network = context.network
    five, long = network.experiment("storage_5us"), network.experiment("storage_107us")
    cycle = fit_cycle(five.repetition_rate_hz, five.storage_us, long.repetition_rate_hz, long.storage_us)
    for experiment in (five, long):
        rate = repetition_rate_hz(cycle.fixed_duration_us + experiment.storage_us, cycle.duty_cycle)
        result.rows.append(NumberRow(
            experiment=experiment.name, figure="repetition rate (Hz), from T0 and the duty cycle",
            key=f"experiments.{experiment.name}.repetition_rate_hz", model=rate, model_error=None,
            paper=experiment.repetition_rate_hz, paper_error=None, role="calibrated", source="exact"))
    trip = max(round_trip_us(network.node(node)) for node in long.nodes)
    result.rows.append(NumberRow(
        experiment=long.name, figure="node–server round trip (µs); the paper stores 107 µs, 'exceeding' it",
        key="storage_107us.round_trip_us", model=trip, model_error=None, paper=None, paper_error=None,
        role="model", source="exact"))
    result.notes.append(f"T0 = {cycle.fixed_duration_us:.1f} µs and duty cycle D = {cycle.duty_cycle:.3f} are fitted "
                        "to the two published rates (two equations, two unknowns): the rates are reproduced by "
                        "construction, not predicted (docs/trial_timing.md). Round trip at 5 µs/km of the estimated "
                        f"fibres: {trip:g} µs < 107 µs.")


def _network(context: Context, result: SectionResult) -> None:
    """Three links concurrently in QRNG 5.8 s slots: each link's rate against its fixed link's, AB's figures."""
    from metroqnet.experiments.network_run import run_network

    hours = context.size.network_hours
    run = run_network(context.network, hours=hours, seed=context.stream("network"), experiment="storage_5us")
    for label, link in run.links.items():
        ratio = link.rate_hz / link.fixed_link_rate_hz
        result.rows.append(NumberRow(
            experiment=f"network {label}", figure="rate / fixed-link rate (the paper: 'roughly one-third')",
            key=f"network.{label}.rate_ratio", model=ratio, model_error=link.rate_hz_stderr / link.fixed_link_rate_hz,
            paper=_published(context.network, "network", "", "link_rate_share"), paper_error=None, role="model",
            source="simulated"))
    ab = run.links.get("alice-bob")
    if ab is not None and ab.analysis is not None:
        for sign in ("plus", "minus"):
            if "concurrence" in ab.analysis.figures[sign]:
                value, error = ab.analysis.estimate("concurrence", sign)
                exact = ab.fixed_link.figures[sign].concurrence
                result.rows.append(NumberRow(
                    experiment="network alice-bob", figure=f"C Ψ{'+' if sign == 'plus' else '-'} switched "
                    f"(fixed link, exact: {exact:.4f})", key=f"network.alice-bob.concurrence_{sign}", model=value,
                    model_error=error, paper=None, paper_error=None, role="model", source="simulated"))
    text = json.dumps(run.as_dict(), indent=2, allow_nan=False)
    result.files.append(write_text_file(context.folder / "network.json", text + "\n", what="--out"))
    result.notes.append(f"{hours:g} h of QRNG switching ({run.schedule.slot_total} slots of "
                        f"{run.schedule.setting.timeslot_s:g} s); docs/network.md")


#: (name, title, function), in the order they run: the calibration first (the others use its values).
SECTIONS: tuple[tuple[str, str, Callable[[Context, SectionResult], None]], ...] = (
    ("calibration", "Calibration and leave-one-out predictions", _calibration),
    ("fig2", "Fig. 2: phase stabilization and frequency tracking", _fig2),
    ("fig3", "Fig. 3: the Alice–Bob link at 5 µs and 107 µs, density matrices", _fig3),
    ("fig4", "Fig. 4a,b: a local phase at Charlie", _fig4),
    ("table1", "Table 1 and Fig. 4c,d: the three links", _table1),
    ("network", "Concurrent generation: three links in QRNG timeslots", _network),
    ("timing", "Trial timing and repetition rates", _timing),
)


def reproduce_paper(
    network: NetworkHardware,
    *,
    out: str | Path,
    seed: Seed,
    quick: bool = False,
    overwrite: bool = False,
    calibration: Calibration | None = None,
    only: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
    stage: Callable[[str, int], Callable[[int], None]] | None = None,
    baseline: NetworkHardware | None = None,
) -> PaperRun:
    """Every section into ``out`` (data files, figures, ``numbers.csv``, ``summary.json``, ``report.html``).

    With ``calibration`` (a file already made) its values are applied and the calibration section is
    not run; ``only`` runs a subset of the sections (names of :data:`SECTIONS`); ``progress(name)`` is called
    as each section starts, ``stage(description, total)`` gives a bar's ``advance`` for its long steps.
    ``baseline`` (the network before the caller's ``--set`` changes) adds a first section with the
    values that differ and every exact figure at both (:mod:`~metroqnet.experiments.paper.changes`).
    """
    from metroqnet.experiments.paper.html import render_report

    sequence = seed_sequence(seed)
    folder = prepare_output_folder(out, overwrite=overwrite)
    names = [name for name, _, _ in SECTIONS]
    for name in only or ():
        if name not in names:
            raise ConfigError.at("only", f"{name!r} is not a section; allowed: {', '.join(names)}")
    context = Context(network=network, folder=folder, size=QUICK if quick else FULL, seed=sequence,
                      progress=progress, stage=stage)
    sections: list[SectionResult] = []
    if calibration is not None:
        context.calibration = calibration
        context.network = with_calibration(network, calibration)
        given = SectionResult(name="calibration", title="Calibration (given file) and leave-one-out predictions",
                              rows=calibration_rows(calibration.report))
        given.tables["posterior"] = list(calibration.report.get("posterior", []))
        sections.append(given)
    for name, title, run in SECTIONS:
        if (only and name not in only) or (name == "calibration" and calibration is not None):
            continue
        if progress is not None:
            progress(name)
        result = SectionResult(name=name, title=title)
        start = time.perf_counter()
        try:
            run(context, result)
        except Exception as error:  # one failed section is reported; the others' results are kept
            result.error = f"{type(error).__name__}: {error}"
            result.notes.append(traceback.format_exc(limit=4))
        result.seconds = time.perf_counter() - start
        sections.append(result)
    if baseline is not None:
        sections.insert(0, _changes(context, baseline))
    paper = PaperRun(network=network.name, size=context.size.name, seed=seed_record(sequence), sections=sections,
                     versions=versions())
    write_text_file(folder / "numbers.csv", rows_csv(paper.rows), what="--out")
    write_text_file(folder / "numbers.json", json.dumps([row.as_dict() for row in paper.rows], indent=2,
                                                        allow_nan=False) + "\n", what="--out")
    summary = {**paper.summary(), "parameters": _parameters(context.network)}
    write_text_file(folder / "summary.json", json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n",
                    what="--out")
    write_text_file(folder / "report.html", render_report(paper, folder, _parameters(context.network)), what="--out")
    return paper


def _parameters(network: NetworkHardware) -> list[dict[str, object]]:
    from metroqnet.config.listing import value_rows

    return [dataclasses.asdict(row) for row in value_rows(network)]
