"""Fuzz: malformed input of every kind is refused in one line that names what is wrong.

Four families of generated malformed input (Hypothesis, derandomized by the conftest profile),
about 2 600 cases each and at least 10^4 in all (counted in ``EXECUTED``, checked by the last test):

1. network presets: the text of ``presets/hefei2024.toml`` with one invalid change, through
   ``metroqnet link --preset FILE --nodes alice,bob``;
2. link parameter files (JSON and TOML) through ``metroqnet link --params FILE``;
3. count files (``examples/counts_example.csv`` with one invalid change) through
   ``metroqnet analyze FILE --out OUT``;
4. command lines: a valid, tiny command of each kind with one invalid change.

Beside the sampled cases, two boundary sweeps try every hardware value of the preset and every link
parameter with each value just outside its range and each wrong type (collecting every failure).

Every case must end the same way: ``main`` returns 2 and raises nothing (no traceback); stdout stays
empty (no figure, NaN or partial table is printed); stderr is exactly one line and it names the offending
field (key path, column, option, unrecognized token; a syntax error names its line and column); no
warning is emitted (in a shell it would be a second stderr line); and the case's folder holds afterwards
exactly what it held before (no output file, no partial file, no empty output folder).

Run with ``-m slow`` (pyproject deselects slow tests by default); ``-s`` shows the number of cases run.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import io
import json
import math
import re
import shutil
import tempfile
import tomllib
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metroqnet.cli.main import build_parser, main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PRESET_TEXT = (ROOT / "src" / "metroqnet" / "presets" / "hefei2024.toml").read_text(encoding="utf-8")
PRESET = tomllib.loads(PRESET_TEXT)
COUNTS_PATH = ROOT / "examples" / "counts_example.csv"
COUNTS_TEXT = COUNTS_PATH.read_text(encoding="utf-8")
PARAMS_EXAMPLE = tomllib.loads((ROOT / "examples" / "link_parameters.toml").read_text(encoding="utf-8"))

INT64_MAX = 2**63 - 1
NAN, INF = float("nan"), float("inf")

#: Cases run, by family (every call of ``main`` in a fuzz test); the last test checks the total.
EXECUTED: Counter[str] = Counter()
FAMILIES = ("presets", "link parameter files", "count files", "command lines")
MIN_PER_FAMILY = 2_500
MIN_TOTAL = 10_000

#: Where a syntax error is: "line 3, column 5" (TOML, JSON) or the end of a truncated document.
LINE_COLUMN = re.compile(r"line \d+,? column \d+|end of document")

#: Warnings Python does not show outside ``__main__`` by default; any other warning is a stderr line.
HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def fuzz(examples: int):
    """Hypothesis settings of a fuzz test (derandomized through the conftest profile)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- running one case --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def case_folder(scratch: Path):
    """A fresh, empty folder for one case, removed afterwards."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _entries(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _normal(text: str) -> str:
    """Runs of white space as one blank (the CLI prints a refusal on one line that way)."""
    return " ".join(text.split())


@dataclass
class Outcome:
    status: object
    out: str
    err: str
    raised: str | None
    warned: list[str]


def run_main(argv: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    status, raised = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except (Exception, SystemExit):  # in a shell: a traceback
                raised = traceback.format_exc()
    warned = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
              if not issubclass(w.category, HIDDEN_WARNINGS)]
    return Outcome(status, out.getvalue(), err.getvalue(), raised, warned)


def check_refusal(family: str, argv: list[str], folder: Path, fields, *, also=(), absent=(), what: str = "") -> None:
    """One case: status 2, nothing on stdout, one stderr line naming one of ``fields`` (and all of ``also``).

    ``fields`` and ``also`` hold strings (compared with runs of white space as one blank) or compiled
    patterns. Nothing may appear in ``folder`` or disappear from it.
    """
    EXECUTED[family] += 1
    before = _entries(folder)
    outcome = run_main(argv)
    after = _entries(folder)
    case = f"{what}\nargv = {argv!r}"
    assert outcome.raised is None, f"{case}\nraised (a traceback in a shell):\n{outcome.raised}"
    assert outcome.status == 2, f"{case}\nexit status {outcome.status!r}, stderr {outcome.err!r}, stdout {outcome.out[:300]!r}"
    assert outcome.out == "", f"{case}\nprinted on stdout: {outcome.out[:300]!r}"
    assert not outcome.warned, f"{case}\nwarnings: {outcome.warned}"
    err = outcome.err
    assert err.endswith("\n") and err.count("\n") == 1 and err.strip(), f"{case}\nnot one stderr line: {err!r}"
    assert "Traceback" not in err, f"{case}\n{err!r}"
    line = _normal(err)

    def named(fragment) -> bool:
        if isinstance(fragment, re.Pattern):
            return fragment.search(line) is not None
        return _normal(fragment) in line

    assert any(named(fragment) for fragment in fields), f"{case}\nnames none of {list(fields)!r}: {err!r}"
    missing = [fragment for fragment in also if not named(fragment)]
    assert not missing, f"{case}\ndoes not name {missing!r}: {err!r}"
    assert after == before, f"{case}\nleft behind {sorted(set(after) - set(before))}, removed {sorted(set(before) - set(after))}"
    assert not any(path.exists() for path in absent), f"{case}\nwrote {[str(p) for p in absent if p.exists()]}"


# --- shared value strategies -----------------------------------------------------------------------------

#: Range classes of the hardware values and link parameters (src/metroqnet/config/hardware.py,
#: link_parameters.py, docs/link_model.md).
PROB, EXCITATION, NONNEG, POS, NUMBER, CELSIUS, VISIBILITY, GAIN, ROUNDS, EXPONENT, PORTS = (
    "[0, 1]", "[0, 1)", ">= 0", "> 0", "finite", "> -273.15", "(0, 1]", "(0, 2]", "1 or 2", "[1, 2]", "integer >= 2"
)


def _negative(x: float) -> bool:
    return x < 0


def _above(limit: float):
    def is_above(x: float) -> bool:
        return x > limit
    return is_above


# Bounds by exclude_min/exclude_max plus a named predicate: Hypothesis 6.170 rewrites
# ``floats(max_value=0.0).filter(lambda x: x < 0)`` into bounds that still admit 0.0 and -0.0.
NEGATIVE_FLOAT = st.floats(max_value=0.0, exclude_max=True, allow_nan=False, allow_infinity=False).filter(_negative)
NEGATIVE = st.one_of(NEGATIVE_FLOAT, st.integers(min_value=-(2**63), max_value=-1))
NON_FINITE = st.sampled_from([NAN, INF, -INF])
ZERO = st.sampled_from([0, 0.0, -0.0])


def above(limit: float):
    return st.one_of(
        st.floats(min_value=limit, exclude_min=True, allow_nan=False, allow_infinity=False).filter(_above(limit)),
        st.integers(min_value=math.floor(limit) + 1, max_value=INT64_MAX),
    )


def _not_a_round_count(n: int) -> bool:
    return n not in (1, 2)


NON_INTEGRAL = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())


def _fewer_than_a_link_needs(n: int) -> bool:
    return n < 2

BAD_VALUE = {
    PROB: st.one_of(NEGATIVE, above(1), NON_FINITE),
    EXCITATION: st.one_of(NEGATIVE, above(1), st.sampled_from([1, 1.0]), NON_FINITE),
    NONNEG: st.one_of(NEGATIVE, NON_FINITE),
    POS: st.one_of(NEGATIVE, ZERO, NON_FINITE),
    NUMBER: NON_FINITE,
    CELSIUS: st.one_of(st.floats(max_value=-273.15, allow_nan=False, allow_infinity=False),
                       st.integers(min_value=-(2**63), max_value=-274), NON_FINITE),
    VISIBILITY: st.one_of(NEGATIVE, ZERO, above(1), NON_FINITE),
    GAIN: st.one_of(NEGATIVE, ZERO, above(2), NON_FINITE),
    ROUNDS: st.one_of(st.integers(min_value=-(2**63), max_value=INT64_MAX).filter(_not_a_round_count),
                      NON_INTEGRAL, NON_FINITE),
    EXPONENT: st.one_of(NEGATIVE, st.floats(min_value=0.0, max_value=1.0, exclude_max=True), above(2), NON_FINITE),
    PORTS: st.one_of(st.integers(min_value=-(2**63), max_value=1).filter(_fewer_than_a_link_needs), NON_INTEGRAL,
                     NON_FINITE),
}

TEXT = st.text(max_size=12)
SMALL_ARRAY = st.lists(
    st.one_of(st.integers(-9, 9), st.floats(-1e3, 1e3), st.text(max_size=4), st.booleans()), max_size=3
)
SMALL_TABLE = st.dictionaries(
    st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6),
    st.one_of(st.integers(-9, 9), st.floats(-1.0, 1.0), st.text(max_size=4)),
    max_size=3,
)


def wrong_type(kind: str):
    """A value of the wrong type: text, a bool, an array or a table for a number."""
    return st.one_of(TEXT, st.booleans(), SMALL_ARRAY, SMALL_TABLE)


NOT_A_STRING = st.one_of(st.integers(-(2**63), INT64_MAX), st.floats(), st.booleans(), SMALL_ARRAY, SMALL_TABLE)
BLANK_OR_PADDED = st.sampled_from(["", " ", "\t", "\n", " x", "x ", "\tx", "x\n", " padded reason "])

EDIT_ALPHABET = "abcdefghijklmnopqrstuvwxyz_-0123456789"

#: The boundary sweep: for every value of every range class, the values just outside it and the wrong
#: types, each tried (not sampled) at every site.
_UP = math.nextafter(1.0, 2.0)
SWEEP_OUT_OF_RANGE = {
    PROB: [-5e-324, -1, _UP, 2, NAN, INF, -INF],
    EXCITATION: [-5e-324, -1, 1, 1.0, _UP, NAN, INF, -INF],
    NONNEG: [-5e-324, -1, NAN, INF, -INF],
    POS: [0, 0.0, -0.0, -1, NAN, INF, -INF],
    NUMBER: [NAN, INF, -INF],
    CELSIUS: [-273.15, -274, NAN, INF, -INF],
    VISIBILITY: [0, -0.0, _UP, NAN, INF],
    GAIN: [0, -0.0, math.nextafter(2.0, 3.0), NAN, INF],
    ROUNDS: [0, 3, -1, 1.5, NAN, INF],
    EXPONENT: [math.nextafter(1.0, 0.0), 0, -1, math.nextafter(2.0, 3.0), 3, NAN, INF, -INF],
    PORTS: [1, 0, -1, 2.5, NAN, INF],
}
SWEEP_WRONG_TYPE = [True, False, "1", "0.5", [1], [], {}]


def sweep_values(kind: str) -> list:
    return [*SWEEP_OUT_OF_RANGE[kind], *SWEEP_WRONG_TYPE]


def run_sweep(cases, check) -> None:
    """Every case, with the failures collected (a sweep reports all of them, not the first)."""
    failures = []
    for case in cases:
        try:
            check(case)
        except AssertionError as error:
            lines = [line for line in str(error).splitlines() if line.strip()]
            failures.append(f"{lines[0][:160]} -> {lines[2][:300] if len(lines) > 2 else ''}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


@st.composite
def near_miss(draw, words, *, exclude=frozenset(), alphabet: str = EDIT_ALPHABET, valid=None):
    """One typo of one of ``words``: a letter inserted, dropped, replaced, swapped, or its case changed."""
    word = draw(st.sampled_from(sorted(words)))
    op = draw(st.sampled_from(["insert", "drop", "replace", "swap", "case"]))
    assume(op != "swap" or len(word) >= 2)
    i = draw(st.integers(0, len(word) - {"insert": 0, "swap": 2}.get(op, 1)))
    if op == "insert":
        typo = word[:i] + draw(st.sampled_from(alphabet)) + word[i:]
    elif op == "drop":
        typo = word[:i] + word[i + 1:]
    elif op == "replace":
        typo = word[:i] + draw(st.sampled_from(alphabet)) + word[i + 1:]
    elif op == "swap":
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    else:
        typo = word[:i] + word[i].swapcase() + word[i + 1:]
    assume(typo and typo != word and typo not in exclude and typo not in words)
    assume(valid is None or valid(typo))
    return typo


# --- a TOML writer for the preset's document shape ---------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char == '"':
            escaped.append('\\"')
        elif char == "\\":
            escaped.append("\\\\")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _is_section(value: object) -> bool:
    return isinstance(value, dict) and any(isinstance(item, dict) for item in value.values())


def toml_document(document: dict) -> str:
    """TOML text of ``document``: tables holding tables become ``[sections]``, other tables inline tables."""
    lines: list[str] = []

    def table(path: tuple[str, ...], mapping: dict) -> None:
        plain = [(k, v) for k, v in mapping.items() if not _is_section(v)]
        sections = [(k, v) for k, v in mapping.items() if _is_section(v)]
        if path and (plain or not sections):
            lines.append("[" + ".".join(toml_key(part) for part in path) + "]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in plain)
        for key, value in sections:
            table((*path, key), value)

    table((), document)
    return "\n".join(lines) + "\n"


def same(a: object, b: object) -> bool:
    """Equal documents, NaN equal to NaN and the sign of zero kept."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_toml_writer_round_trips_the_preset():
    assert same(tomllib.loads(toml_document(PRESET)), PRESET)


