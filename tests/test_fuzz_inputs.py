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


def check_refusal(family: str, argv: list[str], folder: Path, fields, *, also=(), absent=(), what: str = "",
                  starts: str = "", skip_if=None) -> bool:
    """One case: status 2, nothing on stdout, one stderr line naming one of ``fields`` (and all of ``also``).

    ``fields`` and ``also`` hold strings (compared with runs of white space as one blank) or compiled
    patterns. Nothing may appear in ``folder`` or disappear from it. With ``starts`` the line must start
    with it, and the fields are looked for after it. ``skip_if(outcome)`` true: the case was not refused
    (e.g. a file that may be valid was accepted); it is not counted or checked, and False is returned.
    """
    before = _entries(folder)
    outcome = run_main(argv)
    after = _entries(folder)
    if skip_if is not None and skip_if(outcome):
        return False
    EXECUTED[family] += 1
    case = f"{what}\nargv = {argv!r}"
    assert outcome.raised is None, f"{case}\nraised (a traceback in a shell):\n{outcome.raised}"
    assert outcome.status == 2, f"{case}\nexit status {outcome.status!r}, stderr {outcome.err!r}, stdout {outcome.out[:300]!r}"
    assert outcome.out == "", f"{case}\nprinted on stdout: {outcome.out[:300]!r}"
    assert not outcome.warned, f"{case}\nwarnings: {outcome.warned}"
    err = outcome.err
    assert err.endswith("\n") and err.count("\n") == 1 and err.strip(), f"{case}\nnot one stderr line: {err!r}"
    assert "Traceback" not in err, f"{case}\n{err!r}"
    assert err.startswith(starts), f"{case}\ndoes not start with {starts!r}: {err!r}"
    line = _normal(err[len(starts):])

    def named(fragment) -> bool:
        if isinstance(fragment, re.Pattern):
            return fragment.search(line) is not None
        return _normal(fragment) in line

    assert any(named(fragment) for fragment in fields), f"{case}\nnames none of {list(fields)!r}: {err!r}"
    missing = [fragment for fragment in also if not named(fragment)]
    assert not missing, f"{case}\ndoes not name {missing!r}: {err!r}"
    assert after == before, f"{case}\nleft behind {sorted(set(after) - set(before))}, removed {sorted(set(before) - set(after))}"
    assert not any(path.exists() for path in absent), f"{case}\nwrote {[str(p) for p in absent if p.exists()]}"
    return True


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


# === family 5: sweep files (metroqnet sweep FILE --out STORE) ===============================================
#
# Systematic (not sampled) mutations of the three shipped examples (examples/sweeps/*.toml): every key
# removed, every value (leaves, lists, tables) replaced by each wrong value, an unknown key in every table,
# bad axis generators, unequal zips, unknown key paths, values out of range, damaged syntax, a bad base and
# malformed [select]/[optimize] constraints. Each is read by ``load_sweep_file`` first: a case known to be
# invalid that the parser accepts is a failure (it is not run: it would compute a sweep); a case that may be
# valid (``invalid=False``) and is accepted is skipped and counted apart (``SWEEP_SKIPPED``), never as a
# pass. A refused case is then run through ``main``: exit 2, one stderr line ``metroqnet sweep: error: ...``
# naming the field, and the STORE folder (like every other path) not created.

SWEEP_FILES = {path.stem: path.read_text(encoding="utf-8") for path in sorted((ROOT / "examples" / "sweeps").glob("*.toml"))}
SWEEP_DOCUMENTS = {name: tomllib.loads(text) for name, text in SWEEP_FILES.items()}
SWEEP_PREFIX = "metroqnet sweep: error:"
PLOT_PREFIX = "metroqnet plot: error:"
#: Cases skipped because the parser accepted a mutation that may be valid, by test.
SWEEP_SKIPPED: Counter[str] = Counter()
SWEEP_FAMILIES = ("sweep files", "plot command lines")
MIN_SWEEP_CASES = 1_000
MIN_PLOT_CASES = 25
_SWEEP_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")
_ANY = re.compile(r".")

#: Replacement values of every node: (what, value).
SWEEP_WRONG_VALUES = (
    ("a string", "text"), ("a bool", True), ("a negative number", -1), ("a NaN-like string", "nan"),
    ("an inf-like string", "-inf"), ("NaN", NAN), ("a huge float", 1e308), ("a huge integer", 10**30),
    ("an empty list", []), ("a nested table", {"a": 1}),
)

#: The range of each setting the examples vary: "prob" [0, 1) (χ), "nonneg" >= 0.
SETTING_RANGE = {"excitation_probability": "prob", "probe_mean_photon_number": "nonneg", "fibre_length_km": "nonneg"}


@dataclass(frozen=True)
class SweepCase:
    """A sweep file (``text``, or ``data`` bytes) that is refused (``invalid``) or may be valid (not asserted)."""

    what: str
    text: str
    fields: tuple
    invalid: bool = True
    setup: tuple = ()
    data: bytes | None = None


