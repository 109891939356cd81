"""A Monte Carlo run of one link as a lab would record it: counts (or time tags), a background run, the analysis.

:func:`simulate_link` is what ``metroqnet simulate`` calls; :meth:`LinkSimulation.write`
puts the run in a folder (never over an earlier run's files unless asked).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from metroqnet.analysis.count_files import write_count_file
from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.analysis.events import EventRecord, write_event_file
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import CountAnalysis, analyze_counts
from metroqnet.config.files import prepare_output_folder, write_text_file
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_sequence
from metroqnet.config.validation import Count, check
from metroqnet.sampling.link_sampler import LinkSampler
from metroqnet.sampling.phase_processes import PhaseProcess

#: Child streams of a simulation's seed: the run itself and the background run.
RUN_STREAM = 0
BACKGROUND_STREAM = 1
#: Every file :meth:`LinkSimulation.write` may put in its folder.
OUTPUT_FILES = ("counts.csv", "background.csv", "events.csv", "analysis.json")


@dataclass(frozen=True)
class LinkSimulation:
    """A simulated run: its counts, optional time tags and background run, and their analysis."""

    record: CountRecord
    analysis: CountAnalysis
    events: EventRecord | None = None
    background: CountRecord | None = None

    def file_names(self) -> tuple[str, ...]:
        """The files this run writes (``counts.csv``, ``analysis.json``, and the optional ones)."""
        optional = (("background.csv", self.background), ("events.csv", self.events))
        return ("counts.csv", *(name for name, part in optional if part is not None), "analysis.json")

    def write(self, directory: str | Path, *, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
        """Write the run into ``directory``; returns (files written, earlier outputs removed).

        A folder that already holds files is refused unless ``overwrite``; then this
        run's files replace the earlier ones and an earlier run's outputs that this run
        does not write (an ``events.csv`` of a run with time tags, say) are removed, so
        the folder never mixes two runs.
        """
        folder = prepare_output_folder(directory, overwrite=overwrite)
        written = [folder / name for name in self.file_names()]
        write_count_file(folder / "counts.csv", self.record)
        if self.background is not None:
            write_count_file(folder / "background.csv", self.background)
        if self.events is not None:
            write_event_file(folder / "events.csv", self.events)
        write_text_file(folder / "analysis.json", json.dumps(self.analysis.as_dict(), indent=2) + "\n",
                        what="--out")
        removed = []
        for name in OUTPUT_FILES:
            stale = folder / name
            if name not in self.file_names() and stale.is_file():
                stale.unlink()
                removed.append(stale)
        return written, removed


def simulate_link(
    params: LinkParameters,
    *,
    trials: int,
    seed: Seed,
    link: str = "x-y",
    basis_weights: Sequence[float] = (1.0, 1.0, 1.0),
    events: bool = False,
    background_trials: int = 0,
    progress: Callable[[int, int], None] | None = None,
    phase_process: PhaseProcess | None = None,
) -> LinkSimulation:
    """Sample ``trials`` trials of the link and analyse them.

    ``phase_process`` replaces the default per-trial phase error (Gaussian of the
    parameters' ``phase_noise_std_rad``), e.g. an
    :class:`~metroqnet.sampling.phase_processes.OffsetPhase` for a local phase θ.
    With ``background_trials`` also a run of the same link with the write pulses off
    (only dark counts and conversion noise herald), on its own child stream of
    ``seed``, for the fraction of heralds from noise and the server SNR.
    """
    seed = seed_sequence(seed)
    background_trials = check("background_trials", background_trials, Count)
    sampler = LinkSampler(params, phase_process=phase_process, basis_weights=basis_weights, link=link)
    time_tags = None
    if events:
        time_tags = sampler.sample_events(trials, seed=child(seed, RUN_STREAM), progress=progress)
        record = time_tags.to_counts()
    else:
        record = sampler.sample(trials, seed=child(seed, RUN_STREAM), progress=progress)
    background = None
    if background_trials:
        dark = LinkSampler(params.replace(excitation_probability_x=0.0, excitation_probability_y=0.0),
                           basis_weights=basis_weights, link=link)
        background = dark.sample(background_trials, seed=child(seed, BACKGROUND_STREAM))
    try:
        analysis = analyze_counts(record, background=background)
    except UndefinedEstimate as error:  # a background run without a herald: keep the run, say why
        analysis = analyze_counts(record)
        analysis = dataclasses.replace(analysis, notes=(*analysis.notes, f"noise_herald_fraction, snr: {error}"))
    return LinkSimulation(record=record, analysis=analysis, events=time_tags, background=background)