# === family 1: network presets ============================================================================

NODE_KINDS = {
    "excitation_probability": EXCITATION, "writeout_collection_efficiency": PROB, "qfc_efficiency": PROB,
    "qfc_noise_rate_hz": NONNEG, "fibre_length_km": NONNEG, "fibre_attenuation_db_per_km": NONNEG,
    "fibre_delay_us_per_km": POS, "fibre_thermal_rate_rad_per_s_per_km": NONNEG,
    "fibre_thermal_correlation_s": POS, "fibre_acoustic_variance_rad2_per_km": NONNEG,
    "fibre_acoustic_correlation_us": POS, "writeout_mode_overlap": PROB,
    "retrieval_efficiency_zero_storage": PROB, "memory_lifetime_us": POS, "memory_decay_exponent": EXPONENT,
    "spin_wave_detuning_rms_hz": NONNEG,
    "read_path_transmission": PROB, "local_detector_efficiency": PROB, "local_dark_count_rate_hz": NONNEG,
    "read_window_ns": POS, "probe_mean_photon_number": NONNEG, "probe_mode_overlap": PROB,
    "readout_duration_rms_ns": POS, "laser_coherence_time_ms": POS, "laser_white_linewidth_hz": NONNEG, "laser_technical_correlation_ms": POS,
    "pump_laser_coherence_time_ms": POS, "pump_laser_white_linewidth_hz": NONNEG,
    "pump_laser_technical_correlation_ms": POS, "fibre_polarization_residual_deg": NONNEG,
}
SERVER_KINDS = {
    "switch_loss_db": NONNEG, "interferometer_transmission": PROB, "snspd_efficiency": PROB,
    "snspd_dark_count_rate_hz": NONNEG, "herald_window_ns": POS, "timeslot_s": POS, "probe_photons_per_node": NONNEG,
    "probe_duration_us": POS, "feedback_latency_us": NONNEG, "probe_rounds": ROUNDS, "probe_gap_us": NONNEG,
    "probe_visibility": VISIBILITY, "calibration_window_s": POS, "calibration_gain": GAIN,
}
DRIFT_KINDS = {
    "coefficient_khz_per_k": NUMBER, "aging_khz_per_day": NUMBER, "temperature_mean_c": CELSIUS,
    "temperature_amplitude_k": NONNEG, "temperature_period_h": POS, "temperature_peak_hour": NUMBER,
    "temperature_start_hour_of_day": NUMBER, "temperature_wander_std_k": NONNEG,
    "temperature_wander_correlation_h": POS, "temperature_step_s": POS,
}
EXPERIMENT_KINDS = {"storage_us": NONNEG, "repetition_rate_hz": POS, "duration_h": POS, "herald_transmission_scale": POS}
TOP_KEYS = frozenset({"name", "description", "node_defaults", "nodes", "server", "drift", "experiments", "published",
                      "calibration", "topology"})
#: The topology's tagged values (src/metroqnet/config/topology.py): a fibre's, and a server's switch ports.
FIBRE_KINDS = {"length_km": NONNEG, "attenuation_db_per_km": NONNEG, "delay_us_per_km": POS,
               "polarization_residual_deg": NONNEG}
TOPOLOGY_SERVER_KINDS = {"switch_outputs": PORTS, "switch_inputs": PORTS}
TOPOLOGY_KEYS = frozenset({"servers", "fibres", "fibre_defaults"})
TAG_KEYS = frozenset({"value", "source", "reason", "quote", "where", "reserved"})
SOURCES = ("paper", "estimated", "calibrated", "user")
EXPERIMENT_KEYS = frozenset({*EXPERIMENT_KINDS, "nodes", "kind"})
PUBLISHED_KEYS = frozenset({"citation", "experiments", "links"})
PUBLISHED_EXPERIMENT_KEYS = frozenset({"heralding_probability", "herald_noise_fraction", "entangling_rate_hz",
                                       "pme_fidelity_plus", "pme_fidelity_minus", "pme_rate_hz",
                                       "residual_phase_std_deg"})
PUBLISHED_LINK_KEYS = frozenset({"nodes", "concurrence_plus", "concurrence_minus", "atomic_concurrence_plus",
                                 "atomic_concurrence_minus"})
PUBLISHED_VALUE_KEYS = frozenset({"value", "error", "where", "quote", "error_reason"})
NODE_NAMES = tuple(PRESET["nodes"])
FIBRE_NAMES = tuple(PRESET["topology"]["fibres"])
TOPOLOGY_SERVER_NAMES = tuple(PRESET["topology"]["servers"])
EXPERIMENT_NAMES = tuple(PRESET["experiments"])
LINK_EXPERIMENTS = tuple(name for name, e in PRESET["experiments"].items() if e.get("kind", "link") == "link")
OWNER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


def test_the_range_table_covers_every_hardware_field():
    from metroqnet.config.presets import DRIFT_FIELDS, EXPERIMENT_FIELDS, NODE_FIELDS, SERVER_FIELDS

    assert set(NODE_KINDS) == set(NODE_FIELDS) and set(SERVER_KINDS) == set(SERVER_FIELDS)
    assert set(DRIFT_KINDS) == set(DRIFT_FIELDS) and set(EXPERIMENT_KINDS) == set(EXPERIMENT_FIELDS)


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


@dataclass(frozen=True)
class Mutation:
    """One invalid change of the preset: ``edits`` set (or DELETE) values at key paths."""

    what: str
    edits: tuple
    fields: tuple


def _get(document: dict, path: tuple[str, ...]) -> object:
    for key in path:
        document = document[key]
    return document


def apply_edits(document: dict, edits) -> dict:
    changed = copy.deepcopy(document)
    for path, value in edits:
        parent = changed
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(value)
    return changed


def _hardware_sites() -> list[tuple[tuple[str, ...], str]]:
    sites = []
    for name, kind in NODE_KINDS.items():
        sites.append((("node_defaults", name), kind))
        sites.extend(((("nodes", node, name), kind) for node in NODE_NAMES))
    sites.extend((("server", name), kind) for name, kind in SERVER_KINDS.items())
    sites.extend((("drift", name), kind) for name, kind in DRIFT_KINDS.items())
    for fibre in FIBRE_NAMES:
        sites.extend((("topology", "fibres", fibre, name), kind) for name, kind in FIBRE_KINDS.items())
    sites.append((("topology", "fibre_defaults", "polarization_residual_deg"), NONNEG))
    for server in TOPOLOGY_SERVER_NAMES:
        sites.extend((("topology", "servers", server, name), kind) for name, kind in TOPOLOGY_SERVER_KINDS.items())
    for experiment in EXPERIMENT_NAMES:
        sites.extend((("experiments", experiment, name), kind) for name, kind in EXPERIMENT_KINDS.items())
    return sites


HARDWARE_SITES = _hardware_sites()
#: Every tagged value of the preset (an inline table with value and source).
TAGGED = [(section, name) for section in ("node_defaults", "server", "drift") for name in PRESET[section]]
TAGGED += [("nodes", node, name) for node in NODE_NAMES for name in PRESET["nodes"][node]]
TAGGED += [("topology", "fibres", fibre, name) for fibre in FIBRE_NAMES for name in PRESET["topology"]["fibres"][fibre]
           if name != "ends"]
TAGGED += [("topology", "fibre_defaults", name) for name in PRESET["topology"].get("fibre_defaults", {})]
TAGGED += [("topology", "servers", server, name) for server in TOPOLOGY_SERVER_NAMES
           for name in PRESET["topology"]["servers"][server]]
TAGGED += [("experiments", e, name) for e in EXPERIMENT_NAMES for name, v in PRESET["experiments"][e].items()
           if isinstance(v, dict)]
PUBLISHED_VALUES = [("published", "experiments", e, name) for e in PRESET["published"]["experiments"]
                    for name in PRESET["published"]["experiments"][e]]
PUBLISHED_VALUES += [("published", "links", link, name) for link in PRESET["published"]["links"]
                     for name in PRESET["published"]["links"][link] if name != "nodes"]


def _entry_for(path: tuple[str, ...]) -> dict:
    """The tagged entry at ``path`` in the preset, or a well-tagged one to hold a new value there."""
    try:
        return dict(_get(PRESET, path))
    except KeyError:
        if path[0] == "nodes" and path[-1] in PRESET["node_defaults"]:
            return dict(PRESET["node_defaults"][path[-1]])
        return {"source": "estimated", "reason": "a value added by the fuzz test"}


def _dotted(path) -> str:
    return ".".join(path)


@st.composite
def bad_hardware_values(draw) -> Mutation:
    """A hardware value out of its range, of the wrong type, or without its tag table."""
    path, kind = draw(st.sampled_from(HARDWARE_SITES))
    how = draw(st.sampled_from(["out of range", "wrong type", "bare value"]))
    if how == "out of range":
        entry = {**_entry_for(path), "value": draw(BAD_VALUE[kind])}
    elif how == "wrong type":
        entry = {**_entry_for(path), "value": draw(wrong_type(kind))}
    else:  # the number without its { value = ..., source = ... } table
        entry = draw(st.one_of(st.floats(), st.integers(-(2**63), INT64_MAX), TEXT, st.booleans(), SMALL_ARRAY))
    return Mutation(f"{how}: {_dotted(path)}", ((path, entry),), (path[-1], _dotted(path)))


#: Node values a network may leave out (only the experiment that needs one refuses its absence: the HOM run).
OPTIONAL_NODE_FIELDS = frozenset({"readout_duration_rms_ns"})