def _sweep_field(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _prefix_fields(path: tuple) -> tuple[str, ...]:
    """The dotted names of ``path`` and of each table above it (a refusal may name the table)."""
    return tuple(_sweep_field(path[:n]) for n in range(len(path), 0, -1))


def _sweep_get(document, path: tuple):
    for part in path:
        document = document[part]
    return document


def _sweep_edit(document: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(document)
    parent = _sweep_get(changed, path[:-1])
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return changed


def _nodes(document, path: tuple = ()):
    """Every key path of ``document`` (tables, arrays and their items, leaves), parents first."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*path, key)
            yield from _nodes(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*path, index)
            yield from _nodes(value, (*path, index))


def _axis_key(document: dict, path: tuple) -> str | None:
    """The setting a value at ``path`` sets (a vary axis' key, a zip column's, a variable's), if any."""
    if path[:1] == ("vary",) and len(path) >= 3:
        axis = document["vary"][path[1]]
        if path[2] == "zip" and len(path) >= 4:
            return path[3]
        return axis.get("key")
    if path[:2] == ("optimize", "variables") and len(path) >= 3:
        return path[2]
    if path[:2] == ("sweep", "star") and len(path) >= 4 and path[2] == "lengths_km":
        return "nodes.x.fibre_length_km"
    return None


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _setting_value_ok(setting: str | None, value):
    """False where ``value`` is refused as the setting's value; None where it may be allowed."""
    if not _number(value) or not math.isfinite(value):
        return False
    kind = SETTING_RANGE.get(str(setting).rsplit(".", 1)[-1])
    if kind is None:
        return None
    if value < 0 or (kind == "prob" and value >= 1):
        return False
    return None


def _value_ok(name: str, document: dict, path: tuple, value):
    """Whether the file with ``value`` at ``path`` is valid: False (refused), None (may be valid)."""
    parent = _sweep_get(document, path[:-1])
    key = path[-1]
    if path == ("sweep", "name") or (len(path) == 3 and path[0] == "vary" and key == "label"):
        valid = isinstance(value, str) and _SWEEP_NAME_RE.match(value) and value not in ("task", "task_id", "runs",
                                                                                            "wall_s", "worker")
        valid = valid and (path[0] == "sweep" or "." not in value)  # a label with a dot reads as a result name
        return None if valid else False
    if path == ("sweep", "description"):
        return None if isinstance(value, str) else False
    if path == ("sweep", "seed"):
        return None if _number(value) and isinstance(value, int) and 0 <= value < 2**63 else False
    if key == "constraints" and len(path) == 2:
        return None if value == [] else False
    if key == "num" and len(path) == 4:
        return None if _number(value) and isinstance(value, int) and 1 <= value <= 10**6 else False
    if path == ("optimize", "samples"):
        return None if _number(value) and isinstance(value, int) and 1 <= value <= 2**20 else False
    if path == ("optimize", "refine"):
        return None if isinstance(value, bool) else False
    if len(path) == 4 and path[:2] == ("optimize", "variables") and key in ("low", "high"):
        entry = parent
        low, high = (value, entry["high"]) if key == "low" else (entry["low"], value)
        if not (_number(value) and math.isfinite(value)) or not low < high:
            return False
        if entry.get("scale") == "log" and low <= 0:
            return False
        return _setting_value_ok(path[2], value)
    setting = _axis_key(document, path)
    if setting is not None and (isinstance(parent, list) or (len(path) == 4 and key in ("start", "stop"))
                                or path[:3] == ("sweep", "star", "lengths_km")):
        if len(path) == 4 and path[2] == "logspace" and _number(value) and value <= 0:
            return False
        return _setting_value_ok(setting, value)
    # everything else (tables, lists, kinds, names of nodes, links, key paths, scales, combine, base, ...)
    # has no valid value among the replacements
    return False


def _removal_ok(document: dict, path: tuple):
    """False where removing ``path`` leaves an invalid file; None where the file may stay valid."""
    key = path[-1]
    optional = {("sweep", "description"), ("sweep", "combine"), ("compute", "links"), ("select",),
                ("select", "constraints"), ("optimize", "constraints"), ("optimize", "links"),
                ("optimize", "samples"), ("optimize", "refine")}
    if path in optional or (len(path) == 3 and path[0] == "vary" and key == "label"):
        return None
    if path == ("compute",) and "vary" not in document:
        return None
    if len(path) == 2 and path[0] == "vary":  # one whole axis: the others remain
        return None if len(document["vary"]) > 1 else False
    if len(path) == 4 and path[0] == "vary" and path[2] == "zip":  # one zipped column: the others step on
        return None if len(document["vary"][path[1]]["zip"]) > 1 else False
    if len(path) == 4 and path[0] == "vary" and path[2] == "values":  # one value of a list
        return None if len(document["vary"][path[1]]["values"]) > 1 else False
    if len(path) == 3 and path[:2] == ("optimize", "variables"):
        return None if len(document["optimize"]["variables"]) > 1 else False
    if len(path) == 4 and path[:2] == ("optimize", "variables") and key == "scale":
        return None
    if len(path) == 3 and path[1] == "constraints":
        return None
    # the rest is required: a table or key the file needs, or an item of a zipped list (lengths then differ)
    return False


def _sweep_text(document: dict) -> str:
    return toml_document(document)


def _sweep_removals() -> list[SweepCase]:
    cases = []
    for name, document in SWEEP_DOCUMENTS.items():
        for path in _nodes(document):
            changed = _sweep_edit(document, path, DELETE)
            fields = _prefix_fields(path) + ("missing",)
            if path[:2] == ("sweep", "star"):  # the zipped fibre lengths then name nodes the base lacks
                fields += ("vary[2].zip",)
            cases.append(SweepCase(f"{name}: {_sweep_field(path)} removed", _sweep_text(changed), fields,
                                   invalid=_removal_ok(document, path) is False))
    return cases


def _sweep_wrong_values() -> list[SweepCase]:
    cases = []
    for name, document in SWEEP_DOCUMENTS.items():
        for path in _nodes(document):
            for what, value in SWEEP_WRONG_VALUES:
                if _sweep_get(document, path) == value and type(_sweep_get(document, path)) is type(value):
                    continue
                changed = _sweep_edit(document, path, value)
                cases.append(SweepCase(f"{name}: {_sweep_field(path)} = {value!r} ({what})", _sweep_text(changed),
                                       _prefix_fields(path), invalid=_value_ok(name, document, path, value) is False))
    return cases


def _sweep_unknown_keys() -> list[SweepCase]:
    """An unknown key (a made-up one, and a near miss of each key there) in every table, at every level."""
    cases = []
    for name, document in SWEEP_DOCUMENTS.items():
        tables = [()] + [path for path in _nodes(document) if isinstance(_sweep_get(document, path), dict)]
        for path in tables:
            table = _sweep_get(document, path)
            if path[-1:] == ("lengths_km",):  # its keys are the star's node names: a new key is a new node
                continue
            keys = ["bogus", "Bogus_key"] + [f"{key}s" for key in table if isinstance(key, str)][:6]
            keys += [key.upper() for key in table if isinstance(key, str) and key.upper() != key][:3]
            for key in dict.fromkeys(keys):
                if key in table:
                    continue
                changed = _sweep_edit(document, (*path, key), 1)
                fields = (key,)
                cases.append(SweepCase(f"{name}: unknown key {key!r} in {_sweep_field(path) or 'the top level'}",
                                       _sweep_text(changed), fields))
    return cases


def _small_grid_with(**edits) -> dict:
    document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
    for dotted, value in edits.items():
        path = tuple(int(p) if p.isdigit() else p for p in dotted.split("__"))
        document = _sweep_edit(document, path, value)
    return document


#: Bad generators of each axis: (what, generator table, refused for certain).
BAD_GENERATORS = (
    ("linspace num 0", {"linspace": {"start": 5.0, "stop": 15.0, "num": 0}}),
    ("linspace num -3", {"linspace": {"start": 5.0, "stop": 15.0, "num": -3}}),
    ("linspace num 2.5", {"linspace": {"start": 5.0, "stop": 15.0, "num": 2.5}}),
    ("linspace num '3'", {"linspace": {"start": 5.0, "stop": 15.0, "num": "3"}}),
    ("linspace num 10^7", {"linspace": {"start": 5.0, "stop": 15.0, "num": 10**7}}),
    ("linspace without num", {"linspace": {"start": 5.0, "stop": 15.0}}),
    ("linspace without start", {"linspace": {"stop": 15.0, "num": 3}}),
    ("linspace with step", {"linspace": {"start": 5.0, "stop": 15.0, "num": 3, "step": 1}}),
    ("linspace start nan", {"linspace": {"start": NAN, "stop": 15.0, "num": 3}}),
    ("linspace stop inf", {"linspace": {"start": 5.0, "stop": INF, "num": 3}}),
    ("linspace as a list", {"linspace": [5.0, 15.0, 3]}),
    ("logspace start 0", {"logspace": {"start": 0.0, "stop": 15.0, "num": 3}}),
    ("logspace start -1", {"logspace": {"start": -1.0, "stop": 15.0, "num": 3}}),
    ("logspace stop 0", {"logspace": {"start": 5.0, "stop": 0, "num": 3}}),
    ("logspace stop -5", {"logspace": {"start": 5.0, "stop": -5.0, "num": 3}}),
    ("logspace num 0", {"logspace": {"start": 5.0, "stop": 15.0, "num": 0}}),
    ("range step 0", {"range": {"start": 5.0, "stop": 15.0, "step": 0}}),
    ("range step 0.0", {"range": {"start": 5.0, "stop": 15.0, "step": 0.0}}),
    ("range stop < start", {"range": {"start": 15.0, "stop": 5.0, "step": 1.0}}),
    ("range step away from stop", {"range": {"start": 5.0, "stop": 15.0, "step": -1.0}}),
    ("range of 10^9 steps", {"range": {"start": 5.0, "stop": 15.0, "step": 1e-8}}),
    ("range step nan", {"range": {"start": 5.0, "stop": 15.0, "step": NAN}}),
    ("range step 'x'", {"range": {"start": 5.0, "stop": 15.0, "step": "x"}}),
    ("range without step", {"range": {"start": 5.0, "stop": 15.0}}),
    ("range with num", {"range": {"start": 5.0, "stop": 15.0, "step": 5.0, "num": 3}}),
    ("range into negative lengths", {"range": {"start": 5.0, "stop": -5.0, "step": -5.0}}),
    ("linspace into negative lengths", {"linspace": {"start": -5.0, "stop": 5.0, "num": 3}}),
    ("values and linspace", {"values": [5.0], "linspace": {"start": 5.0, "stop": 15.0, "num": 3}}),
    ("values and range", {"values": [5.0], "range": {"start": 5.0, "stop": 15.0, "step": 5.0}}),
    ("no generator", {}),
    ("values empty", {"values": []}),
    ("values a string", {"values": "5.0, 10.0"}),
    ("values a table", {"values": {"a": 5.0}}),
    ("values nested list", {"values": [[5.0], [10.0]]}),
    ("values with a NaN", {"values": [5.0, NAN]}),
    ("values with inf", {"values": [5.0, INF]}),
    ("values with a table", {"values": [5.0, {"a": 1}]}),
    ("values with a negative length", {"values": [5.0, -1.0]}),
    ("values with a string", {"values": [5.0, "ten"]}),
    ("values with a bool", {"values": [5.0, True]}),
    ("zip beside key", {"zip": {"nodes.alice.fibre_length_km": [5.0, 6.0]}}),
)


def _sweep_generators() -> list[SweepCase]:
    cases = []
    for what, generator in BAD_GENERATORS:
        document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
        axis = {"key": "nodes.alice.fibre_length_km", **generator}
        document["vary"][1] = axis
        cases.append(SweepCase(f"small_grid: vary[1] {what}", _sweep_text(document), _prefix_fields(("vary", 1))
                               + ("vary[1].linspace", "vary[1].logspace", "vary[1].range", "vary[1].values")))
    # logspace on chi (five_node_design's first axis): non-positive ends and ends out of [0, 1)
    for what, spec in (("start 0", {"start": 0, "stop": 0.05, "num": 6}), ("stop -0.05", {"start": 0.002, "stop": -0.05, "num": 6}),
                       ("stop 2", {"start": 0.002, "stop": 2.0, "num": 6}), ("num 0", {"start": 0.002, "stop": 0.05, "num": 0}),
                       ("start 1", {"start": 1.0, "stop": 0.05, "num": 6}), ("num true", {"start": 0.002, "stop": 0.05, "num": True})):
        document = copy.deepcopy(SWEEP_DOCUMENTS["five_node_design"])
        document["vary"][0]["logspace"] = spec
        cases.append(SweepCase(f"five_node_design: vary[0].logspace {what}", _sweep_text(document),
                               _prefix_fields(("vary", 0, "logspace"))))
    # the grid's size: above MAX_TASKS (10^6) in all
    document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
    document["vary"][0] = {"key": "nodes.*.excitation_probability", "linspace": {"start": 0.001, "stop": 0.05, "num": 1001}}
    document["vary"][1] = {"key": "nodes.alice.fibre_length_km", "linspace": {"start": 5.0, "stop": 15.0, "num": 1001}}
    cases.append(SweepCase("small_grid: 1001 x 1001 tasks", _sweep_text(document), ("vary",)))
    return cases


def _sweep_zips() -> list[SweepCase]:
    cases = []
    base = SWEEP_DOCUMENTS["five_node_design"]
    columns = base["vary"][2]["zip"]
    for key in columns:
        for what, change in (("one value short", lambda v: v[:-1]), ("one value long", lambda v: [*v, v[-1]]),
                             ("empty", lambda v: []), ("a number", lambda v: v[0]), ("a table", lambda v: {"a": v})):
            document = copy.deepcopy(base)
            document["vary"][2]["zip"][key] = change(columns[key])
            cases.append(SweepCase(f"five_node_design: zip {key} {what}", _sweep_text(document),
                                   ("vary[2].zip", "vary[2]")))
    for what, zipped in (("empty zip", {}), ("zip a list", [1, 2]), ("zip a string", "x"),
                         ("zip of an unknown node", {**columns, "nodes.n9.fibre_length_km": [1.0, 2.0, 3.0]}),
                         ("zip of an unknown field", {**columns, "nodes.n1.fibre_lenght_km": [1.0, 2.0, 3.0]}),
                         ("zip of a negative length", {**columns, "nodes.n1.fibre_length_km": [8.0, -5.0, 4.0]}),
                         ("zip naming a key of another axis", {**columns, "nodes.*.excitation_probability": [0.01] * 3})):
        document = copy.deepcopy(base)
        document["vary"][2]["zip"] = zipped
        cases.append(SweepCase(f"five_node_design: {what}", _sweep_text(document), ("vary[2].zip", "vary[2]", "vary")))
    # combine = "zip" with axes of unequal lengths (6, 4, 3; 2, 3), and an unknown combine
    for name in ("five_node_design", "small_grid"):
        for combine in ("zip", "outer", "Cross", ""):
            document = copy.deepcopy(SWEEP_DOCUMENTS[name])
            document["sweep"]["combine"] = combine
            cases.append(SweepCase(f"{name}: combine = {combine!r}", _sweep_text(document), ("vary", "sweep.combine")))
    # a key path or a label named twice
    document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
    document["vary"][1] = {"key": "nodes.*.excitation_probability", "values": [0.02]}
    cases.append(SweepCase("small_grid: the same key on two axes", _sweep_text(document), ("vary[1]",)))
    document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
    document["vary"][0]["label"] = document["vary"][1]["label"] = "chi"
    cases.append(SweepCase("small_grid: the same label on two axes", _sweep_text(document), ("vary[1]",)))
    for label in ("task", "task_id", "runs", "wall_s", "worker", "a b", "", "x/y"):
        document = copy.deepcopy(base)
        document["vary"][2]["label"] = label
        cases.append(SweepCase(f"five_node_design: label {label!r}", _sweep_text(document), ("vary[2].label",)))
    return cases


#: Key paths naming no node, field or section of the base.
BAD_KEY_PATHS = (
    "nodes.nobody.excitation_probability", "nodes.*.excitation_probabilty", "nodes.*.no_such_field",
    "nodes.alice", "nodes", "nodes.*", "server.no_such_field", "drift.no_such_field", "nowhere.excitation_probability",
    "experiments.no_such_experiment.storage_us", "topology.fibres.no-such-fibre.length_km", "", " ", "nodes..x",
    ".nodes.*.excitation_probability", "nodes.*.excitation_probability.", "NODES.*.excitation_probability",
    "nodes.Alice.fibre_length_km",
)


def _sweep_key_paths() -> list[SweepCase]:
    cases = []
    for name, document in SWEEP_DOCUMENTS.items():
        for index, axis in enumerate(document.get("vary", [])):
            if "key" not in axis:
                continue
            for key in BAD_KEY_PATHS:
                if name == "five_node_design" and key == "nodes.Alice.fibre_length_km":
                    continue
                changed = copy.deepcopy(document)
                changed["vary"][index]["key"] = key
                cases.append(SweepCase(f"{name}: vary[{index}].key = {key!r}", _sweep_text(changed),
                                       (f"vary[{index}].key", f"vary[{index}]")))
        for key in document.get("optimize", {}).get("variables", {}):
            for bad in BAD_KEY_PATHS:
                if not bad or bad in document["optimize"]["variables"]:
                    continue
                changed = copy.deepcopy(document)
                variables = changed["optimize"]["variables"]
                variables[bad] = variables.pop(key)
                cases.append(SweepCase(f"{name}: optimize.variables key {bad!r}", _sweep_text(changed),
                                       ("optimize.variables",)))
        # star nodes named in a zip that the star does not have, and the star's own refusals
    base = SWEEP_DOCUMENTS["five_node_design"]
    for what, star in (("template of no node", {"template": "zed", "lengths_km": base["sweep"]["star"]["lengths_km"]}),
                       ("template a number", {"template": 1, "lengths_km": base["sweep"]["star"]["lengths_km"]}),
                       ("one node", {"template": "alice", "lengths_km": {"n1": 8.0}}),
                       ("no node", {"template": "alice", "lengths_km": {}}),
                       ("a negative length", {"template": "alice", "lengths_km": {**base["sweep"]["star"]["lengths_km"], "n3": -1.0}}),
                       ("a NaN length", {"template": "alice", "lengths_km": {**base["sweep"]["star"]["lengths_km"], "n3": NAN}}),
                       ("a string length", {"template": "alice", "lengths_km": {**base["sweep"]["star"]["lengths_km"], "n3": "11 km"}}),
                       ("four of the five nodes", {"template": "alice", "lengths_km": {k: v for k, v in base["sweep"]["star"]["lengths_km"].items() if k != "n5"}})):
        changed = copy.deepcopy(base)
        changed["sweep"]["star"] = star
        cases.append(SweepCase(f"five_node_design: star {what}", _sweep_text(changed),
                               ("sweep.star", "vary[2]")))
    return cases


def _sweep_out_of_range() -> list[SweepCase]:
    """Each varied setting at values just outside its range, in each place a value is given."""
    outside = {"prob": (-0.001, -1e-300, 1.0, 1.5, 1e308), "nonneg": (-0.001, -1e-300, -1e308)}
    cases = []
    for name, document in SWEEP_DOCUMENTS.items():
        for path in _nodes(document):
            value = _sweep_get(document, path)
            setting = _axis_key(document, path)
            kind = SETTING_RANGE.get(str(setting).rsplit(".", 1)[-1])
            if kind is None or not _number(value):
                continue
            if not (isinstance(path[-1], int) or path[-1] in ("start", "stop", "low", "high")
                    or path[:3] == ("sweep", "star", "lengths_km")):
                continue
            for bad in outside[kind]:
                ok = _value_ok(name, document, path, bad)
                changed = _sweep_edit(document, path, bad)
                cases.append(SweepCase(f"{name}: {_sweep_field(path)} = {bad!r} (outside its range)",
                                       _sweep_text(changed), _prefix_fields(path), invalid=ok is False))
    return cases


def _damaged_texts(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines(keepends=True)
    out = [(f"truncated at {k}/12", text[: len(text) * k // 12]) for k in range(1, 12)]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            out.append((f"line {index + 1}: header without its ]",
                        "".join(lines[:index]) + line.replace("]", "", 1) + "".join(lines[index + 1:])))
            out.append((f"line {index + 1}: stray [", "".join(lines[:index]) + "[" + line + "".join(lines[index + 1:])))
            out.append((f"line {index + 1}: stray ]", "".join(lines[:index]) + line.rstrip("\n") + "]\n"
                        + "".join(lines[index + 1:])))
        elif "=" in stripped and not stripped.startswith("#"):
            key, _, value = line.partition("=")
            out.append((f"line {index + 1}: truncated value", "".join(lines[:index]) + key + "= " + value.strip()[:1]
                        + "\n" + "".join(lines[index + 1:])))
            out.append((f"line {index + 1}: duplicated", "".join(lines[: index + 1]) + line + "".join(lines[index + 1:])))
            out.append((f"line {index + 1}: value missing", "".join(lines[:index]) + key + "=\n"
                        + "".join(lines[index + 1:])))
    out.append(("a stray [[ at the end", text + "[[\n"))
    out.append(("[sweep] twice", text + "[sweep]\nname = \"again\"\n"))
    out.append(("[[vary]] as [vary]", text.replace("[[vary]]", "[vary]", 1)))
    return out


def _sweep_syntax_damage() -> list[SweepCase]:
    cases = []
    for name, text in SWEEP_FILES.items():
        for what, damaged in _damaged_texts(text):
            try:
                tomllib.loads(damaged)
            except tomllib.TOMLDecodeError:
                cases.append(SweepCase(f"{name}: {what}", damaged, ("TOML syntax error", LINE_COLUMN)))
            else:  # still TOML: it may even be a valid sweep (a truncation at a line's end)
                cases.append(SweepCase(f"{name}: {what} (still TOML)", damaged, (_ANY,), invalid=False))
    cases.append(SweepCase("small_grid: not UTF-8", "", ("sweep file", "UTF-8", "utf-8", "decode"),
                           data=SWEEP_FILES["small_grid"].encode("utf-8") + b"\n# \xff\xfe\n"))
    cases.append(SweepCase("an empty file", "", ("sweep",)))
    cases.append(SweepCase("a binary file", "", ("sweep file", "UTF-8", "utf-8", "NUL", "binary", "TOML"),
                           data=b"\x00\x01\x02[sweep]\x00"))
    return cases


def _sweep_bases() -> list[SweepCase]:
    cases = []
    bases = (
        ("a missing file", "no_such_network.toml", ()),
        ("a missing folder's file", "no_such_folder/network.toml", ()),
        ("a directory", "network_dir", (("dir", "network_dir"),)),
        ("a directory named .toml", "network.toml", (("dir", "network.toml"),)),
        ("the folder itself", ".", ()),
        ("a file that is not TOML", "bad.toml", (("file", "bad.toml", "[[[ not toml\n"),)),
        ("a TOML file that is not a network", "other.toml", (("file", "other.toml", "x = 1\n"),)),
        ("an empty file", "empty.toml", (("file", "empty.toml", ""),)),
        ("a preset's near miss", "hefei2025", ()),
        ("a preset's name in capitals", "HEFEI2024", ()),
        ("an absolute path that is missing", "/nonexistent/metroqnet/network.toml", ()),
        ("an empty string", "", ()),
        ("blank", "   ", ()),
        ("a network with a date in it", "dated.toml", (("file", "dated.toml", PRESET_TEXT + "\nwhen = 2024-01-01\n"),)),
        ("a network with an out-of-range value", "hot.toml",
         (("file", "hot.toml", PRESET_TEXT.replace("excitation_probability = { value = 0.01",
                                                    "excitation_probability = { value = 1.5", 1)),)),
    )
    for name, document in SWEEP_DOCUMENTS.items():
        for what, base, setup in bases:
            changed = copy.deepcopy(document)
            changed["sweep"]["base"] = base
            cases.append(SweepCase(f"{name}: base {what} ({base!r})", _sweep_text(changed), ("sweep.base",),
                                   setup=setup))
    return cases


#: Malformed constraint strings of [select] and [optimize].
BAD_CONSTRAINTS = (
    "min.fidelity > 0.7", "min.fidelity => 0.7", "min.fidelity = 0.7", "min.fidelity == 0.7", "min.fidelity >= ",
    ">= 0.7", "min.fidelity 0.7", "min.fidelity >= x", "min.fidelity >= nan", "min.fidelity >= inf",
    "min.fidelity >= -inf", "min.fidelity >= 0.7 and min.concurrence >= 0.5", "min.fidelity >= 0.7 extra", "",
    " ", "min.fidelity >= 0.7,", "min fidelity >= 0.7", "min.fidelity >= 1e999", "min.fidelity <= 0x10",
)


def _sweep_constraints() -> list[SweepCase]:
    cases = []
    tables = [("five_node_design", "select"), ("optimize_chi_probe", "optimize")]
    # small_grid gets a [select] table too
    small = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
    small["select"] = {"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity >= 0.7"]}
    documents = {**SWEEP_DOCUMENTS, "small_grid+select": small}
    tables.append(("small_grid+select", "select"))
    for name, section in tables:
        document = documents[name]
        for text in BAD_CONSTRAINTS:
            for position in ("only", "second"):
                changed = copy.deepcopy(document)
                changed[section]["constraints"] = [text] if position == "only" else ["min.fidelity >= 0.7", text]
                index = 0 if position == "only" else 1
                cases.append(SweepCase(f"{name}: {section}.constraints {position} {text!r}", _sweep_text(changed),
                                       (f"{section}.constraints[{index}]",)))
        for what, value in (("a string", "min.fidelity >= 0.7"), ("a table", {"min.fidelity": 0.7}),
                            ("a list of numbers", [0.7]), ("a list of lists", [["min.fidelity", ">=", 0.7]]),
                            ("a list with a table", [{"name": "min.fidelity"}]), ("a number", 0.7)):
            changed = copy.deepcopy(document)
            changed[section]["constraints"] = value
            cases.append(SweepCase(f"{name}: {section}.constraints {what}", _sweep_text(changed),
                                   (f"{section}.constraints",)))
        for what, edit in (("both maximize and minimize", {"minimize": "min.fidelity"}),
                           ("an empty objective", {"maximize": ""}), ("a numeric objective", {"maximize": 1}),
                           ("an objective list", {"maximize": ["min.pme_rate_hz"]})):
            changed = copy.deepcopy(document)
            changed[section].update(edit)
            cases.append(SweepCase(f"{name}: {section} {what}", _sweep_text(changed), (section,)))
        changed = copy.deepcopy(document)
        del changed[section]["maximize"]
        cases.append(SweepCase(f"{name}: {section} without an objective", _sweep_text(changed), (section,)))
    # result names of no figure or of no link of the sweep, in [select] (checked against the compute table)
    for name, section in (("five_node_design", "select"), ("small_grid+select", "select")):
        for text in ("min.fidelty", "fidelity", "min.", "minimum.fidelity", "alice-zed.fidelity", "n1-n9.fidelity",
                     "min.fidelity_stderr", "task_id", "nodes.*.excitation_probability"):
            for goal in ("maximize", "constraints"):
                changed = copy.deepcopy(documents[name])
                if goal == "maximize":
                    changed[section]["maximize"] = text
                else:
                    changed[section]["constraints"] = [f"{text} >= 0.5"]
                field_name = "select.maximize" if goal == "maximize" else "select.constraints[0]"
                cases.append(SweepCase(f"{name}: select.{goal} names {text!r}", _sweep_text(changed),
                                       (field_name, "select")))
    # the optimiser checks result names: figures that do not exist, links of no node pair
    document = SWEEP_DOCUMENTS["optimize_chi_probe"]
    for text in ("min.fidelty >= 0.7", "fidelity >= 0.7", "min. >= 0.7", "minimum.fidelity >= 0.7",
                 "alice-zed.fidelity >= 0.7"):
        changed = copy.deepcopy(document)
        changed["optimize"]["constraints"] = [text]
        cases.append(SweepCase(f"optimize_chi_probe: constraint {text!r}", _sweep_text(changed),
                               ("optimize.constraints[0]",)))
    for objective in ("min.pme_rate", "pme_rate_hz", "min.", "median.pme_rate_hz"):
        changed = copy.deepcopy(document)
        changed["optimize"]["maximize"] = objective
        cases.append(SweepCase(f"optimize_chi_probe: maximize {objective!r}", _sweep_text(changed),
                               ("optimize.maximize",)))
    for what, edit in (("samples 0", {"samples": 0}), ("samples 2^20 + 1", {"samples": 2**20 + 1}),
                       ("samples 1.5", {"samples": 1.5}), ("refine 'yes'", {"refine": "yes"}),
                       ("refine 1", {"refine": 1}), ("experiment 3", {"experiment": 3}),
                       ("experiment ''", {"experiment": ""}), ("links []", {"links": []}),
                       ("links twice", {"links": ["alice-bob", "alice-bob"]}), ("links 'alice-bob'", {"links": "alice-bob"}),
                       ("variables empty", {"variables": {}}),
                       ("low above high", {"variables": {"nodes.*.excitation_probability": {"low": 0.05, "high": 0.002}}}),
                       ("low equal to high", {"variables": {"nodes.*.excitation_probability": {"low": 0.01, "high": 0.01}}}),
                       ("log with low 0", {"variables": {"nodes.*.excitation_probability": {"low": 0.0, "high": 0.05, "scale": "log"}}}),
                       ("scale 'ln'", {"variables": {"nodes.*.excitation_probability": {"low": 0.002, "high": 0.05, "scale": "ln"}}}),
                       ("high 1.5 for chi", {"variables": {"nodes.*.excitation_probability": {"low": 0.002, "high": 1.5}}}),
                       ("low -1 for the probe", {"variables": {"nodes.*.probe_mean_photon_number": {"low": -1.0, "high": 0.1}}}),
                       ("a variable without high", {"variables": {"nodes.*.excitation_probability": {"low": 0.002}}}),
                       ("a variable of a text field", {"variables": {"nodes.alice.fibre_length_km.source": {"low": 1, "high": 2}}})):
        changed = copy.deepcopy(document)
        changed["optimize"].update(edit)
        cases.append(SweepCase(f"optimize_chi_probe: {what}", _sweep_text(changed), ("optimize",)))
    return cases


#: Bad [compute] tables of each kind (on small_grid's axes): (what, table, a field the refusal names).
BAD_COMPUTE_TABLES = (
    ("exact: trials (a simulate key)", {"kind": "exact", "trials": 10}, "trials"),
    ("exact: hours (a network key)", {"kind": "exact", "hours": 1.0}, "hours"),
    ("exact: residual_trials 1", {"kind": "exact", "residual_trials": 1}, "compute.residual_trials"),
    ("exact: residual_trials 0", {"kind": "exact", "residual_trials": 0}, "compute.residual_trials"),
    ("exact: residual_trials 1.5", {"kind": "exact", "residual_trials": 1.5}, "compute.residual_trials"),
    ("exact: residual_trials 'many'", {"kind": "exact", "residual_trials": "many"}, "compute.residual_trials"),
    ("exact: residual_seed -1", {"kind": "exact", "residual_seed": -1}, "compute.residual_seed"),
    ("exact: residual_seed 'tasks'", {"kind": "exact", "residual_seed": "tasks"}, "compute.residual_seed"),
    ("exact: residual_seed 1.5", {"kind": "exact", "residual_seed": 1.5}, "compute.residual_seed"),
    ("exact: residual_seed true", {"kind": "exact", "residual_seed": True}, "compute.residual_seed"),
    ("exact: residual_seed []", {"kind": "exact", "residual_seed": []}, "compute.residual_seed"),
    ("exact: figures of no figure", {"kind": "exact", "figures": ["fidelty"]}, "compute.figures"),
    ("exact: figures a string", {"kind": "exact", "figures": "fidelity"}, "compute.figures"),
    ("exact: figures [1]", {"kind": "exact", "figures": [1]}, "compute.figures"),
    ("exact: figures a table", {"kind": "exact", "figures": {"a": "fidelity"}}, "compute.figures"),
    ("exact: experiment 3", {"kind": "exact", "experiment": 3}, "compute.experiment"),
    ("exact: experiment ''", {"kind": "exact", "experiment": ""}, "compute.experiment"),
    ("exact: experiment of no experiment", {"kind": "exact", "experiment": "no_such_experiment"}, "compute.experiment"),
    ("exact: links []", {"kind": "exact", "links": []}, "compute.links"),
    ("exact: links twice", {"kind": "exact", "links": ["alice-bob", "alice-bob"]}, "compute.links"),
    ("exact: links a string", {"kind": "exact", "links": "alice-bob"}, "compute.links"),
    ("exact: links [1]", {"kind": "exact", "links": [1]}, "compute.links"),
    ("exact: links of no node", {"kind": "exact", "links": ["alice-zed"]}, "compute.links"),
    ("exact: links of one node", {"kind": "exact", "links": ["alice-alice"]}, "compute.links"),
    ("exact: links without a dash", {"kind": "exact", "links": ["alicebob"]}, "compute.links"),
    ("kind of no kind", {"kind": "exakt"}, "compute.kind"),
    ("kind in capitals", {"kind": "EXACT"}, "compute.kind"),
    ("kind missing", {"links": "all"}, "compute.kind"),
    ("simulate: no trials", {"kind": "simulate"}, "compute.trials"),
    ("simulate: trials 0", {"kind": "simulate", "trials": 0}, "compute.trials"),
    ("simulate: trials -1", {"kind": "simulate", "trials": -1}, "compute.trials"),
    ("simulate: trials '1e6'", {"kind": "simulate", "trials": "1e6"}, "compute.trials"),
    ("simulate: trials 1e6 (a float)", {"kind": "simulate", "trials": 1e6 + 0.5}, "compute.trials"),
    ("simulate: chunks 0", {"kind": "simulate", "trials": 100, "chunks": 0}, "compute.chunks"),
    ("simulate: target without value", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                        "target_stderr": {"figure": "fidelity"}}, "compute.target_stderr"),
    ("simulate: target without figure", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                         "target_stderr": {"value": 0.01}}, "compute.target_stderr"),
    ("simulate: target of no figure", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                       "target_stderr": {"figure": "fidelty", "value": 0.01}}, "compute.target_stderr"),
    ("simulate: target value 0", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                  "target_stderr": {"figure": "fidelity", "value": 0}}, "compute.target_stderr"),
    ("simulate: target value -0.01", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                      "target_stderr": {"figure": "fidelity", "value": -0.01}}, "compute.target_stderr"),
    ("simulate: target value nan", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                    "target_stderr": {"figure": "fidelity", "value": NAN}}, "compute.target_stderr"),
    ("simulate: target a number", {"kind": "simulate", "trials": 100, "max_trials": 1000, "target_stderr": 0.01},
     "compute.target_stderr"),
    ("simulate: target with an unknown key", {"kind": "simulate", "trials": 100, "max_trials": 1000,
                                              "target_stderr": {"figure": "fidelity", "value": 0.01, "sigma": 2}},
     "compute.target_stderr"),
    ("simulate: target without max_trials", {"kind": "simulate", "trials": 100,
                                             "target_stderr": {"figure": "fidelity", "value": 0.01}}, "compute.max_trials"),
    ("simulate: max_trials below trials", {"kind": "simulate", "trials": 100, "max_trials": 10,
                                           "target_stderr": {"figure": "fidelity", "value": 0.01}}, "compute.max_trials"),
    ("simulate: max_trials without a target", {"kind": "simulate", "trials": 100, "max_trials": 1000},
     "compute.max_trials"),
    ("simulate: chunks with a target", {"kind": "simulate", "trials": 100, "chunks": 3, "max_trials": 1000,
                                        "target_stderr": {"figure": "fidelity", "value": 0.01}}, "compute.chunks"),
    ("simulate: hours (a network key)", {"kind": "simulate", "trials": 100, "hours": 1.0}, "hours"),
    ("network: no hours", {"kind": "network"}, "compute.hours"),
    ("network: hours 0", {"kind": "network", "hours": 0}, "compute.hours"),
    ("network: hours -1", {"kind": "network", "hours": -1.0}, "compute.hours"),
    ("network: hours nan", {"kind": "network", "hours": NAN}, "compute.hours"),
    ("network: hours inf", {"kind": "network", "hours": INF}, "compute.hours"),
    ("network: hours '1h'", {"kind": "network", "hours": "1h"}, "compute.hours"),
    ("network: policy 'fifo'", {"kind": "network", "hours": 1.0, "policy": "fifo"}, "compute.policy"),
    ("network: policy 1", {"kind": "network", "hours": 1.0, "policy": 1}, "compute.policy"),
    ("network: residual_seed (an exact key)", {"kind": "network", "hours": 1.0, "residual_seed": 1}, "residual_seed"),
    ("loop: trials 1", {"kind": "loop", "trials": 1}, "compute.trials"),
    ("loop: trials -5", {"kind": "loop", "trials": -5}, "compute.trials"),
    ("loop: figures (not a loop key)", {"kind": "loop", "figures": ["fidelity"]}, "figures"),
    ("loop: experiment of no experiment", {"kind": "loop", "experiment": "no_such_experiment"}, "compute.experiment"),
)


