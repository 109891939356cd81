"""The command line, in-process through ``metroqnet.cli.main.main(argv)``.

The CLI is a thin wrapper: its figures are compared with the library call it
mirrors on the same parameters (a consistency check of the wrapper, not of the
physics). Refused input must exit with status 2 and one line on stderr that
names the offending field and value, never a traceback.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from metroqnet.cli.main import main
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.presets import load_preset
from metroqnet.link.evaluate import evaluate_link
from metroqnet.experiments.link_setup import link_parameters_from_loop as link_parameters

FIGURE_KEYS = {
    "p00", "p01", "p10", "p11", "E", "d", "concurrence", "atomic_concurrence",
    "d_general", "concurrence_general", "atomic_concurrence_general",
    "zz", "xx", "yy", "fidelity", "pme_probability",
}
TOP_KEYS = {"herald_probability", "herald_probability_plus", "herald_probability_minus", "plus", "minus"}
RATE_KEYS = {"entangling_rate_hz", "pme_rate_hz"}
HEFEI_LINK = ["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--storage-us", "5"]

#: SPEC §2 parameters as a file gives them: unsuffixed names set both nodes, _x/_y one node.
FILE_VALUES = {
    "excitation_probability": 0.01,
    "herald_efficiency_x": 0.03,
    "herald_efficiency_y": 0.02,
    "herald_mode_overlap": 0.9,
    "herald_noise_probability": 1e-4,
    "read_efficiency_x": 0.27,
    "read_efficiency_y": 0.3,
    "phase_noise_std_rad": 0.3,
    "probe_mean_photon_number": 0.025,
    "probe_mode_overlap_x": 0.9,
    "probe_mode_overlap_y": 0.8,
    "local_noise_probability": 1e-5,
}
#: The same point spelled out field by field, without going through the file reader.
FILE_POINT = LinkParameters(
    excitation_probability_x=0.01,
    excitation_probability_y=0.01,
    herald_efficiency_x=0.03,
    herald_efficiency_y=0.02,
    herald_mode_overlap_x=0.9,
    herald_mode_overlap_y=0.9,
    herald_noise_probability=1e-4,
    read_efficiency_x=0.27,
    read_efficiency_y=0.3,
    phase_noise_std_rad=0.3,
    probe_mean_photon_number_x=0.025,
    probe_mean_photon_number_y=0.025,
    probe_mode_overlap_x=0.9,
    probe_mode_overlap_y=0.8,
    local_noise_probability_x=1e-5,
    local_noise_probability_y=1e-5,
)


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(argv, capsys):
    status, out, err = run([*argv, "--json"], capsys)
    assert status == 0, err
    assert err == ""
    return json.loads(out)


def toml_text(values: dict[str, object]) -> str:
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def write_params(tmp_path, values, suffix=".json", name="params"):
    path = tmp_path / f"{name}{suffix}"
    path.write_text(json.dumps(values) if suffix == ".json" else toml_text(values), encoding="utf-8")
    return path


# --- link from a preset -----------------------------------------------------------------


def test_link_preset_json_layout_and_values(capsys):
    document = run_json(HEFEI_LINK, capsys)
    assert TOP_KEYS <= set(document)
    # No rate given: the preset's experiment at 5 µs declares 2760 Hz, so the rates appear.
    assert document["repetition_rate_hz"] == 2760.0 and RATE_KEYS <= set(document)
    for sign in ("plus", "minus"):
        assert set(document[sign]) == FIGURE_KEYS
    expected = evaluate_link(
        link_parameters(load_preset("hefei2024"), "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    )
    assert document == expected.as_dict()


def test_link_preset_without_declared_experiment_has_no_rates(capsys):
    document = run_json(["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--storage-us", "50", "--json"], capsys)
    assert not RATE_KEYS & set(document)
    assert document["herald_probability"] == pytest.approx(
        document["herald_probability_plus"] + document["herald_probability_minus"], rel=1e-15
    )


def test_link_preset_with_repetition_rate(capsys):
    document = run_json([*HEFEI_LINK, "--repetition-rate-hz", "2760"], capsys)
    assert TOP_KEYS | RATE_KEYS <= set(document)
    assert document["entangling_rate_hz"] == pytest.approx(document["herald_probability"] * 2760, rel=1e-15)
    expected = evaluate_link(
        link_parameters(load_preset("hefei2024"), "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    )
    assert document == expected.as_dict()


def test_link_storage_default_is_5us(capsys):
    with_default = run_json(["link", "--preset", "hefei2024", "--nodes", "alice,bob"], capsys)
    assert with_default == run_json(HEFEI_LINK, capsys)


def test_link_at_a_declared_storage_time_takes_that_runs_settings(capsys):
    # 107 µs is the storage_107us run: its 1.03 kHz and its herald_transmission_scale (1.16).
    from metroqnet.experiments.link_setup import experiment_link_parameters

    document = run_json(["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--storage-us", "107"], capsys)
    assert document == evaluate_link(experiment_link_parameters(load_preset("hefei2024"), "storage_107us")).as_dict()


def test_link_human_table(capsys):
    status, out, err = run(HEFEI_LINK, capsys)
    assert status == 0 and err == ""
    assert "herald probability" in out
    assert "PME fidelity" in out


# --- link from a parameter file ---------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_link_params_file_matches_library(tmp_path, capsys, suffix):
    path = write_params(tmp_path, FILE_VALUES, suffix)
    assert LinkParameters.from_mapping(FILE_VALUES) == FILE_POINT
    document = run_json(["link", "--params", str(path)], capsys)
    assert document == evaluate_link(FILE_POINT).as_dict()
    for sign in ("plus", "minus"):
        assert set(document[sign]) == FIGURE_KEYS


def test_link_params_file_with_repetition_rate(tmp_path, capsys):
    path = write_params(tmp_path, FILE_VALUES, ".toml")
    document = run_json(["link", "--params", str(path), "--repetition-rate-hz", "1000"], capsys)
    assert document == evaluate_link(FILE_POINT.replace(repetition_rate_hz=1000.0)).as_dict()
    assert document["entangling_rate_hz"] == pytest.approx(document["herald_probability"] * 1000, rel=1e-15)


def test_link_params_file_human_table(tmp_path, capsys):
    status, out, err = run(["link", "--params", str(write_params(tmp_path, FILE_VALUES))], capsys)
    assert status == 0 and err == ""
    assert "herald probability" in out
    assert "PME fidelity" in out


def test_link_example_file_runs(capsys):
    """The example parameter file shipped in examples/ runs and matches the library."""
    path = Path(__file__).resolve().parents[1] / "examples" / "link_parameters.toml"
    if not path.is_file():
        pytest.skip("no examples/link_parameters.toml in this checkout")
    document = run_json(["link", "--params", str(path)], capsys)
    expected = LinkParameters.from_mapping(tomllib.loads(path.read_text(encoding="utf-8")))
    assert document == evaluate_link(expected).as_dict()
    assert RATE_KEYS <= set(document)


# --- refusals ---------------------------------------------------------------------------


def assert_refused(status, out, err, *fragments):
    assert "Traceback" not in err
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got {err!r}"
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def changed(**changes):
    values = {**FILE_VALUES, **changes}
    return {key: value for key, value in values.items() if value is not None}


FILE_REFUSALS = {
    "unknown key": (changed(herald_efficency=0.03), ["herald_efficency"]),
    "probability above 1": (changed(herald_noise_probability=1.5), ["herald_noise_probability", "1.5"]),
    "efficiency above 1": (changed(read_efficiency_x=1.2), ["read_efficiency_x", "1.2"]),
    "negative photon number": (changed(probe_mean_photon_number=-0.1), ["probe_mean_photon_number", "-0.1"]),
    "string for a number": (changed(excitation_probability="0.01"), ["excitation_probability", "'0.01'"]),
    "boolean for a number": (changed(phase_noise_std_rad=True), ["phase_noise_std_rad", "True"]),
    "missing required value": (changed(read_efficiency_x=None, read_efficiency_y=None), ["read_efficiency_x"]),
    "with and without suffix": (changed(herald_mode_overlap_x=0.8), ["herald_mode_overlap", "herald_mode_overlap_x"]),
    "negative repetition rate": (changed(repetition_rate_hz=-1.0), ["repetition_rate_hz", "-1.0"]),
    # Valid parameters the exact engine cannot take (photon cutoff above its limit).
    "chi beyond the engine": (changed(excitation_probability=0.9), ["excitation_probability", "0.9"]),
    # Valid parameters that leave every figure undefined: nothing can herald.
    "no heralds at all": (changed(herald_efficiency_x=0.0, herald_efficiency_y=0.0, herald_noise_probability=0.0),
                          ["undefined"]),
    # An EP pulse so strong that the engine's Fock sums overflow: refused, not NaN in the output.
    "EP beyond the engine": (changed(probe_mean_photon_number=1e300), ["probe_mean_photon_number", "1e+300"]),
}


@pytest.mark.parametrize("suffix", [".json", ".toml"])
@pytest.mark.parametrize("case", list(FILE_REFUSALS))
def test_link_params_file_refusals(tmp_path, capsys, case, suffix):
    values, fragments = FILE_REFUSALS[case]
    path = write_params(tmp_path, values, suffix)
    assert_refused(*run(["link", "--params", str(path)], capsys), *fragments)


@pytest.mark.parametrize(
    "name, text, fragments",
    [
        ("broken.json", '{"excitation_probability": 0.01', ["broken.json", "JSON"]),
        ("broken.toml", "excitation_probability = \n", ["broken.toml", "TOML"]),
        ("list.json", "[0.01, 0.03]", ["list.json", "list"]),
    ],
)
def test_link_params_unreadable_content(tmp_path, capsys, name, text, fragments):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert_refused(*run(["link", "--params", str(path)], capsys), *fragments)


def test_link_params_not_utf8(tmp_path, capsys):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{")
    assert_refused(*run(["link", "--params", str(path)], capsys), "binary.json", "UTF-8")


def test_link_params_missing_file(tmp_path, capsys):
    path = tmp_path / "nowhere.json"
    assert_refused(*run(["link", "--params", str(path)], capsys), "--params", "nowhere.json")


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--nodes", "alice"], ["--nodes", "'alice'"]),
        (["--nodes", "alice,zed"], ["'zed'", "alice, bob, charlie"]),
        (["--nodes", "alice,alice"], ["--nodes", "'alice' twice", "two different nodes"]),
        (["--nodes", "alice,bob", "--storage-us", "-1"], ["--storage-us", "-1", "[0, inf)"]),
        (["--nodes", "alice,bob", "--storage-us", "nan"], ["--storage-us", "nan"]),
        (["--nodes", "alice,bob", "--repetition-rate-hz", "0"], ["--repetition-rate-hz", "0"]),
        ([], ["--nodes", "alice, bob, charlie"]),
    ],
)
def test_link_preset_refusals(capsys, argv, fragments):
    assert_refused(*run(["link", "--preset", "hefei2024", *argv], capsys), *fragments)


def test_link_unknown_preset(capsys):
    assert_refused(*run(["link", "--preset", "nowhere2030", "--nodes", "alice,bob"], capsys),
                   "preset", "'nowhere2030'", "hefei2024")


def test_link_params_and_preset_together(tmp_path, capsys):
    path = write_params(tmp_path, FILE_VALUES)
    assert_refused(*run(["link", "--params", str(path), "--preset", "hefei2024"], capsys), "--params", "--preset")


def test_link_nothing_given(capsys):
    assert_refused(*run(["link"], capsys), "--preset", "--params")


@pytest.mark.parametrize(
    "argv",
    [
        [*HEFEI_LINK[:-1], "abc"],
        ["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--repetition-rate-hz", "fast"],
        ["link", "--no-such-option"],
        [],
    ],
)
def test_argparse_refusals_exit_2(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# --- reproduce --------------------------------------------------------------------------


def test_reproduce_table(capsys):
    status, out, err = run(["reproduce"], capsys)
    assert status == 0 and err == ""
    header = next(line for line in out.splitlines() if line.startswith("experiment"))
    assert "paper" in header.split()
    assert any("heralding probability" in line for line in out.splitlines())
    fidelity_lines = [line for line in out.splitlines() if "PME fidelity" in line]
    assert fidelity_lines
    # The paper column shows the published value with its error where the paper gives one.
    assert any("0.672 ± 0.032" in line for line in fidelity_lines)


def test_reproduce_json(capsys):
    rows = run_json(["reproduce"], capsys)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row) == {"experiment", "figure", "model", "model_error", "paper", "paper_error", "deviation_sigma",
                            "role"}
        assert row["role"] == "model" and row["model_error"] is None  # the preset as estimated, exact values
    figures = {row["figure"] for row in rows}
    assert "heralding probability" in figures
    assert any(figure.startswith("PME fidelity") for figure in figures)
    herald = next(row for row in rows if row["experiment"] == "storage_5us" and row["figure"] == "heralding probability")
    assert herald["paper"] == pytest.approx(6.9e-4)
    for row in rows:
        if row["paper_error"]:
            assert row["deviation_sigma"] == pytest.approx((row["model"] - row["paper"]) / row["paper_error"])
        else:
            assert row["deviation_sigma"] is None


def test_reproduce_unknown_preset(capsys):
    assert_refused(*run(["reproduce", "--preset", "nowhere2030"], capsys), "'nowhere2030'")


@pytest.mark.parametrize("storage_us", ["15000", "20000", "1e5"])
def test_link_preset_long_storage_is_answered(capsys, storage_us):
    # 15 ms and more of storage: the Gaussian decay leaves read efficiencies ~1e-312 or 0 and a phase
    # noise of tens of radians. Nothing comes back from the memory: C = 0, and the atomic C~ (which
    # deducts the read-out loss) is undefined, said in a note -- an answer, not a refusal.
    argv = ["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--storage-us", storage_us, "--json"]
    status, out, err = run(argv, capsys)
    assert status == 0 and err == ""
    document = json.loads(out)
    for sign in ("plus", "minus"):
        assert document[sign]["concurrence"] == 0.0 and document[sign]["atomic_concurrence"] is None
    assert "nothing comes back from the memory" in document["notes"][0]


def test_link_params_with_underflowing_read_efficiencies_is_answered(tmp_path, capsys):
    # Read efficiencies > 0 whose product underflows to 0: C~ cannot be deducted (was a ZeroDivisionError).
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**FILE_VALUES, "read_efficiency_x": 1e-170, "read_efficiency_y": 1e-170}))
    status, out, _ = run(["link", "--params", str(path), "--json"], capsys)
    assert status == 0 and json.loads(out)["plus"]["atomic_concurrence"] is None