def _removals() -> list[Mutation]:
    removals = [Mutation("required value removed", (((*path,), DELETE),), (path[-1],))
                for path in [("topology", "fibres", fibre, part) for fibre in FIBRE_NAMES for part in ("ends", "length_km")]
                + [("topology", "servers", server, "switch_outputs") for server in TOPOLOGY_SERVER_NAMES]
                + [("node_defaults", name) for name in PRESET["node_defaults"] if name not in OPTIONAL_NODE_FIELDS]
                + [("server", name) for name in PRESET["server"]]
                + [("drift", name) for name in PRESET["drift"]]
                + [("experiments", e, "repetition_rate_hz") for e in EXPERIMENT_NAMES]
                + [("experiments", e, "storage_us") for e in LINK_EXPERIMENTS]]
    # Without its [topology] the preset is an implicit star whose nodes have no fibre length.
    removals += [Mutation("topology removed", ((("topology",), DELETE),), ("fibre_length_km",))]
    removals += [Mutation("top-level table removed", (((key,), DELETE),), (key,))
                 for key in ("name", "nodes", "server", "drift")]
    removals += [Mutation("all nodes but one removed", tuple((("nodes", other), DELETE) for other in NODE_NAMES
                                                             if other != keep), ("nodes",)) for keep in NODE_NAMES]
    return removals


REMOVALS = _removals()


@st.composite
def removed_tag_parts(draw) -> Mutation:
    path = draw(st.sampled_from(TAGGED))
    part = draw(st.sampled_from(["value", "source"]))
    return Mutation(f"tag without {part}", (((*path, part), DELETE),), (_dotted((*path, part)),))


@st.composite
def bad_tags(draw) -> Mutation:
    path = draw(st.sampled_from(TAGGED))
    entry = dict(_get(PRESET, path))
    how = draw(st.sampled_from(["unknown source", "source of a wrong type", "no reason", "tag of a wrong type",
                                "blank or padded tag"]))
    if how == "unknown source":
        entry["source"] = draw(st.one_of(TEXT, st.sampled_from(["Paper", "ESTIMATED", "estimate", " paper", "papers"]))
                               .filter(lambda s: s not in SOURCES))
        part = "source"
    elif how == "source of a wrong type":
        entry["source"] = draw(NOT_A_STRING)
        part = "source"
    elif how == "no reason":
        entry.pop("reason", None)
        entry["source"] = draw(st.sampled_from(SOURCES[1:]))
        part = "reason"
    else:
        part = draw(st.sampled_from(["reason", "quote", "where", "reserved"]))
        entry[part] = draw(NOT_A_STRING if how == "tag of a wrong type" else BLANK_OR_PADDED)
    return Mutation(f"{how}: {_dotted(path)}", ((path, entry),), (_dotted((*path, part)),))


def _unknown_key_tables() -> list[tuple[tuple[str, ...], frozenset, object]]:
    """(table path, its allowed keys, a value to put under an unknown key)."""
    tagged = {"value": 1.0, "source": "estimated", "reason": "a value under an unknown key"}
    tables = [((), TOP_KEYS, "text"), (("node_defaults",), frozenset(NODE_KINDS), tagged),
              (("server",), frozenset(SERVER_KINDS), tagged), (("drift",), frozenset(DRIFT_KINDS), tagged),
              (("published",), PUBLISHED_KEYS, "text")]
    tables += [(("nodes", node), frozenset(NODE_KINDS), tagged) for node in NODE_NAMES]
    tables += [(("topology",), TOPOLOGY_KEYS, tagged), (("topology", "fibre_defaults"),
                                                        frozenset({"polarization_residual_deg"}), tagged)]
    tables += [(("topology", "fibres", fibre), frozenset({*FIBRE_KINDS, "ends"}), tagged) for fibre in FIBRE_NAMES]
    tables += [(("topology", "servers", server), frozenset(TOPOLOGY_SERVER_KINDS), tagged)
               for server in TOPOLOGY_SERVER_NAMES]
    tables += [(("experiments", e), EXPERIMENT_KEYS, tagged) for e in EXPERIMENT_NAMES]
    tables += [(path, TAG_KEYS, "text") for path in TAGGED]
    tables += [(("published", "experiments", e), PUBLISHED_EXPERIMENT_KEYS, {"value": 1.0})
               for e in PRESET["published"]["experiments"]]
    tables += [(("published", "links", link), PUBLISHED_LINK_KEYS, {"value": 1.0})
               for link in PRESET["published"]["links"]]
    tables += [(path, PUBLISHED_VALUE_KEYS, "text") for path in PUBLISHED_VALUES]
    return tables


UNKNOWN_KEY_TABLES = _unknown_key_tables()
JUNK_KEY = st.text(max_size=16)


@st.composite
def unknown_keys(draw) -> Mutation:
    path, allowed, value = draw(st.sampled_from(UNKNOWN_KEY_TABLES))
    if draw(st.booleans()):
        key = draw(near_miss(allowed, exclude=allowed))
    else:
        key = draw(JUNK_KEY.filter(lambda k: k not in allowed))
    return Mutation(f"unknown key in [{_dotted(path)}]", (((*path, key), value),), (key, repr(key)))


TABLE_PATHS = [("node_defaults",), ("nodes",), ("server",), ("drift",), ("experiments",), ("published",),
               ("published", "experiments"), ("published", "links")]
TABLE_PATHS += [("nodes", node) for node in NODE_NAMES] + [("experiments", e) for e in EXPERIMENT_NAMES]
TABLE_PATHS += [("topology",), ("topology", "fibres"), ("topology", "servers"), ("topology", "fibre_defaults")]
TABLE_PATHS += [("topology", "fibres", f) for f in FIBRE_NAMES] + [("topology", "servers", s) for s in TOPOLOGY_SERVER_NAMES]
TABLE_PATHS += [("published", "experiments", e) for e in PRESET["published"]["experiments"]]
TABLE_PATHS += [("published", "links", link) for link in PRESET["published"]["links"]]


@st.composite
def tables_of_the_wrong_type(draw) -> Mutation:
    path = draw(st.sampled_from(TABLE_PATHS))
    value = draw(st.one_of(st.integers(-(2**63), INT64_MAX), st.floats(), TEXT, st.booleans(), SMALL_ARRAY))
    return Mutation(f"[{_dotted(path)}] is not a table", ((path, value),), (_dotted(path),))


@st.composite
def bad_top_level_values(draw) -> Mutation:
    if draw(st.booleans()):
        value = draw(st.one_of(st.sampled_from(["", " ", "\t\n"]), NOT_A_STRING))
        return Mutation("bad network name", ((("name",), value),), ("name",))
    return Mutation("description not a string", ((("description",), draw(NOT_A_STRING)),), ("description",))


def _bad_owner_name(taken=()):
    return st.text(max_size=12).filter(lambda s: not OWNER_NAME.match(s) or s in ("server", "drift") or s in taken)


@st.composite
def bad_experiments(draw) -> Mutation:
    name = draw(st.sampled_from(EXPERIMENT_NAMES))
    where = ("experiments", name)
    how = draw(st.sampled_from(["unknown kind", "kind of a wrong type", "link without storage_us", "bad nodes",
                                "bad experiment name", "experiment named like a node", "bad node name"]))
    if how == "unknown kind":
        kind = draw(st.one_of(TEXT, st.sampled_from(["Link", "stabilisation", "links", " link", ""]))
                    .filter(lambda s: s not in ("link", "stabilization")))
        return Mutation(how, (((*where, "kind"), kind),), (_dotted((*where, "kind")),))
    if how == "kind of a wrong type":
        return Mutation(how, (((*where, "kind"), draw(NOT_A_STRING)),), (_dotted((*where, "kind")),))
    if how == "link without storage_us":
        if name in LINK_EXPERIMENTS:
            return Mutation(how, (((*where, "storage_us"), DELETE),), (_dotted((*where, "storage_us")),))
        return Mutation(how, (((*where, "kind"), "link"),), (_dotted((*where, "storage_us")),))
    if how == "bad nodes":
        nodes = draw(st.one_of(
            st.lists(st.sampled_from(NODE_NAMES), min_size=0, max_size=4).filter(lambda n: len(n) != 2),
            st.sampled_from(NODE_NAMES).map(lambda n: [n, n]),
            st.tuples(st.sampled_from(NODE_NAMES), TEXT.filter(lambda s: s not in NODE_NAMES)).map(list),
            st.tuples(TEXT.filter(lambda s: s not in NODE_NAMES), st.sampled_from(NODE_NAMES)).map(list),
            st.lists(st.one_of(st.integers(-9, 9), st.booleans(), st.floats()), min_size=2, max_size=2),
            st.one_of(TEXT, st.integers(-9, 9), SMALL_TABLE),
        ))
        return Mutation(how, (((*where, "nodes"), nodes),), (_dotted((*where, "nodes")),))
    if how == "bad node name":
        node = draw(st.sampled_from(NODE_NAMES))
        new = draw(_bad_owner_name())
        assume(new not in NODE_NAMES)
        edits = ((("nodes", node), DELETE), (("nodes", new), PRESET["nodes"][node]))
        return Mutation(how, edits, (f"nodes.{new}",))
    new = draw(st.sampled_from(NODE_NAMES) if how == "experiment named like a node" else _bad_owner_name())
    assume(new not in EXPERIMENT_NAMES)
    edits = ((where, DELETE), (("experiments", new), PRESET["experiments"][name]))
    return Mutation(how, edits, (f"experiments.{new}",))


@st.composite
def bad_published_figures(draw) -> Mutation:
    how = draw(st.sampled_from(["figure value", "figure error", "figure where/quote", "figure without value",
                                "citation", "link nodes", "undeclared experiment"]))
    if how.startswith("figure"):
        path = draw(st.sampled_from(PUBLISHED_VALUES))
        entry = dict(_get(PRESET, path))
        if how == "figure value":
            part, entry["value"] = "value", draw(st.one_of(NON_FINITE, TEXT, st.booleans(), SMALL_ARRAY, SMALL_TABLE))
        elif how == "figure error":
            part, entry["error"] = "error", draw(st.one_of(NEGATIVE, NON_FINITE, TEXT, st.booleans(), SMALL_ARRAY))
        elif how == "figure where/quote":
            part = draw(st.sampled_from(["where", "quote"]))
            entry[part] = draw(NOT_A_STRING)
        else:
            part = "value"
            del entry["value"]
        return Mutation(f"{how}: {_dotted(path)}", ((path, entry),), (_dotted((*path, part)),))
    if how == "citation":
        value = draw(st.one_of(st.just(DELETE), st.sampled_from(["", "  ", "\n"]), NOT_A_STRING))
        return Mutation(how, ((("published", "citation"), value),), ("published.citation",))
    if how == "link nodes":
        link = draw(st.sampled_from(tuple(PRESET["published"]["links"])))
        nodes = draw(st.one_of(
            st.just(DELETE),
            st.lists(st.sampled_from(NODE_NAMES), max_size=4).filter(lambda n: len(n) != 2),
            st.sampled_from(NODE_NAMES).map(lambda n: [n, n]),
            st.tuples(st.sampled_from(NODE_NAMES), TEXT.filter(lambda s: s not in NODE_NAMES)).map(list),
            st.one_of(TEXT, st.integers(-9, 9), st.lists(st.integers(-9, 9), min_size=2, max_size=2)),
        ))
        path = ("published", "links", link, "nodes")
        return Mutation(how, ((path, nodes),), (_dotted(path),))
    old = draw(st.sampled_from(tuple(PRESET["published"]["experiments"])))
    new = draw(st.one_of(JUNK_KEY, near_miss(EXPERIMENT_NAMES)).filter(lambda s: s not in EXPERIMENT_NAMES))
    edits = ((("published", "experiments", old), DELETE),
             (("published", "experiments", new), PRESET["published"]["experiments"][old]))
    return Mutation(how, edits, (f"published.experiments.{new}",))