def _sweep_compute_tables() -> list[SweepCase]:
    cases = []
    for what, table, field_name in BAD_COMPUTE_TABLES:
        document = copy.deepcopy(SWEEP_DOCUMENTS["small_grid"])
        document["compute"] = table
        cases.append(SweepCase(f"small_grid: compute {what}", _sweep_text(document), (field_name,)))
    # the optimiser's links and experiment, which the network defines
    for what, edit, field_name in (("links of no node", {"links": ["alice-zed"]}, "optimize.links"),
                                   ("experiment of no experiment", {"experiment": "no_such_experiment"},
                                    "optimize.experiment")):
        document = copy.deepcopy(SWEEP_DOCUMENTS["optimize_chi_probe"])
        document["optimize"].update(edit)
        cases.append(SweepCase(f"optimize_chi_probe: {what}", _sweep_text(document), (field_name,)))
    return cases


class AcceptedSweep(Exception):
    """Raised in place of running a sweep whose file the parser accepted (the sweep tests stub the runs)."""


def _accepted(*args, **kwargs):
    raise AcceptedSweep("the sweep file was accepted")


@pytest.fixture
def parse_only(monkeypatch):
    """``metroqnet sweep`` reads and checks its file, then stops: an accepted file computes nothing."""
    import metroqnet.cli.sweep_command as sweep_command

    monkeypatch.setattr(sweep_command, "_run_grid", _accepted)
    monkeypatch.setattr(sweep_command, "_run_optimisation", _accepted)


