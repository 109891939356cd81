"""SeQUeNCe baseline for ``bench_sampler.py``: a single-click heralded link in SeQUeNCe's Fock formalism.

Run by a SeQUeNCe interpreter (Python >= 3.12, ``pip install sequence``), not by
metroqnet's; ``bench_sampler.py`` starts it as a subprocess. It reads one JSON
object (the link, mapped below) from its first argument, simulates attempts in
rounds, and prints one JSON object on stdout with ``attempts_per_s`` and the
counts it produced (heralds by detector, read-out patterns of heralded attempts).

The model is SeQUeNCe's own Fock-state entanglement experiment (the
``QuantumManagerDensityFock`` formalism, as in its absorptive-memory example):

* each node: ``SPDCSource`` (two-mode squeezed vacuum, ``encoding_type=fock``)
  whose mean photon number μ = χ/(1-χ) gives P(n ≥ 1) = χ, as SPEC §2.1; its
  signal mode is stored in an ``AbsorptiveMemory`` (absorption efficiency 1,
  re-emission efficiency = read efficiency / local detector efficiency, rephasing
  time = the storage time: ``modes`` temporal modes of ``storage_us / modes``);
* write-out (idler) photons go through a ``QuantumChannel`` of transmission
  herald efficiency / SNSPD efficiency to a ``QSDetectorFockInterference`` (50:50
  beamsplitter, two threshold detectors of the SNSPD efficiency, dark-count rate
  set so each detector clicks by noise with ``herald_noise_probability`` per
  attempt); an attempt is heralded when exactly one detector clicks in its bin;
* retrieved photons go through lossless channels to a second
  ``QSDetectorFockInterference`` (detectors of the local efficiency and noise)
  with relative phase θ: the interference read-out of the single excitation's
  coherence (SeQUeNCe has no weak-field / entanglement-probe read-out). With
  ``phase: "random"`` θ = N(0, σ) is redrawn before every attempt through
  ``set_phase`` (SeQUeNCe's way to change it; it rebuilds the POVMs).

Fock truncation ``truncation`` (2 by default, as SeQUeNCe's example) keeps up to
two excitations per mode. Write-out distinguishability (mode overlap) and the EP
probe of SPEC §2.5 have no counterpart here and are left out.

Every attempt is simulated (SeQUeNCe has no herald skipping); each round is one
batch of ``modes`` attempts through the discrete-event timeline. The timing
covers the rounds only, not the imports or the set-up.

SciPy 1.18's ``scipy.linalg.sqrtm`` returns NaN for the singular POVM elements
SeQUeNCe 1.3.1 takes square roots of, and its Fock measurement then fails at the
first herald ("density matrix trace must be 1"); install ``scipy<1.18`` beside it
(1.17.1 works). The script checks this first and exits with that message.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings

import numpy as np
from sequence.components.detector import QSDetectorFockInterference
from sequence.components.light_source import SPDCSource
from sequence.components.memory import AbsorptiveMemory
from sequence.components.optical_channel import QuantumChannel
from sequence.constants import FOCK_DENSITY_MATRIX_FORMALISM
from sequence.kernel.event import Event
from sequence.kernel.process import Process
from sequence.kernel.timeline import Timeline
from sequence.topology.node import Node

PS_PER_S = 1e12
PS_PER_US = 1e6
IDLER_NM = 1342  # write-out after frequency conversion (Hefei)
SIGNAL_NM = 795  # read-out (Rb D1)
FIBRE_M = 10_000.0  # node to server, and (lossless) read-out path to the measurement station
DETECTOR_COUNT_RATE_HZ = 1e12  # no dead time at these attempt spacings


class EndNode(Node):
    """A memory node: SPDC source whose idler goes to the server and whose signal is stored."""

    def __init__(self, name, timeline, *, server, station, mean_photon_number, attempt_rate_hz, modes,
                 memory_efficiency):
        super().__init__(name, timeline)
        self.server, self.station = server, station
        self.source = SPDCSource(f"{name}.source", timeline, wavelengths=[IDLER_NM, SIGNAL_NM],
                                 frequency=attempt_rate_hz, mean_photon_num=mean_photon_number)
        self.memory = AbsorptiveMemory(f"{name}.memory", timeline, frequency=attempt_rate_hz,
                                       absorption_efficiency=1.0, afc_efficiency=lambda _t: memory_efficiency,
                                       mode_number=modes, wavelength=SIGNAL_NM, destination=station)
        for component in (self.source, self.memory):
            self.add_component(component)
        self.source.add_receiver(self)  # idler
        self.source.add_receiver(self.memory)  # signal
        self.memory.add_receiver(self)
        self.modes = modes

    def emit(self):
        self.source.emit([None] * self.modes)  # Fock encoding: only the length matters

    def get(self, photon, **kwargs):
        self.send_qubit(kwargs.get("dst") or self.server, photon)


class DetectorNode(Node):
    """Two-input interference detector (server BSM or read-out station); optional phase redraw per attempt."""

    def __init__(self, name, timeline, *, sources, efficiency, dark_count_hz, phase_std_rad=None):
        super().__init__(name, timeline)
        self.detector = QSDetectorFockInterference(f"{name}.bs", timeline, sources)
        self.add_component(self.detector)
        self.set_first_component(self.detector.name)
        for index in range(2):
            self.detector.set_detector(index, efficiency=efficiency, dark_count=dark_count_hz,
                                       count_rate=DETECTOR_COUNT_RATE_HZ, time_resolution=1)
        self.phase_std_rad = phase_std_rad

    def receive_qubit(self, src, qubit):
        waiting = self.detector.temporary_photon_info
        if self.phase_std_rad is not None and not waiting[0] and not waiting[1]:
            self.detector.set_phase(float(self.get_generator().normal(0.0, self.phase_std_rad)))
        self.detector.get(qubit, src=src)


def bins_of(times, first_arrival_ps, bin_ps, modes):
    """Attempt index (0..modes-1) of each click time in one round."""
    index = np.rint((np.asarray(times, dtype=float) - first_arrival_ps) / bin_ps).astype(int)
    return index[(index >= 0) & (index < modes)]


def check_scipy_sqrtm() -> None:
    """Exit with a message if this SciPy's ``sqrtm`` breaks SeQUeNCe's Fock measurement (see module doc)."""
    import scipy
    from scipy.linalg import sqrtm

    timeline = Timeline(formalism=FOCK_DENSITY_MATRIX_FORMALISM, manager_kwargs={"truncation": 2})
    detector = QSDetectorFockInterference("check.bs", timeline, ["a", "b"])
    detector.set_detector(0, efficiency=0.7)
    detector.set_detector(1, efficiency=0.7)
    detector._generate_povms()
    click = np.kron(detector.povms[1], np.identity(9))  # as SeQUeNCe pads a POVM of two of four modes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Matrix is singular": expected here
        root = sqrtm(click)
    if not np.all(np.isfinite(root)):
        raise SystemExit(f"scipy {scipy.__version__}: sqrtm gives NaN for SeQUeNCe's singular POVMs, so its Fock "
                         f"measurement fails; install scipy<1.18 in this environment (1.17.1 works)")


def run(config: dict) -> dict:
    modes = int(config.get("modes", 100))
    storage_ps = config["storage_us"] * PS_PER_US
    bin_ps = storage_ps / modes  # AFC rephasing time = modes x bin = storage time
    attempt_rate_hz = PS_PER_S / bin_ps
    chi = config["excitation_probability"]

    def dark_rate_hz(probability):  # Poisson rate giving `probability` of a click per attempt bin
        return -math.log1p(-probability) / (bin_ps / PS_PER_S) if probability > 0 else 0.0

    timeline = Timeline(formalism=FOCK_DENSITY_MATRIX_FORMALISM,
                        manager_kwargs={"truncation": int(config.get("truncation", 2))})
    names = ("alice", "bob")
    nodes = [
        EndNode(name, timeline, server="server", station="station", mean_photon_number=chi / (1.0 - chi),
                attempt_rate_hz=attempt_rate_hz, modes=modes,
                memory_efficiency=config["read_efficiency"] / config["local_detector_efficiency"])
        for name in names
    ]
    server = DetectorNode("server", timeline, sources=list(names), efficiency=config["snspd_efficiency"],
                          dark_count_hz=dark_rate_hz(config["herald_noise_probability"]))
    station = DetectorNode("station", timeline, sources=list(names), efficiency=config["local_detector_efficiency"],
                           dark_count_hz=dark_rate_hz(config["local_noise_probability"]),
                           phase_std_rad=config["phase_noise_std_rad"] if config["phase"] == "random" else None)
    channel_transmission = config["herald_efficiency"] / config["snspd_efficiency"]
    for seed, node in enumerate((*nodes, server, station), start=int(config.get("seed", 1))):
        node.set_seed(seed)
    for node in nodes:
        to_server = QuantumChannel(f"qc.{node.name}.server", timeline, distance=FIBRE_M,
                                   attenuation=-10.0 * math.log10(channel_transmission) / FIBRE_M)
        to_server.set_ends(node, "server")
        to_station = QuantumChannel(f"qc.{node.name}.station", timeline, distance=FIBRE_M, attenuation=0.0)
        to_station.set_ends(node, "station")
    timeline.init()
    for node in nodes:
        node.memory._prepare_AFC()  # prepare time 0: the AFC is ready at once
    delay_ps = nodes[0].qchannels["server"].delay
    round_ps = int(2 * (storage_ps + delay_ps))

    attempts_wanted = int(config["attempts"])
    max_seconds = float(config.get("max_seconds", 60.0))
    heralds = [0, 0]
    patterns = {}  # "server detector:station pattern" -> count
    attempts = 0
    t0 = 0
    start = time.perf_counter()
    while attempts < attempts_wanted and time.perf_counter() - start < max_seconds:
        for node in nodes:
            # AbsorptiveMemory places a photon in temporal mode (now - absorb_start_time) / bin *before* it
            # sets absorb_start_time for the first photon of a cycle, so on its own it stores only in a
            # cycle that starts at time 0 (SeQUeNCe's example resets the timeline every round); set it here.
            node.memory.absorb_start_time = t0
            timeline.schedule(Event(t0, Process(node, "emit", [])))
        timeline.stop_time = t0 + round_ps
        timeline.run()
        herald_clicks = [bins_of(times, t0 + delay_ps, bin_ps, modes) for times in server.detector.get_photon_times()]
        read_clicks = [bins_of(times, t0 + storage_ps + delay_ps, bin_ps, modes)
                       for times in station.detector.get_photon_times()]
        clicked = np.zeros((2, modes), dtype=bool)
        read = np.zeros((2, modes), dtype=bool)
        for port in range(2):
            clicked[port, herald_clicks[port]] = True
            read[port, read_clicks[port]] = True
        for mode in np.flatnonzero(clicked[0] ^ clicked[1]):
            sign = 0 if clicked[0, mode] else 1
            heralds[sign] += 1
            key = f"D{'+-'[sign]}:{int(read[0, mode])}{int(read[1, mode])}"
            patterns[key] = patterns.get(key, 0) + 1
        attempts += modes
        t0 += round_ps
    elapsed_s = time.perf_counter() - start
    return {
        "attempts": attempts,
        "seconds": elapsed_s,
        "attempts_per_s": attempts / elapsed_s,
        "phase": config["phase"],
        "truncation": timeline.quantum_manager.truncation,
        "modes_per_round": modes,
        "attempts_at_server": len(server.detector.arrival_times[0]),
        "attempts_read_out": len(station.detector.arrival_times[0]),
        "heralds_plus_minus": heralds,
        "herald_probability": sum(heralds) / attempts,
        "read_patterns_of_heralded": patterns,
        "sequence_version": _version(),
    }


def _version() -> str:
    from importlib.metadata import version

    return version("sequence")


if __name__ == "__main__":
    check_scipy_sqrtm()
    print(json.dumps(run(json.loads(sys.argv[1]))))