def check_preset(scratch: Path, mutation: Mutation, *, family: str = "presets") -> None:
    document = apply_edits(PRESET, mutation.edits)
    text = toml_document(document)
    assert same(tomllib.loads(text), document), "the TOML writer did not write the mutated document"
    with case_folder(scratch) as folder:
        path = folder / "network.toml"
        path.write_text(text, encoding="utf-8")
        check_refusal(family, ["link", "--preset", str(path), "--nodes", "alice,bob"], folder, mutation.fields,
                      what=repr(mutation))


@fuzz(900)
@given(mutation=st.one_of(bad_hardware_values(), bad_top_level_values()))
def test_preset_values_out_of_range_or_of_the_wrong_type(scratch, mutation):
    check_preset(scratch, mutation)


@fuzz(750)
@given(mutation=st.one_of(st.sampled_from(REMOVALS), removed_tag_parts(), unknown_keys(), bad_tags(),
                          tables_of_the_wrong_type()))
def test_preset_structure_and_provenance_tags(scratch, mutation):
    check_preset(scratch, mutation)


@fuzz(550)
@given(mutation=st.one_of(bad_experiments(), bad_published_figures()))
def test_preset_experiments_and_published_figures(scratch, mutation):
    check_preset(scratch, mutation)


#: Every site but the per-node tables of alice and bob (the same checks as charlie's; the fuzz tests draw them).
PRESET_SWEEP = [
    Mutation(f"boundary: {_dotted(path)} = {value!r}", ((path, {**_entry_for(path), "value": value}),),
             (path[-1], _dotted(path)))
    for path, kind in HARDWARE_SITES if path[:2] not in (("nodes", "alice"), ("nodes", "bob"))
    for value in sweep_values(kind)
]


def test_preset_boundary_sweep(scratch):
    run_sweep(PRESET_SWEEP, lambda mutation: check_preset(scratch, mutation, family="preset boundary sweep"))


@st.composite
def damaged_preset_text(draw) -> tuple[str, bytes, tuple]:
    """The preset's text with its TOML syntax broken (or a byte that is not UTF-8)."""
    text = PRESET_TEXT
    how = draw(st.sampled_from(["truncated", "truncated", "junk inserted", "characters deleted", "not UTF-8"]))
    if how == "not UTF-8":
        data = text.encode("utf-8")
        at = draw(st.integers(0, len(data)))
        damaged = data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
        try:
            damaged.decode("utf-8")
        except UnicodeDecodeError as error:
            return how, damaged, ("UTF-8", f"byte {error.start}")
        assume(False)
    if how == "truncated":
        changed = text[: draw(st.integers(1, len(text) - 1))]
    elif how == "junk inserted":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.one_of(st.sampled_from(['"', "'", "[", "]", "{", "}", "=", ",", "\\", "[[", "\n[", "\n=", "= ="]),
                              st.text('"[]{}=,\\\'#\n .', min_size=1, max_size=4)))
        changed = text[:at] + junk + text[at:]
    else:
        at = draw(st.integers(0, len(text) - 1))
        changed = text[:at] + text[at + draw(st.integers(1, 40)):]
    try:
        tomllib.loads(changed)
    except tomllib.TOMLDecodeError:
        return how, changed.encode("utf-8"), (LINE_COLUMN,)
    assume(False)  # still valid TOML: not a syntax case
    raise AssertionError("unreachable")


@fuzz(450)
@given(case=damaged_preset_text())
def test_preset_syntax_damage(scratch, case):
    how, data, also = case
    with case_folder(scratch) as folder:
        path = folder / "network.toml"
        path.write_bytes(data)
        check_refusal("presets", ["link", "--preset", str(path), "--nodes", "alice,bob"], folder, (str(path),),
                      also=also, what=how)


# === family 2: link parameter files =========================================================================

PER_NODE_KINDS = {
    "excitation_probability": EXCITATION, "herald_efficiency": PROB, "herald_mode_overlap": PROB,
    "read_efficiency": PROB, "probe_mean_photon_number": NONNEG, "probe_mode_overlap": PROB,
    "local_noise_probability": PROB,
}
LINK_WIDE_KINDS = {"herald_noise_probability": PROB, "phase_noise_std_rad": NONNEG, "repetition_rate_hz": POS}
REQUIRED_PARAMS = ("excitation_probability", "herald_efficiency", "read_efficiency", "probe_mean_photon_number")
PARAM_KEYS = frozenset({*PER_NODE_KINDS, *LINK_WIDE_KINDS} | {f"{k}_{s}" for k in PER_NODE_KINDS for s in "xy"})


def _split(mapping: dict) -> dict:
    """The same parameters with every per-node name suffixed."""
    out = {}
    for key, value in mapping.items():
        if key in PER_NODE_KINDS:
            out[f"{key}_x"] = out[f"{key}_y"] = value
        else:
            out[key] = value
    return out


PARAM_BASES = (
    dict(PARAMS_EXAMPLE),
    {"excitation_probability": 0.01, "herald_efficiency": 0.03, "read_efficiency": 0.27,
     "probe_mean_photon_number": 0.025},
    _split(PARAMS_EXAMPLE),
)


def test_parameter_test_points_are_valid(capsys, tmp_path):
    assert set(PER_NODE_KINDS) | set(LINK_WIDE_KINDS) == {
        name.rsplit("_", 1)[0] if name.endswith(("_x", "_y")) else name
        for name in __import__("metroqnet.config.link_parameters", fromlist=["x"]).LinkParameters.__pydantic_fields__
    }
    for i, base in enumerate(PARAM_BASES):
        for suffix, text in ((".json", json.dumps(base)), (".toml", toml_document(base))):
            path = tmp_path / f"base{i}{suffix}"
            path.write_text(text, encoding="utf-8")
            assert main(["link", "--params", str(path)]) == 0
    capsys.readouterr()


@dataclass(frozen=True)
class ParamCase:
    what: str
    fmt: str  # "json" or "toml"
    values: object = None  # a mapping (or anything, for JSON) to write ...
    text: bytes | None = field(default=None, repr=False)  # ... or the file's bytes
    fields: tuple = ()
    also: tuple = ()


HUGE_INT = st.integers(min_value=10**309, max_value=10**400)  # not a finite double


@st.composite
def bad_parameter_values(draw) -> ParamCase:
    fmt = draw(st.sampled_from(["json", "toml"]))
    values = dict(draw(st.sampled_from(PARAM_BASES)))
    if draw(st.booleans()):
        base, kind = draw(st.sampled_from(sorted(PER_NODE_KINDS.items())))
        key = draw(st.sampled_from([base, f"{base}_x", f"{base}_y"]))
        if key == base:
            values.pop(f"{base}_x", None), values.pop(f"{base}_y", None)
        elif base in values:
            values[f"{base}_x"] = values[f"{base}_y"] = values.pop(base)
    else:
        key, kind = draw(st.sampled_from(sorted(LINK_WIDE_KINDS.items())))
    how = draw(st.sampled_from(["out of range", "wrong type"]))
    # TOML has no null and no integers beyond 64 bits; JSON has both.
    if how == "out of range":
        bad = st.one_of(BAD_VALUE[kind], HUGE_INT) if kind in (NONNEG, POS) and fmt == "json" else BAD_VALUE[kind]
    else:
        bad = st.one_of(TEXT, st.booleans(), SMALL_ARRAY, SMALL_TABLE)
        if fmt == "json" and key != "repetition_rate_hz":  # a null repetition rate is "not given"
            bad = st.one_of(bad, st.none())
    values[key] = draw(bad)
    return ParamCase(f"{how}: {key}", fmt, values, fields=(key,))


@st.composite
def bad_parameter_structure(draw) -> ParamCase:
    fmt = draw(st.sampled_from(["json", "toml"]))
    values = dict(draw(st.sampled_from(PARAM_BASES)))
    how = draw(st.sampled_from(["required value missing", "unknown key", "unknown key", "suffixed and unsuffixed",
                                "not an object", "duplicate key"]))
    if how == "required value missing":
        base = draw(st.sampled_from(REQUIRED_PARAMS))
        if draw(st.booleans()):
            for key in (base, f"{base}_x", f"{base}_y"):
                values.pop(key, None)
            return ParamCase(how, fmt, values, fields=(base,))
        if base in values:
            values[f"{base}_x"] = values[f"{base}_y"] = values.pop(base)
        gone = f"{base}_{draw(st.sampled_from('xy'))}"
        del values[gone]
        return ParamCase(how, fmt, values, fields=(gone,))
    if how == "unknown key":
        key = draw(st.one_of(
            near_miss(PARAM_KEYS, exclude=PARAM_KEYS),
            st.sampled_from([f"{k}_{s}" for k in LINK_WIDE_KINDS for s in "xyXY"]
                            + [f"{k}_{s}" for k in PER_NODE_KINDS for s in ("z", "X", "Y", "1", "2", "xy")]),
            JUNK_KEY.filter(lambda k: k not in PARAM_KEYS),
        ))
        values[key] = draw(st.one_of(st.floats(0, 1), st.integers(0, 5)))
        return ParamCase(how, fmt, values, fields=(key, repr(key)))
    if how == "suffixed and unsuffixed":
        base = draw(st.sampled_from(sorted(PER_NODE_KINDS)))
        values.pop(f"{base}_x", None), values.pop(f"{base}_y", None)
        values[base] = 0.1
        values[f"{base}_{draw(st.sampled_from('xy'))}"] = draw(st.floats(0, 1))
        return ParamCase(how, fmt, values, fields=(base,))
    if how == "not an object":
        # A JSON document that is not an object (TOML always is one).
        top = draw(st.one_of(st.just(list(values.values())), st.lists(st.just(values), min_size=1, max_size=2),
                             st.floats(allow_nan=False), st.integers(), TEXT, st.booleans(), st.none(), SMALL_ARRAY))
        return ParamCase(how, "json", top, fields=("{path}",))
    key = draw(st.sampled_from(sorted(values)))
    first, second = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    items = [*((k, v) for k, v in values.items() if k != key), (key, first), (key, second)]
    items = draw(st.permutations(items))
    if fmt == "json":
        text = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "}"
        return ParamCase(how, fmt, text=text.encode(), fields=(key,))
    text = "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in items)
    return ParamCase(how, fmt, text=text.encode(), fields=(key, LINE_COLUMN))