def _was_accepted(outcome: Outcome) -> bool:
    """The file was read and accepted: the stubbed run was reached, or ``--workers`` was refused for a file with
    no grid (which ``metroqnet sweep`` checks once the file is read)."""
    return (outcome.raised is not None and "AcceptedSweep" in outcome.raised) or (
        outcome.status == 2 and "has no [[vary]] grid" in outcome.err)


def _workers_option(case: SweepCase) -> tuple[str, ...]:
    """``--workers 1``, except for a file without [[vary]] (an optimisation alone runs in-process and refuses it)."""
    try:
        has_grid = case.data is not None or "vary" in tomllib.loads(case.text)
    except tomllib.TOMLDecodeError:
        has_grid = True
    return ("--workers", "1") if has_grid else ()


def check_sweep_case(scratch: Path, case: SweepCase, *, test: str) -> None:
    with case_folder(scratch) as folder:
        for item in case.setup:
            target = folder / item[1]
            if item[0] == "dir":
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(item[2], encoding="utf-8")
        path = folder / "case.toml"
        if case.data is not None:
            path.write_bytes(case.data)
        else:
            path.write_text(case.text, encoding="utf-8")
        store = folder / "store"
        argv = ["sweep", str(path), "--out", str(store), *_workers_option(case)]
        refused = check_refusal("sweep files", argv, folder, case.fields, absent=(store,), what=case.what,
                                starts=SWEEP_PREFIX, skip_if=_was_accepted)
        if not refused:
            assert not case.invalid, f"{case.what}\nargv = {argv!r}\naccepted by the parser: the sweep would run"
            SWEEP_SKIPPED[test] += 1