@st.composite
def damaged_parameter_text(draw) -> ParamCase:
    fmt = draw(st.sampled_from(["json", "toml"]))
    values = draw(st.sampled_from(PARAM_BASES))
    if fmt == "json":
        text = json.dumps(values, indent=draw(st.sampled_from([None, 2])))
    else:
        text = toml_document(values)
    how = draw(st.sampled_from(["truncated", "junk inserted", "characters deleted", "not UTF-8", "empty"]))
    if how == "not UTF-8":
        data = text.encode("utf-8")
        at = draw(st.integers(0, len(data)))
        damaged = data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
        start = next(i for i, byte in enumerate(damaged) if byte >= 0x80)
        return ParamCase(how, fmt, text=damaged, fields=("--params",), also=("UTF-8", f"byte {start}"))
    if how == "empty":
        changed = draw(st.sampled_from(["", " ", "\n", "\n\n  \n"]))
        if fmt == "toml":  # an empty TOML document is an empty table: every required value is missing
            return ParamCase(how, fmt, text=changed.encode(), fields=("excitation_probability",))
    elif how == "truncated":
        changed = text[: draw(st.integers(1, len(text) - 1))]
    elif how == "junk inserted":
        at = draw(st.integers(0, len(text)))
        changed = text[:at] + draw(st.text('"[]{}=,:\\\'#\n .', min_size=1, max_size=4)) + text[at:]
    else:
        at = draw(st.integers(0, len(text) - 1))
        changed = text[:at] + text[at + draw(st.integers(1, 20)):]
    try:
        json.loads(changed) if fmt == "json" else tomllib.loads(changed)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError):
        return ParamCase(how, fmt, text=changed.encode(), fields=("--params",), also=(LINE_COLUMN,))
    assume(False)  # still parses: not a syntax case
    raise AssertionError("unreachable")


def check_parameter_file(scratch: Path, case: ParamCase, *, family: str = "link parameter files") -> None:
    with case_folder(scratch) as folder:
        path = folder / f"params.{case.fmt}"
        if case.text is not None:
            path.write_bytes(case.text)
        elif case.fmt == "json":
            path.write_text(json.dumps(case.values), encoding="utf-8")
        else:
            text = toml_document(case.values)
            assert same(tomllib.loads(text), case.values)
            path.write_text(text, encoding="utf-8")
        fields = tuple(f.replace("{path}", str(path)) if isinstance(f, str) else f for f in case.fields)
        check_refusal(family, ["link", "--params", str(path)], folder, fields, also=case.also, what=repr(case))


@fuzz(1000)
@given(case=bad_parameter_values())
def test_parameter_files_with_bad_values(scratch, case):
    check_parameter_file(scratch, case)


def _parameter_sweep() -> list[ParamCase]:
    cases = []
    for fmt in ("json", "toml"):
        for base, kind in [*PER_NODE_KINDS.items(), *LINK_WIDE_KINDS.items()]:
            keys = [base] if base in LINK_WIDE_KINDS else [base, f"{base}_x", f"{base}_y"]
            for key in keys:
                for value in sweep_values(kind):
                    values = {k: v for k, v in PARAM_BASES[1].items() if not k.startswith(base)}
                    if key != base:
                        values.update({f"{base}_x": 0.1, f"{base}_y": 0.1} if base in REQUIRED_PARAMS else {})
                    values[key] = value
                    cases.append(ParamCase(f"boundary: {key} = {value!r}", fmt, values, fields=(key,)))
    return cases


PARAMETER_SWEEP = _parameter_sweep()


def test_parameter_boundary_sweep(scratch):
    run_sweep(PARAMETER_SWEEP, lambda case: check_parameter_file(scratch, case, family="parameter boundary sweep"))


@fuzz(1000)
@given(case=bad_parameter_structure())
def test_parameter_files_with_a_bad_structure(scratch, case):
    check_parameter_file(scratch, case)


@fuzz(600)
@given(case=damaged_parameter_text())
def test_parameter_files_with_syntax_damage(scratch, case):
    check_parameter_file(scratch, case)


# === family 3: count files ===================================================================================

COLUMNS = ("link", "herald", "basis", "outcome_x", "outcome_y", "events")
HERALDS, BASES, PATTERNS = ("plus", "minus"), ("Z", "X", "Y"), ("none", "plus_only", "minus_only", "both")
RESERVED_METADATA = ("read_efficiency_x", "read_efficiency_y", "repetition_rate_hz", "strong_id", "runs")
METADATA_KEY_TEXT = r"[A-Za-z_][A-Za-z0-9_.\-]*"
METADATA_KEY = re.compile(METADATA_KEY_TEXT + r"\Z")
_LINES = COUNTS_TEXT.splitlines()
HEADER_AT = next(i for i, line in enumerate(_LINES) if line.strip() and not line.lstrip().startswith("#"))
BASE_META = tuple(_LINES[:HEADER_AT])
BASE_ROWS = tuple(tuple(next(csv.reader([line]))) for line in _LINES[HEADER_AT + 1:] if line.strip())
LINK = BASE_ROWS[0][0]
TRIALS_ROWS = tuple(i for i, row in enumerate(BASE_ROWS) if row[1] == "*")
EVENT_ROWS = tuple(i for i, row in enumerate(BASE_ROWS) if row[1] != "*")
TRIALS = {row[2]: int(row[5]) for row in BASE_ROWS if row[1] == "*"}
HERALDS_PER_BASIS = {b: sum(int(r[5]) for r in BASE_ROWS if r[1] != "*" and r[2] == b) for b in BASES}
META_KEYS = tuple(m[1].strip() for m in (line.lstrip("#").split(":", 1) for line in BASE_META) if len(m) == 2)
#: Characters that end a line for ``str.splitlines`` or are control characters: never inside a generated cell.
CELL_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)


def row_line(index: int) -> int:
    """The line number (from 1, comments counted) of data row ``index`` of the unchanged file."""
    return HEADER_AT + 2 + index


def render_cells(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    line = buffer.getvalue()
    if line.lstrip().startswith("#") or not line.strip():  # keep a data row from reading as a comment
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="", quoting=csv.QUOTE_ALL).writerow(cells)
        line = buffer.getvalue()
    return line


class CountCase:
    """A count file: ``lines`` (a str is a '#' or raw line, a tuple the cells of a row) or raw ``data``."""

    def __init__(self, what: str, lines: tuple, fields: tuple = (), also: tuple = (), data: bytes | None = None):
        self.what, self.lines, self.fields, self.also, self.data = what, lines, fields, also, data

    def __repr__(self) -> str:  # the change, not the 90 lines of the file
        return f"CountCase(what={self.what!r}, fields={self.fields!r}, also={self.also!r})"

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        return "".join((line if isinstance(line, str) else render_cells(line)) + "\n" for line in self.lines).encode()


def base_lines() -> list:
    return [*BASE_META, COLUMNS, *BASE_ROWS]


def _not_in(allowed):
    return CELL_TEXT.filter(lambda s: s.strip() not in allowed)


def _with_cell(row: tuple, column: str, value: str) -> tuple:
    return tuple(value if name == column else cell for name, cell in zip(COLUMNS, row))


BAD_LINK_NAME = st.one_of(
    st.sampled_from(["", " ", "*", " * ", "\t"]),
    st.tuples(CELL_TEXT, st.sampled_from(',"[]#'), CELL_TEXT).map("".join),
)
BAD_EVENTS = st.one_of(
    st.integers(max_value=-1).map(str),
    st.integers(min_value=INT64_MAX + 1, max_value=10**40).map(str),
    st.floats().map(repr),
    st.sampled_from(["", " ", "1.0", "1e3", "+5", "0x10", "1_000", "١٢", "nan", "inf", "3 4", "-0"]),
    CELL_TEXT.filter(lambda s: not re.fullmatch(r"[0-9]+", s.strip())),
)


@st.composite
def bad_count_cells(draw) -> CountCase:
    lines = base_lines()
    how = draw(st.sampled_from(["herald", "basis", "outcome", "'*' outcome on an events row",
                                "outcome on a trials row", "'*' herald on an events row",
                                "sign on a trials row", "events", "link"]))
    if how in ("outcome on a trials row", "sign on a trials row"):
        index = draw(st.sampled_from(TRIALS_ROWS))
    elif how in ("basis", "events", "link"):
        index = draw(st.integers(0, len(BASE_ROWS) - 1))
    else:
        index = draw(st.sampled_from(EVENT_ROWS))
    row = BASE_ROWS[index]
    if how == "herald":
        column, value = "herald", draw(_not_in({*HERALDS, "*"}))
    elif how == "basis":
        column, value = "basis", draw(_not_in(BASES))
    elif how == "outcome":
        column = draw(st.sampled_from(["outcome_x", "outcome_y"]))
        value = draw(_not_in({*PATTERNS, "*"}))
    elif how == "'*' outcome on an events row":
        column, value = draw(st.sampled_from(["outcome_x", "outcome_y"])), "*"
    elif how == "outcome on a trials row":
        column = draw(st.sampled_from(["outcome_x", "outcome_y"]))
        value = draw(st.one_of(st.sampled_from(PATTERNS), _not_in({"*"})))
    elif how == "'*' herald on an events row":
        lines[HEADER_AT + 1 + index] = _with_cell(row, "herald", "*")
        return CountCase(how, tuple(lines), ("outcome_x",), (f"row {row_line(index)}",))
    elif how == "sign on a trials row":
        lines[HEADER_AT + 1 + index] = _with_cell(row, "herald", draw(st.sampled_from(HERALDS)))
        return CountCase(how, tuple(lines), ("outcome_x",), (f"row {row_line(index)}",))
    elif how == "events":
        column, value = "events", draw(BAD_EVENTS)
    else:
        column, value = "link", draw(BAD_LINK_NAME)
    lines[HEADER_AT + 1 + index] = _with_cell(row, column, value)
    return CountCase(f"{how}: row {row_line(index)} {column}={value!r}", tuple(lines), (column,),
                     (f"row {row_line(index)}",))