def _sweep_test(cases: list[SweepCase], scratch: Path, test: str) -> None:
    assert cases
    run_sweep(cases, lambda case: check_sweep_case(scratch, case, test=test))


def test_sweep_examples_parse_and_the_writer_round_trips_them():
    from metroqnet.sweeps.sweep_file import load_sweep_file

    for name, document in SWEEP_DOCUMENTS.items():
        assert same(tomllib.loads(_sweep_text(document)), document), name
        load_sweep_file(ROOT / "examples" / "sweeps" / f"{name}.toml")


def test_sweep_file_keys_removed(scratch, parse_only):
    _sweep_test(_sweep_removals(), scratch, "removals")


def test_sweep_file_values_of_the_wrong_type(scratch, parse_only):
    _sweep_test(_sweep_wrong_values(), scratch, "wrong values")


def test_sweep_file_unknown_keys(scratch, parse_only):
    _sweep_test(_sweep_unknown_keys(), scratch, "unknown keys")


def test_sweep_file_axis_generators(scratch, parse_only):
    _sweep_test(_sweep_generators(), scratch, "generators")


def test_sweep_file_zips_combine_and_labels(scratch, parse_only):
    _sweep_test(_sweep_zips(), scratch, "zips")


def test_sweep_file_key_paths_and_star(scratch, parse_only):
    _sweep_test(_sweep_key_paths(), scratch, "key paths")