GOOD_LINK_NAME = st.text("abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=10).filter(lambda s: s != LINK)


@st.composite
def bad_count_structure(draw) -> CountCase:
    lines = base_lines()
    rows_at = HEADER_AT + 1
    how = draw(st.sampled_from(["duplicate row", "trials row removed", "link without trials rows",
                                "link without heralded events", "heralds exceed trials", "heralds exceed trials",
                                "trials overflow", "missing column", "unknown column", "repeated column",
                                "wrong number of fields", "empty file", "header only", "not UTF-8"]))
    if how == "duplicate row":
        index = draw(st.integers(0, len(BASE_ROWS) - 1))
        copy_of = list(BASE_ROWS[index])
        copy_of[5] = draw(st.one_of(st.just(copy_of[5]), st.integers(0, 10**6).map(str)))
        if draw(st.booleans()):
            copy_of[0] = f" {copy_of[0]} "  # blanks around a cell are not part of it
        at = draw(st.integers(0, len(BASE_ROWS)))
        lines.insert(rows_at + at, tuple(copy_of))
        later = max(rows_at + at, rows_at + index + (1 if at <= index else 0)) + 1
        return CountCase(f"{how} of row {row_line(index)} at line {rows_at + at + 1}", tuple(lines), ("events",),
                         (f"row {later}",))
    if how == "trials row removed":
        basis = draw(st.sampled_from(BASES))
        index = next(i for i in TRIALS_ROWS if BASE_ROWS[i][2] == basis)
        del lines[rows_at + index]
        first = next(i for i in EVENT_ROWS if BASE_ROWS[i][2] == basis)
        return CountCase(f"{how}: {basis}", tuple(lines), ("herald",), (f"row {row_line(first) - 1}",))
    if how in ("link without trials rows", "link without heralded events"):
        name = draw(GOOD_LINK_NAME)
        if how == "link without trials rows":
            new = [(name, draw(st.sampled_from(HERALDS)), draw(st.sampled_from(BASES)), draw(st.sampled_from(PATTERNS)),
                    draw(st.sampled_from(PATTERNS)), str(draw(st.integers(1, 10**6))))]
            field_name = "herald"
        else:
            new = [(name, "*", basis, "*", "*", str(draw(st.integers(0, 10**9)))) for basis in
                   draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=3, unique=True))]
            new += [(name, sign, basis, x, y, "0") for sign, basis, x, y in
                    draw(st.lists(st.tuples(st.sampled_from(HERALDS), st.sampled_from(BASES),
                                            st.sampled_from(PATTERNS), st.sampled_from(PATTERNS)), max_size=3, unique=True))]
            field_name = "events"
        at = draw(st.integers(0, len(BASE_ROWS)))
        lines[rows_at + at:rows_at + at] = new
        return CountCase(f"{how}: {name!r}", tuple(lines), (field_name,), (repr(name),))
    if how == "heralds exceed trials":
        basis = draw(st.sampled_from(BASES))
        trials_index = next(i for i in TRIALS_ROWS if BASE_ROWS[i][2] == basis)
        if draw(st.booleans()):
            lines[rows_at + trials_index] = _with_cell(BASE_ROWS[trials_index], "events",
                                                       str(draw(st.integers(0, HERALDS_PER_BASIS[basis] - 1))))
        else:
            index = draw(st.sampled_from([i for i in EVENT_ROWS if BASE_ROWS[i][2] == basis]))
            old = int(BASE_ROWS[index][5])
            low = TRIALS[basis] - (HERALDS_PER_BASIS[basis] - old) + 1
            lines[rows_at + index] = _with_cell(BASE_ROWS[index], "events", str(draw(st.integers(low, INT64_MAX))))
        return CountCase(f"{how}: {basis}", tuple(lines), ("events",), (f"row {row_line(trials_index)}",))
    if how == "trials overflow":
        big = draw(st.lists(st.integers(2**61, INT64_MAX), min_size=3, max_size=3).filter(lambda t: sum(t) > INT64_MAX))
        for index, value in zip(TRIALS_ROWS, big):
            lines[rows_at + index] = _with_cell(BASE_ROWS[index], "events", str(value))
        return CountCase(how, tuple(lines), ("events",))
    if how in ("missing column", "unknown column", "repeated column"):
        header = list(COLUMNS)
        rows = [list(row) for row in BASE_ROWS]
        if how == "missing column":
            name = draw(st.sampled_from(COLUMNS))
            at = COLUMNS.index(name)
            whole = draw(st.booleans())  # from every row too, or from the header only
            header.pop(at)
            rows = [row[:at] + row[at + 1:] for row in rows] if whole else rows
            if not whole and draw(st.booleans()):
                header.append(draw(CELL_TEXT.filter(lambda s: s.strip() and s.strip() not in COLUMNS)))
        else:
            if how == "unknown column":
                name = draw(st.one_of(near_miss(COLUMNS, exclude=COLUMNS),
                                      CELL_TEXT.map(str.strip).filter(lambda s: s and s not in COLUMNS)))
            else:
                name = draw(st.sampled_from(COLUMNS))
            at = draw(st.integers(0, len(header)))
            header.insert(at, name)
            rows = [row[:at] + ["1"] + row[at:] for row in rows] if draw(st.booleans()) else rows
        lines[HEADER_AT:] = [tuple(header), *map(tuple, rows)]
        return CountCase(f"{how}: {name!r}", tuple(lines), (name, repr(name)), (f"row {HEADER_AT + 1}",))
    if how == "wrong number of fields":
        index = draw(st.integers(0, len(BASE_ROWS) - 1))
        row = list(BASE_ROWS[index])
        if draw(st.booleans()):
            row.insert(draw(st.integers(0, len(row))), draw(CELL_TEXT))
            if draw(st.booleans()):
                row.append(draw(CELL_TEXT))
        else:
            del row[draw(st.integers(0, len(row) - 1))]
            assume(row)
        lines[rows_at + index] = tuple(row)
        return CountCase(f"{how}: row {row_line(index)}", tuple(lines), (f"row {row_line(index)}",),
                         ("6 fields",))
    if how == "empty file":
        kept = draw(st.lists(st.sampled_from([*BASE_META, "", "   ", "# a comment"]), max_size=6))
        return CountCase(how, tuple(kept), ("header",), ("link,herald,basis,outcome_x,outcome_y,events",))
    if how == "header only":
        return CountCase(how, tuple(lines[:HEADER_AT + 1]), ("events",))
    data = "".join((line if isinstance(line, str) else render_cells(line)) + "\n" for line in lines).encode()
    at = draw(st.integers(0, len(data)))
    damaged = data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
    return CountCase(how, (), ("UTF-8",), (f"byte {at}",), data=damaged)


@st.composite
def bad_count_metadata(draw) -> CountCase:
    lines = base_lines()
    how = draw(st.sampled_from(["typo of a reserved key", "typo of a reserved key", "bad read efficiency",
                                "bad repetition rate", "bad strong_id", "bad runs", "bad format",
                                "metadata given twice", "metadata for an absent link"]))
    scope = draw(st.sampled_from(["", f"[{LINK}] "]))
    at = draw(st.integers(0, HEADER_AT))  # metadata lines before the header
    if how == "typo of a reserved key":
        key = draw(near_miss(RESERVED_METADATA, exclude={*RESERVED_METADATA, "format", *META_KEYS},
                             alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                             valid=METADATA_KEY.match))
        value = draw(st.sampled_from(["0.27", "2760", "[]", "abc", "1"]))
        lines.insert(at, f"# {scope}{key}: {value}")
        return CountCase(f"{how}: {scope}{key}", tuple(lines), (key,), (f"row {at + 1}",))
    if how in ("bad read efficiency", "bad repetition rate"):
        if how == "bad read efficiency":
            key = draw(st.sampled_from(["read_efficiency_x", "read_efficiency_y"]))
            value = draw(st.one_of(
                st.sampled_from(["-0.5", "1.0000001", "2", "1e400", "-1e400", "NaN", "Infinity", "true",
                                 "false", "null", "[0.5]", '{"x": 0.5}', '"0.5"', "text", "", "0,5"]),
                NEGATIVE.map(repr), above(1).map(repr)))
        else:
            key = "repetition_rate_hz"
            value = draw(st.one_of(
                st.sampled_from(["0", "0.0", "-0.0", "1e400", "NaN", "Infinity", "-Infinity", "true", "null",
                                 "[2760]", '"2760"', "2.76 kHz", ""]),
                NEGATIVE.map(repr)))
        existing = next((i for i, line in enumerate(BASE_META) if re.match(rf"#\s*{key}\s*:", line)), None)
        if existing is not None and not scope:  # replaced: a second file-wide line would be "given twice"
            at = existing
            lines[at] = f"# {key}: {value}"
        else:
            lines.insert(at, f"# {scope}{key}: {value}")
        return CountCase(f"{how}: {scope}{key}: {value}", tuple(lines), (key,), (f"row {at + 1}",))
    if how == "bad strong_id":
        value = draw(st.one_of(
            st.text("0123456789abcdef", min_size=1, max_size=70).filter(lambda s: len(s) != 64),
            st.text("0123456789ABCDEF", min_size=64, max_size=64).filter(lambda s: s != s.lower()),
            st.text("0123456789abcdefg", min_size=64, max_size=64).filter(lambda s: "g" in s),
            st.sampled_from(["1" * 64, "true", "[]", "{}"])))  # (null reads as "no strong id")
        lines.insert(at, f"# {scope}strong_id: {value}")
        return CountCase(f"{how}: {value}", tuple(lines), ("strong_id",), (f"row {at + 1}",))
    if how == "bad runs":
        strong = "# strong_id: " + "ab" * 32
        runs = draw(st.one_of(
            st.sampled_from(["5", '"runs"', "{}", "true", "null"]),
            st.lists(st.fixed_dictionaries({"entropy": st.integers(-5, 5), "spawn_key": st.lists(st.integers(-2, 3), max_size=2),
                                            "trials": st.integers(-5, 10**6)}), min_size=1, max_size=3).map(json.dumps),
            st.lists(st.one_of(st.integers(), TEXT, st.none()), min_size=1, max_size=2).map(json.dumps),
        ))
        with_id = draw(st.booleans())
        if with_id:
            lines.insert(0, strong)
            at += 1
        lines.insert(at, f"# {scope}runs: {runs}")
        return CountCase(f"{how}: {runs} (strong_id given: {with_id})", tuple(lines), ("runs",))
    if how == "bad format":
        value = draw(st.one_of(st.sampled_from(["metroqnet-counts/2", "metroqnet-events/1", "", "csv"]),
                               CELL_TEXT.filter(lambda s: s.strip() != "metroqnet-counts/1")))
        if scope:
            lines.insert(at, f"# {scope}format: metroqnet-counts/1")
            row = at + 1
        else:
            index = next(i for i, line in enumerate(BASE_META) if line.startswith("# format:"))
            lines[index] = f"# format: {value}"
            row = index + 1
        return CountCase(f"{how}: {scope}{value!r}", tuple(lines), ("format",), (f"row {row}",))
    if how == "metadata given twice":
        candidates = [i for i, line in enumerate(BASE_META) if ":" in line and METADATA_KEY.match(
            line.lstrip("#").split(":", 1)[0].strip())]
        index = draw(st.sampled_from(candidates))
        key = BASE_META[index].lstrip("#").split(":", 1)[0].strip()
        value = draw(st.sampled_from([BASE_META[index].split(":", 1)[1].strip(), "0.5", "other"]))
        repeat_at = draw(st.integers(index + 1, len(lines)))  # after the first, anywhere (metadata may follow rows)
        lines.insert(repeat_at, f"# {key}: {value}")
        return CountCase(f"{how}: {key}", tuple(lines), (key,), (f"row {repeat_at + 1}",))
    link = draw(CELL_TEXT.map(str.strip).filter(lambda s: s != LINK and "]" not in s))
    key = draw(st.one_of(st.sampled_from(RESERVED_METADATA[:3]),
                         st.from_regex(METADATA_KEY_TEXT, fullmatch=True).filter(
                             lambda k: k not in RESERVED_METADATA and k != "format" and len(k) < 30)))
    lines.insert(at, f"# [{link}] {key}: 0.5")
    return CountCase(f"{how}: [{link}] {key}", tuple(lines), (key,), (f"row {at + 1}",))


def check_count_file(scratch: Path, case: CountCase) -> None:
    with case_folder(scratch) as folder:
        path = folder / "counts.csv"
        path.write_bytes(case.content())
        out = folder / "analysis.json"
        check_refusal("count files", ["analyze", str(path), "--out", str(out)], folder, case.fields, also=case.also,
                      absent=(out,), what=repr(case))


@fuzz(950)
@given(case=bad_count_cells())
def test_count_files_with_bad_cells(scratch, case):
    check_count_file(scratch, case)


@fuzz(950)
@given(case=bad_count_structure())
def test_count_files_with_a_bad_structure(scratch, case):
    check_count_file(scratch, case)


@fuzz(750)
@given(case=bad_count_metadata())
def test_count_files_with_bad_metadata(scratch, case):
    check_count_file(scratch, case)


# === family 4: command lines =================================================================================