def test_sweep_file_values_out_of_range(scratch, parse_only):
    _sweep_test(_sweep_out_of_range(), scratch, "out of range")


def test_sweep_file_syntax_damage(scratch, parse_only):
    _sweep_test(_sweep_syntax_damage(), scratch, "syntax")


def test_sweep_file_bad_bases(scratch, parse_only):
    _sweep_test(_sweep_bases(), scratch, "bases")


def test_sweep_file_compute_tables(scratch, parse_only):
    _sweep_test(_sweep_compute_tables(), scratch, "compute")


def test_sweep_file_select_and_optimize_tables(scratch, parse_only):
    _sweep_test(_sweep_constraints(), scratch, "select/optimize")


def test_sweep_command_lines(scratch):
    """The sweep command's own options and paths: a missing or unreadable FILE, a bad --workers, a bad --out."""
    good = SWEEP_FILES["small_grid"]
    cases = [
        (("missing FILE",), "nofile.toml", "store", ("--workers", "1"), (), ("nofile.toml", "FILE", "sweep file")),
        (("FILE a directory",), "adir", "store", ("--workers", "1"), (("dir", "adir"),), ("adir", "sweep file")),
        (("--out an existing file",), "case.toml", "out.txt", ("--workers", "1"), (("file", "out.txt", "kept\n"),),
         ("--out", "out.txt", "store")),
    ]
    for workers in ("0", "-1", "x", "1.5", "", "5000", "nan", "1e3x"):
        cases.append(((f"--workers {workers!r}",), "case.toml", "store", ("--workers", workers), (), ("--workers",)))
    cases.append((("--workers and --scheduler",), "case.toml", "store", ("--workers", "1", "--scheduler", "tcp://x:1"),
                  (), ("--scheduler", "--workers")))
    cases.append((("--scheduler not an address",), "case.toml", "store", ("--scheduler", "not an address"), (),
                  ("--scheduler", "scheduler")))
    cases.append((("an unknown option",), "case.toml", "store", ("--workers", "1", "--wrokers", "2"), (),
                  ("--wrokers",)))

    def check(case) -> None:
        (what,), file, out, options, setup, fields = case
        with case_folder(scratch) as folder:
            (folder / "case.toml").write_text(good, encoding="utf-8")
            for item in setup:
                if item[0] == "dir":
                    (folder / item[1]).mkdir()
                else:
                    (folder / item[1]).write_text(item[2], encoding="utf-8")
            argv = ["sweep", str(folder / file), "--out", str(folder / out), *options]
            check_refusal("sweep files", argv, folder, fields, what=what, starts=SWEEP_PREFIX)

    run_sweep(cases, check)