#: A valid, tiny command line of each command, in groups (an option with its value is one group).
#: ``@/`` stands for the case's folder.
BASES_ARGV: dict[str, list[tuple[str, ...]]] = {
    "link": [("link",), ("--preset", "hefei2024"), ("--nodes", "alice,bob")],
    "simulate": [("simulate",), ("--preset", "hefei2024"), ("--nodes", "alice,bob"), ("--trials", "1000"),
                 ("--seed", "1"), ("--out", "@/out")],
    "analyze": [("analyze",), (str(COUNTS_PATH),), ("--out", "@/analysis.json")],
    "stabilization": [("stabilization",), ("--trials", "1000"), ("--hours", "0.01"), ("--seed", "1"),
                      ("--out", "@/out")],
    "reproduce": [("reproduce",), ("--preset", "hefei2024")],
    "calibrate": [("calibrate",), ("--preset", "hefei2024"), ("--out", "@/calibration.json"), ("--walkers", "26"),
                  ("--steps", "4"), ("--refit-steps", "2")],
    "preset show": [("preset",), ("show",), ("hefei2024",)],
    "network": [("network",), ("--hours", "0.01"), ("--seed", "1"), ("--policy", "round-robin"), ("--out", "@/out")],
}
#: How many leading groups are the command and its positional arguments.
POSITIONAL_GROUPS = {"analyze": 2, "preset show": 3}


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return commands.choices[command.split()[0]]


def _options(command: str) -> dict[str, bool]:
    """The command's option strings, each with whether it takes a value."""
    parser = _subparser(command)
    return {s: action.nargs != 0 for action in parser._actions for s in action.option_strings}  # noqa: SLF001


OPTIONS = {command: _options(command) for command in BASES_ARGV}
COMMAND_NAMES = ("link", "reproduce", "calibrate", "preset", "analyze", "simulate", "stabilization", "network")


def materialize(tokens, folder: Path) -> list[str]:
    return [f"{folder}/{token[2:]}" if token.startswith("@/") else token for token in tokens]


def test_base_command_lines_run(scratch, capsys):
    for command, groups in BASES_ARGV.items():
        with case_folder(scratch) as folder:
            argv = materialize([token for group in groups for token in group], folder)
            assert main(argv) == 0, (argv, capsys.readouterr().err)
    capsys.readouterr()


@dataclass(frozen=True)
class ArgCase:
    what: str
    groups: tuple
    fields: tuple
    setup: tuple = ()  # ("dir", name) | ("file", name, text)


def _replace_or_add(groups: list, option: str, value: str | None, *, equals: bool = False) -> list:
    group = (f"{option}={value}",) if equals else ((option,) if value is None else (option, value))
    for i, existing in enumerate(groups):
        if existing[0] == option:
            return [*groups[:i], group, *groups[i + 1:]]
    return [*groups, group]


def _without(groups: list, option: str) -> list:
    return [group for group in groups if group[0] != option]


# Invalid values, by option.
DIGITS = st.integers(0, 10**6)
NOT_WHOLE = st.one_of(
    st.integers(min_value=-(10**12), max_value=-1).map(str),
    st.tuples(DIGITS, st.integers(1, 999)).map(lambda t: f"{t[0]}.{t[1]:03d}"),
    st.tuples(st.integers(1, 9), st.integers(1, 6)).map(lambda t: f"{t[0]}e-{t[1]}"),
    st.integers(min_value=INT64_MAX + 1, max_value=10**30).map(str),
    st.tuples(st.integers(1, 9), st.integers(19, 400)).map(lambda t: f"{t[0]}e{t[1]}"),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1/2", "0x10", "1,000", "1 000", "ten",
                     "-0.5", "1e", "e3", "--1", "--"]),
    st.text(max_size=8).filter(lambda s: any(c not in "0123456789_.eE+" and not c.isspace() for c in s)),
)
NOT_A_NUMBER = st.one_of(
    st.sampled_from(["", " ", "abc", "1,5", "5us", "1..2", "0x1p3", "--", "one", "5 us", "1e", "∞"]),
    st.text("abcdfghjklmopqrsuvwxyz%$#@!,;:", min_size=1, max_size=6),
)
NON_FINITE_TEXT = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "+inf", "-nan", "1e400", "-1e400"])
NEGATIVE_TEXT = NEGATIVE_FLOAT.map(repr)
NOT_POSITIVE = st.one_of(NEGATIVE_TEXT, st.sampled_from(["0", "0.0", "-0", "-0.0", "0e10"]), NON_FINITE_TEXT, NOT_A_NUMBER)
NOT_NON_NEGATIVE = st.one_of(NEGATIVE_TEXT, NON_FINITE_TEXT, NOT_A_NUMBER)
NOT_A_SEED = st.one_of(
    st.integers(max_value=-1).map(str), NON_INTEGRAL.map(repr),
    st.sampled_from(["", " ", "1e3", "+5", "0x10", "1_000", "١٢", "seed", "1.0", "2024 1", "nan", "--"]),
    st.text(max_size=8).filter(lambda s: not re.fullmatch(r"\s*[0-9]+\s*", s)),
)
BAD_DURATION = st.one_of(
    st.floats(min_value=1, max_value=1e6, allow_nan=False).map(repr),  # no unit
    DIGITS.map(str),
    st.tuples(st.integers(1, 999), st.text("abcefgijklnopqrtuvwxyzABCEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
              .filter(lambda u: u not in ("s", "min", "h", "d"))).map(lambda t: f"{t[0]}{t[1]}"),
    st.sampled_from(["5m", "5ms", "5sec", "5hours", "5H", "5S", "5D", "5 years", "1.5 hr", "0s", "0.0h", "0e5min",
                     "-5s", "5-s", "s", "", "nan s", "inf h", "1e400d", "1e20d", "1e30s", "5 s s", "5,0h", "--"]),
)
BAD_WEIGHTS = st.one_of(
    st.lists(st.floats(0, 10), min_size=0, max_size=6).filter(lambda w: len(w) != 3).map(lambda w: ",".join(map(repr, w))),
    st.tuples(NEGATIVE_TEXT, st.floats(0, 5).map(repr), st.floats(0, 5).map(repr)).flatmap(st.permutations).map(",".join),
    st.tuples(NON_FINITE_TEXT, st.floats(0, 5).map(repr), st.floats(0, 5).map(repr)).flatmap(st.permutations).map(",".join),
    st.sampled_from(["0,0,0", "0,0.0,-0", "0.0,0,0", "1;1;1", "1 1 1", "a,b,c", "1,,1", ",,", "", "1,1,x", "--"]),
)
NOT_TWO_NODES = st.one_of(
    st.sampled_from(NODE_NAMES),
    st.lists(st.sampled_from(NODE_NAMES), min_size=3, max_size=4).map(",".join),
    st.sampled_from(NODE_NAMES).map(lambda n: f"{n},{n}"),
    st.sampled_from([",bob", "alice,", ",", "", " , ", "alice bob", "alice;bob", "alice,,bob", "--"]),
    st.tuples(st.sampled_from(NODE_NAMES), st.text("abcdefghijklmnopqrstuvwxyzABC_-", min_size=1, max_size=8)
              .filter(lambda s: s not in NODE_NAMES)).flatmap(st.permutations).map(",".join),
)
BAD_HOURS = st.one_of(NOT_POSITIVE, st.floats(min_value=10_000, exclude_min=True, allow_infinity=False).map(repr),
                      st.floats(min_value=1e-12, max_value=1e-4).map(repr))
NAME_TEXT = st.one_of(st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12), st.just("--"))


@st.composite
def bad_set_option(draw) -> tuple[str, tuple]:
    """(``KEY=VALUE`` text, the fragments that name it)."""
    how = draw(st.sampled_from(["value out of range", "value of a wrong type", "unknown field", "unknown owner",
                                "not a key path", "not KEY=VALUE", "experiment kind or nodes"]))
    if how in ("value out of range", "value of a wrong type"):
        path, kind = draw(st.sampled_from(HARDWARE_SITES))
        path = path if path[0] != "node_defaults" else ("nodes", draw(st.sampled_from([*NODE_NAMES, "*"])), path[1])
        value = draw(BAD_VALUE[kind] if how == "value out of range" else wrong_type(kind))
        key = _dotted(path)
        return f"{key}={toml_value(value)}", (key, path[-1])
    if how == "unknown field":
        section = draw(st.sampled_from([("server",), ("drift",), ("nodes", "alice"), ("nodes", "*"),
                                        ("experiments", "storage_5us")]))
        allowed = {"server": SERVER_KINDS, "drift": DRIFT_KINDS, "nodes": NODE_KINDS,
                   "experiments": {**EXPERIMENT_KINDS, "nodes": 0, "kind": 0}}[section[0]]
        name = draw(st.one_of(near_miss(allowed, exclude=set(allowed)),
                              st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
                              .filter(lambda s: s not in allowed)))
        key = _dotted((*section, name))
        return f"{key}=1", (key, name)
    if how == "unknown owner":
        section = draw(st.sampled_from(["nodes", "experiments"]))
        owner = draw(st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=10)
                     .filter(lambda s: s not in (NODE_NAMES if section == "nodes" else EXPERIMENT_NAMES)))
        name = "fibre_length_km" if section == "nodes" else "repetition_rate_hz"
        key = f"{section}.{owner}.{name}"
        return f"{key}=1", (key, owner)
    if how == "not a key path":
        key = draw(st.one_of(
            st.sampled_from(["server", "drift", "nodes", "nodes.alice", "server.switch_loss_db.value", "name",
                             "published.citation", "node_defaults.qfc_efficiency", "experiments.fig2",
                             "nodes.alice.fibre_length_km.value", "description"]),
            st.text("abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=16).filter(
                lambda s: s.split(".")[0] not in ("server", "drift", "nodes", "experiments")),
        ))
        return f"{key}=1", (key,)
    if how == "not KEY=VALUE":
        text = draw(st.one_of(st.sampled_from(["", "=", "=1", "server.switch_loss_db", "server.switch_loss_db=",
                                               " = ", "server.switch_loss_db= ", "--"]),
                              st.text("abcdefghijklmnopqrstuvwxyz_.", max_size=12)))
        return text, ("--set",)
    experiment = draw(st.sampled_from(EXPERIMENT_NAMES))
    part = draw(st.sampled_from(["kind", "nodes"]))
    key = f"experiments.{experiment}.{part}"
    value = draw(st.sampled_from(["link", "stabilization", "foo", "1", '["alice", "bob"]']))
    return f"{key}={value}", (key,)


def _value_options(command: str) -> list[str]:
    table = {
        "--trials": ("simulate", "stabilization"), "--background-trials": ("simulate",), "--duration": ("simulate",),
        "--seed": ("simulate", "stabilization", "network"), "--basis-weights": ("simulate",),
        "--storage-us": ("link", "simulate"), "--repetition-rate-hz": ("link", "simulate"),
        "--hours": ("stabilization", "network"), "--nodes": ("link", "simulate"),
        "--experiment": ("stabilization", "network"), "--policy": ("network",), "--theta-trials": ("network",),
        "--preset": ("link", "simulate", "stabilization", "reproduce", "calibrate", "network"), "--link": ("analyze",),
        "--set": ("link", "simulate", "stabilization", "reproduce", "calibrate", "preset show", "network"),
        "NAME": ("preset show",),
    }
    return [option for option, commands in table.items() if command in commands]


@st.composite
def bad_option_values(draw) -> ArgCase:
    command = draw(st.sampled_from(sorted(BASES_ARGV)))
    groups = list(BASES_ARGV[command])
    option = draw(st.sampled_from(_value_options(command)))
    fields: tuple = (option,)
    if option == "--trials":
        value = draw(st.one_of(NOT_WHOLE, st.sampled_from(["0", "1"])) if command == "stabilization" else NOT_WHOLE)
    elif option == "--background-trials":
        value = draw(NOT_WHOLE)
    elif option == "--duration":
        groups = _without(groups, "--trials")
        amount = draw(st.sampled_from(["bad duration", "bad duration", "--trials and --duration", "neither"]))
        if amount == "--trials and --duration":
            return ArgCase(amount, tuple([*groups, ("--trials", "1000"), ("--duration", "1h")]), ("--duration",))
        if amount == "neither":
            return ArgCase(amount, tuple(groups), ("--trials", "--duration"))
        value = draw(BAD_DURATION)
    elif option == "--seed":
        value = draw(NOT_A_SEED)
    elif option == "--basis-weights":
        value = draw(BAD_WEIGHTS)
    elif option == "--storage-us":
        value = draw(NOT_NON_NEGATIVE)
    elif option == "--repetition-rate-hz":
        value = draw(NOT_POSITIVE)
    elif option == "--hours" and command == "network":  # any positive duration up to a year is a network run
        value = draw(st.one_of(NOT_POSITIVE, st.floats(min_value=8784, exclude_min=True, allow_infinity=False).map(repr)))
    elif option == "--hours":
        value = draw(BAD_HOURS)
    elif option == "--policy":
        value = draw(NAME_TEXT.filter(lambda s: s not in ("qrng", "round-robin", "requests")))
    elif option == "--theta-trials":
        value = draw(st.one_of(NOT_WHOLE, st.just("0")))
    elif option == "--experiment" and command == "network":  # a network run needs a link experiment
        value = draw(st.one_of(st.sampled_from([n for n in EXPERIMENT_NAMES if n not in LINK_EXPERIMENTS]),
                               NAME_TEXT.filter(lambda s: s not in EXPERIMENT_NAMES)))
    elif option == "--nodes":
        value = draw(NOT_TWO_NODES)
    elif option == "--experiment":
        value = draw(st.one_of(st.sampled_from(LINK_EXPERIMENTS), NAME_TEXT.filter(lambda s: s not in EXPERIMENT_NAMES)))
    elif option == "--preset":
        value = draw(NAME_TEXT.filter(lambda s: s != "hefei2024" and "/" not in s and not s.endswith(".toml")))
    elif option == "--link":
        value = draw(NAME_TEXT.filter(lambda s: s != LINK))
    elif option == "--set":
        value, fields = draw(bad_set_option())
        if command in ("link", "simulate") or draw(st.booleans()):
            return ArgCase(f"--set {value!r}", tuple([*groups, ("--set", value)]), fields)
        return ArgCase(f"--set={value!r}", tuple([*groups, (f"--set={value}",)]), fields)
    else:  # preset show NAME ("-x" would be an option and "--" ends the options)
        value = draw(NAME_TEXT.filter(lambda s: s != "hefei2024" and "/" not in s and not s.endswith(".toml")
                                      and not s.startswith("-")))
        groups[2] = (value,)
        return ArgCase(f"preset show {value!r}", tuple(groups), (value, repr(value)))
    equals = draw(st.booleans())
    return ArgCase(f"{command} {option} {value!r}", tuple(_replace_or_add(groups, option, value, equals=equals)),
                   fields)


@st.composite
def bad_option_syntax(draw) -> ArgCase:
    command = draw(st.sampled_from(sorted(BASES_ARGV)))
    groups = list(BASES_ARGV[command])
    options = OPTIONS[command]
    first_free = POSITIONAL_GROUPS.get(command, 1)
    how = draw(st.sampled_from(["misspelt option", "misspelt option", "abbreviated option", "unknown option",
                                "missing value", "missing required argument", "--params with a preset",
                                "misspelt command", "--option=--"]))
    if how == "--option=--":
        # "--" (the end of the options) given as an option's value
        option = draw(st.sampled_from(sorted(o for o, takes in options.items() if takes)))
        return ArgCase(f"{how}: {option}=--", tuple(_replace_or_add(groups, option, "--", equals=True)), (option,))
    if how in ("misspelt option", "abbreviated option"):
        original = draw(st.sampled_from(sorted(o for o in options if o not in ("-h", "--help"))))
        if how == "misspelt option":
            token = draw(near_miss([original], exclude=set(options), alphabet="abcdefghijklmnopqrstuvwxyz-_"))
            assume(not re.match(r"-[^-]", token) or not token.startswith("-h"))  # "-hours" is -h with an argument
        else:
            token = original[: draw(st.integers(3, len(original) - 1))]
            assume(token not in options)
        takes_value = options[original]
        fields: tuple = (token,)
        present = [i for i, g in enumerate(groups) if g[0] == original]
        if present:
            i = present[0]
            groups[i] = (token, *groups[i][1:])
            if command == "calibrate" and original == "--out":
                fields = (token, "--out")  # argparse names the missing required option first
        else:
            groups.insert(draw(st.integers(first_free, len(groups))), (token, "1") if takes_value else (token,))
        return ArgCase(f"{how}: {token!r} for {original}", tuple(groups), fields)
    if how == "unknown option":
        name = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=16))
        token = "--" + name
        assume(token not in options and not name.startswith("-"))
        form = draw(st.sampled_from(["flag", "with value", "with =value"]))
        group = (token,) if form == "flag" else (token, "1") if form == "with value" else (f"{token}=1",)
        groups.insert(draw(st.integers(first_free, len(groups))), group)
        return ArgCase(f"{how}: {group}", tuple(groups), (group[0],))
    if how == "missing value":
        option = draw(st.sampled_from(sorted(o for o, takes in options.items() if takes)))
        groups = _without(groups, option)
        if draw(st.booleans()) or len(groups) == first_free:
            groups.append((option,))
        else:
            at = draw(st.integers(first_free, len(groups) - 1))
            assume(groups[at][0].startswith("--"))
            groups.insert(at, (option,))
        return ArgCase(f"{how}: {option}", tuple(groups), (option,))
    if how == "missing required argument":
        if command == "analyze":
            return ArgCase(how, tuple(groups[:1] + groups[2:]), ("file",))
        if command == "preset show":
            return ArgCase(how, tuple(groups[:2] + groups[3:]), ("name",))
        required = {"link": "--nodes", "simulate": draw(st.sampled_from(["--nodes", "--trials"])),
                    "calibrate": "--out", "stabilization": None, "reproduce": None, "network": None}[command]
        assume(required is not None)
        return ArgCase(f"{how}: {required}", tuple(_without(groups, required)), (required,))
    if how == "--params with a preset":
        assume(command in ("link", "simulate"))
        extra = draw(st.lists(st.sampled_from([("--storage-us", "5"), ("--set", "server.switch_loss_db=1"),
                                               ("--calibration", "@/calibration.json")]), max_size=2, unique=True))
        groups = [*groups, ("--params", "@/params.json"), *extra]
        if draw(st.booleans()):
            groups = _without(_without(groups, "--preset"), "--nodes")
            assume(extra)
        setup = (("file", "params.json", json.dumps(PARAM_BASES[1])),)
        return ArgCase(how, tuple(groups), ("--params",), setup)
    name = command.split()[0]
    if command == "preset show" and draw(st.booleans()):
        action = draw(near_miss(["show", "list"], alphabet="abcdefghijklmnopqrstuvwxyz-_"))
        return ArgCase(f"{how}: preset {action}", (("preset",), (action,), *groups[2:]), (action,))
    typo = draw(near_miss([name], exclude=set(COMMAND_NAMES), alphabet="abcdefghijklmnopqrstuvwxyz-_"))
    assume(not typo.startswith("-"))
    return ArgCase(f"{how}: {typo}", ((typo,), *groups[1:]), (typo,))


FILE_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


@st.composite
def bad_paths(draw) -> ArgCase:
    command = draw(st.sampled_from(sorted(BASES_ARGV)))
    groups = list(BASES_ARGV[command])
    name = draw(FILE_NAME)
    kind = draw(st.sampled_from(["missing", "missing", "directory"]))
    nested = draw(st.booleans()) and kind == "missing"
    setup: tuple = (("dir", name),) if kind == "directory" else ()
    choices = []
    if command == "analyze":
        choices += ["FILE", "--background", "--out"]
    if command in ("link", "simulate"):
        choices += ["--params"]
    if command != "analyze":
        choices += ["--preset", "--calibration"]
    if command in ("simulate", "stabilization", "calibrate"):
        choices += ["--out"]
    option = draw(st.sampled_from(choices))
    suffix = {"FILE": ".csv", "--background": ".csv", "--params": ".json", "--preset": ".toml",
              "--calibration": ".json", "--out": ""}[option]
    path = f"@/{name}/inner{suffix}" if nested else f"@/{name}{suffix}"
    if option == "--out":
        # An output path that cannot be used: an existing folder (for a file), a file or a folder with files
        # (for a folder).
        if command in ("analyze", "calibrate"):
            setup = (("dir", name + suffix),)
        elif draw(st.booleans()):
            setup = (("file", name, "an earlier file\n"),)
        else:
            setup = (("dir", name), ("file", f"{name}/kept.csv", "an earlier run\n"))
        path = f"@/{name}"
        return ArgCase(f"{command}: --out {kind} {path}", tuple(_replace_or_add(groups, "--out", path)),
                       ("--out",), setup)
    if kind == "directory":
        setup = (("dir", name + suffix),)
    if option == "FILE":
        groups[1] = (path,)
    elif option == "--params":
        groups = [groups[0], *[g for g in groups[1:] if g[0] not in ("--preset", "--nodes")], ("--params", path)]
    elif option == "--preset" and command == "preset show":
        groups[2] = (path,)
    else:
        groups = _replace_or_add(groups, option, path)
    return ArgCase(f"{command}: {option} {kind} {path}", tuple(groups), (path, option), setup)


def check_command_line(scratch: Path, case: ArgCase) -> None:
    with case_folder(scratch) as folder:
        for item in case.setup:
            target = folder / item[1]
            if item[0] == "dir":
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(item[2], encoding="utf-8")
        argv = materialize([token for group in case.groups for token in group], folder)
        fields = materialize(case.fields, folder)
        check_refusal("command lines", argv, folder, fields, what=repr(case))


@fuzz(1250)
@given(case=bad_option_values())
def test_command_lines_with_bad_option_values(scratch, case):
    check_command_line(scratch, case)


@fuzz(900)
@given(case=bad_option_syntax())
def test_command_lines_with_bad_option_syntax(scratch, case):
    check_command_line(scratch, case)


@fuzz(450)
@given(case=bad_paths())
def test_command_lines_with_bad_paths(scratch, case):
    check_command_line(scratch, case)


# === the count (keep this test last) =========================================================================


def test_zz_at_least_ten_thousand_cases_ran():
    total = sum(EXECUTED[family] for family in FAMILIES)
    sweeps = {name: count for name, count in EXECUTED.items() if name not in FAMILIES}
    print(f"\nfuzz cases run: {', '.join(f'{family} {EXECUTED[family]}' for family in FAMILIES)}; total {total} "
          f"(and boundary sweeps: {', '.join(f'{name} {count}' for name, count in sweeps.items()) or 'none'})")
    assert all(EXECUTED[family] >= MIN_PER_FAMILY for family in FAMILIES), dict(EXECUTED)
    assert total >= MIN_TOTAL, total