# === family 6: metroqnet plot STORE ========================================================================

TINY_SWEEP = """\
[sweep]
name = "tiny"
base = "hefei2024"
seed = 1
[compute]
kind = "exact"
links = ["alice-bob"]
residual_trials = 200
residual_seed = 2024
[[vary]]
key = "nodes.*.excitation_probability"
values = [0.005, 0.01]
"""


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory) -> Path:
    """A small real store (2 tasks, one link), made once per module."""
    folder = tmp_path_factory.mktemp("plot-store")
    (folder / "tiny.toml").write_text(TINY_SWEEP, encoding="utf-8")
    outcome = run_main(["sweep", str(folder / "tiny.toml"), "--out", str(folder / "store"), "--workers", "1"])
    assert outcome.raised is None and outcome.status == 0, (outcome.status, outcome.err, outcome.raised)
    return folder / "store"


#: (what, options, fields, known invalid): options are added after STORE, with "@/" the case's folder.
PLOT_CASES = (
    ("--x of no setting", ["--x", "nodes.*.no_such"], ("--x", "nodes.*.no_such"), True),
    ("--x empty", ["--x", ""], ("--x",), True),
    ("--x a result", ["--x", "min.fidelity"], ("--x", "min.fidelity"), True),
    ("--x a setting not varied", ["--x", "nodes.*.probe_mean_photon_number"], ("--x", "probe_mean_photon_number"), True),
    ("--x a bookkeeping column", ["--x", "wall_s"], ("--x", "wall_s"), True),
    ("--y of no result", ["--y", "min.nonsense"], ("--y", "min.nonsense"), True),
    ("--y empty", ["--y", ""], ("--y",), True),
    ("--y without a dot", ["--y", "fidelity"], ("--y", "fidelity"), True),
    ("--y a link of no pair", ["--y", "alice-zed.fidelity"], ("--y", "alice-zed.fidelity"), True),
    ("--y a good one and a bad one", ["--y", "min.fidelity", "--y", "min.bogus"], ("--y", "min.bogus"), True),
    ("--y a bookkeeping column", ["--y", "task_id"], ("--y", "task_id"), True),
    ("--threshold without =", ["--threshold", "min.fidelity"], ("--threshold",), True),
    ("--threshold without a value", ["--threshold", "min.fidelity="], ("--threshold",), True),
    ("--threshold without a name", ["--threshold", "=0.7"], ("--threshold",), True),
    ("--threshold a word", ["--threshold", "min.fidelity=high"], ("--threshold",), True),
    ("--threshold two =", ["--threshold", "min.fidelity=0.7=0.8"], ("--threshold",), True),
    ("--threshold nan", ["--threshold", "min.fidelity=nan"], ("--threshold",), True),
    ("--threshold inf", ["--threshold", "min.fidelity=inf"], ("--threshold",), True),
    ("--threshold of no result", ["--threshold", "min.bogus=0.7"], ("--threshold", "min.bogus"), True),
    ("--frontier one name", ["--frontier", "min.pme_rate_hz"], ("--frontier",), True),
    ("--frontier three names", ["--frontier", "min.pme_rate_hz,min.fidelity,min.concurrence"], ("--frontier",), True),
    ("--frontier a comma", ["--frontier", ","], ("--frontier",), True),
    ("--frontier a blank second", ["--frontier", "min.pme_rate_hz, "], ("--frontier",), True),
    ("--frontier a bad first", ["--frontier", "min.bogus,min.fidelity"], ("--frontier", "min.bogus"), True),
    ("--frontier a bad second", ["--frontier", "min.pme_rate_hz,min.bogus"], ("--frontier", "min.bogus"), True),
    ("--frontier a setting", ["--frontier", "nodes.*.excitation_probability,min.fidelity"], ("--frontier",), False),
    ("--frontier the same twice", ["--frontier", "min.fidelity,min.fidelity"], ("--frontier",), False),
    ("--out an existing file", ["--out", "@/file.png"], ("--out", "out_dir", "file.png"), True),
    ("an unknown option", ["--xx", "a"], ("--xx",), True),
    ("a missing value", ["--y"], ("--y",), True),
    ("--x twice", ["--x", "nodes.*.excitation_probability", "--x", "bogus"], ("--x", "bogus"), True),
)


def check_plot(scratch: Path, store: Path, what: str, store_argument: str, options, fields, invalid: bool,
               setup=()) -> None:
    with case_folder(scratch) as folder:
        (folder / "file.png").write_text("an earlier file\n", encoding="utf-8")
        for item in setup:
            target = folder / item[1]
            if item[0] == "dir":
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.write_bytes(item[2])
        options = [option.replace("@/", f"{folder}/") for option in options]
        if not any(option == "--out" for option in options):
            options = [*options, "--out", str(folder / "plots")]
        argv = ["plot", store_argument.replace("@/", f"{folder}/").replace("STORE", str(store)), *options]
        if not invalid:
            outcome = run_main(argv)
            if outcome.status == 0 and outcome.raised is None:
                SWEEP_SKIPPED["plot"] += 1
                shutil.rmtree(folder / "plots", ignore_errors=True)
                return
        before = _entries(store)
        # the option (--x) or the name plot_sweep gives it (x:, y:, threshold., frontier:)
        names = [f.replace("@/", f"{folder}/") for f in fields]
        names += [f"{f[2:]}:" for f in fields if f.startswith("--")] + [f"{f[2:]}." for f in fields if f.startswith("--")]
        check_refusal("plot command lines", argv, folder, names, what=what, starts=PLOT_PREFIX)
        assert _entries(store) == before or set(_entries(store)) - set(before) <= {
            "results.sqlite-shm", "results.sqlite-wal"}, f"{what}\nthe store changed"


def test_plot_command_lines_with_bad_options(scratch, sweep_store):
    cases = [(what, "STORE", options, fields, invalid, ()) for what, options, fields, invalid in PLOT_CASES]
    cases += [
        ("a missing store", "@/no_store", [], ("store", "no_store"), True, ()),
        ("a store that is a file", "@/file.png", [], ("store", "file.png"), True, ()),
        ("an empty folder", "@/empty", [], ("store", "empty"), True, (("dir", "empty"),)),
        ("a folder with a damaged database", "@/damaged", [], ("store", "damaged", "results.sqlite"), True,
         (("dir", "damaged"), ("file", "damaged/results.sqlite", b"not a database, just text\n" * 40))),
        ("a folder with an empty database", "@/hollow", [], ("store", "hollow", "results.sqlite"), True,
         (("dir", "hollow"), ("file", "hollow/results.sqlite", b""))),
        ("a damaged optimization.csv", "@/opt", [], ("optimization.csv", "opt", "store"), True,
         (("dir", "opt"), ("file", "opt/optimization.csv", b"a,b\n1\n\x00\xff\n"))),
    ]
    run_sweep(cases, lambda case: check_plot(scratch, sweep_store, case[0], case[1], case[2], case[3], case[4],
                                             case[5]))


# === the count (keep this test last) =========================================================================


def test_zz_at_least_ten_thousand_cases_ran():
    total = sum(EXECUTED[family] for family in FAMILIES)
    sweeps = {name: count for name, count in EXECUTED.items() if name not in (*FAMILIES, *SWEEP_FAMILIES)}
    print(f"\nfuzz cases run: {', '.join(f'{family} {EXECUTED[family]}' for family in FAMILIES)}; total {total} "
          f"(and boundary sweeps: {', '.join(f'{name} {count}' for name, count in sweeps.items()) or 'none'}; "
          f"{', '.join(f'{family} {EXECUTED[family]}' for family in SWEEP_FAMILIES)}; accepted as possibly valid "
          f"and skipped: {dict(SWEEP_SKIPPED) or 'none'})")
    assert all(EXECUTED[family] >= MIN_PER_FAMILY for family in FAMILIES), dict(EXECUTED)
    assert total >= MIN_TOTAL, total
    assert EXECUTED["sweep files"] >= MIN_SWEEP_CASES, dict(EXECUTED)
    assert EXECUTED["plot command lines"] >= MIN_PLOT_CASES, dict(EXECUTED)
