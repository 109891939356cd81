"""Network TOML loading: the Hefei 2024 preset (SPEC §3) and every refusal of a bad file."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import (
    EXPERIMENT_FIELD_CHECKS,
    NODE_FIELD_CHECKS,
    SERVER_FIELD_CHECKS,
    Experiment,
    NetworkHardware,
    NodeHardware,
    ServerHardware,
)
from metroqnet.config.presets import available_presets, load_network, load_network_file, load_preset
from metroqnet.config.provenance import Provenance

# --------------------------------------------------------------------------- Hefei preset


@pytest.fixture(scope="module")
def hefei() -> NetworkHardware:
    return load_preset("hefei2024")


def test_hefei_is_listed_and_loads(hefei):
    assert "hefei2024" in available_presets()
    assert hefei.name == "hefei2024"
    assert set(hefei.nodes) == {"alice", "bob", "charlie"}
    assert set(hefei.experiments) == {"storage_5us", "storage_107us"}


def test_hefei_every_value_is_tagged_and_estimates_say_why(hefei):
    owners = {name: NODE_FIELD_CHECKS for name in hefei.nodes}
    owners["server"] = SERVER_FIELD_CHECKS
    owners.update({name: EXPERIMENT_FIELD_CHECKS for name in hefei.experiments})
    expected_keys = {(owner, field) for owner, checks in owners.items() for field in checks}
    assert set(hefei.provenance) == expected_keys
    for key, tag in hefei.provenance.items():
        assert tag.source in ("paper", "estimated"), key
        if tag.source == "estimated":
            assert tag.reason and len(tag.reason) > 20, key
        assert tag.toml_key is not None
    source, reason = hefei.provenance[("alice", "fibre_length_km")]
    assert source == "estimated" and "20.5 km" in reason
    assert hefei.provenance[("alice", "fibre_length_km")].toml_key == "nodes.alice.fibre_length_km"
    assert hefei.provenance[("bob", "qfc_efficiency")].toml_key == "node_defaults.qfc_efficiency"


# Source: SPEC §3 / the paper's text, value by value.
PAPER_NODE_VALUES = {
    "excitation_probability": 0.01,  # "χ ≈ 1%"
    "qfc_efficiency": 0.46,  # "end-to-end efficiency of 46%"
    "qfc_noise_rate_hz": 1300.0,  # "noise of about 1.3 kHz"
    "fibre_attenuation_db_per_km": 0.3,  # "0.3 dB km−1"
}
PAPER_SERVER_VALUES = {"phase_residual_std_deg": 17.0, "timeslot_s": 5.8}


def test_hefei_paper_values_are_tagged_paper(hefei):
    for name in hefei.nodes:
        for field, value in PAPER_NODE_VALUES.items():
            assert getattr(hefei.nodes[name], field) == value
            assert hefei.provenance[(name, field)].source == "paper"
    for field, value in PAPER_SERVER_VALUES.items():
        assert getattr(hefei.server, field) == value
        assert hefei.provenance[("server", field)].source == "paper"
    five, long = hefei.experiments["storage_5us"], hefei.experiments["storage_107us"]
    assert (five.storage_us, five.repetition_rate_hz, five.nodes) == (5.0, 2760.0, ("alice", "bob"))
    assert (long.storage_us, long.repetition_rate_hz, long.nodes) == (107.0, 1030.0, ("alice", "bob"))
    assert hefei.provenance[("storage_107us", "storage_us")].source == "paper"


def test_hefei_estimates_are_the_spec_numbers(hefei):
    alice, bob, charlie = (hefei.nodes[n] for n in ("alice", "bob", "charlie"))
    assert (alice.fibre_length_km, bob.fibre_length_km, charlie.fibre_length_km) == (10.0, 10.0, 9.0)
    assert alice.writeout_collection_efficiency == 0.23
    assert alice.probe_mean_photon_number == 0.025
    assert alice.memory_lifetime_us == 560.0 and alice.memory_decay == "gaussian"
    assert alice.writeout_mode_overlap == 1.0
    s = hefei.server
    assert (s.snspd_efficiency, s.snspd_dark_count_rate_hz, s.switch_loss_db, s.herald_window_ns) == (
        0.7,
        20.0,
        1.0,
        250.0,
    )
    assert s.frequency_offset_rms_khz == pytest.approx(0.15 / math.sqrt(3), rel=1e-6)
    for field in ("writeout_collection_efficiency", "fibre_length_km", "writeout_mode_overlap"):
        assert hefei.provenance[("alice", field)].source == "estimated"


def test_hefei_published_figures(hefei):
    published = hefei.published
    assert published is not None and "Nature" in published.citation
    five = published.experiments["storage_5us"]
    assert five.heralding_probability.value == 6.9e-4
    assert five.herald_noise_fraction.value == 0.25
    assert (five.pme_fidelity_plus.value, five.pme_fidelity_plus.error) == (0.672, 0.032)
    assert (five.pme_fidelity_minus.value, five.pme_fidelity_minus.error) == (0.666, 0.031)
    assert (five.entangling_rate_hz.value, five.pme_rate_hz.value) == (1.93, 0.013)
    long = published.experiments["storage_107us"]
    assert (long.heralding_probability.value, long.entangling_rate_hz.value, long.pme_rate_hz.value) == (
        8.0e-4,
        0.83,
        0.0037,
    )
    assert (long.pme_fidelity_plus.value, long.pme_fidelity_minus.value) == (0.643, 0.637)
    table1 = {
        ("alice", "bob"): (0.086, 0.086, 0.38, 0.38),
        ("alice", "charlie"): (0.074, 0.063, 0.35, 0.30),
        ("bob", "charlie"): (0.032, 0.048, 0.17, 0.23),
    }
    for (x, y), expected in table1.items():
        link = published.link(y, x)  # either order
        got = (
            link.concurrence_plus.value,
            link.concurrence_minus.value,
            link.atomic_concurrence_plus.value,
            link.atomic_concurrence_minus.value,
        )
        assert got == expected
    assert published.link("alice", "bob").concurrence_plus.error == 0.014
    assert str(published.link("alice", "bob").atomic_concurrence_minus) == "0.38 ± 0.05"


def test_load_network_accepts_name_or_path(hefei, tmp_path):
    assert load_network("hefei2024") == hefei
    path = tmp_path / "net.toml"
    path.write_text(network_toml(), encoding="utf-8")
    assert load_network(path).name == "testnet"
    assert load_network(str(path)).name == "testnet"


def test_hardware_objects_are_frozen(hefei):
    with pytest.raises(dataclasses.FrozenInstanceError):
        hefei.nodes["alice"].fibre_length_km = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        hefei.nodes["dave"] = hefei.nodes["alice"]  # type: ignore[index]
    with pytest.raises(TypeError):
        NodeHardware("alice")  # type: ignore[misc]  # keyword-only


# --------------------------------------------------------------------------- a small valid file

NODE_LITERALS = {
    "excitation_probability": "0.01",
    "writeout_collection_efficiency": "0.2",
    "qfc_efficiency": "0.5",
    "qfc_noise_rate_hz": "1000.0",
    "fibre_length_km": "10.0",
    "fibre_attenuation_db_per_km": "0.3",
    "fibre_delay_us_per_km": "5.0",
    "writeout_mode_overlap": "1.0",
    "retrieval_efficiency_zero_storage": "0.5",
    "memory_lifetime_us": "500.0",
    "memory_decay": '"gaussian"',
    "read_path_transmission": "0.8",
    "local_detector_efficiency": "0.7",
    "local_dark_count_rate_hz": "100.0",
    "read_window_ns": "100.0",
    "probe_mean_photon_number": "0.02",
    "probe_mode_overlap": "0.9",
}
SERVER_LITERALS = {
    "switch_loss_db": "1.0",
    "interferometer_transmission": "0.9",
    "snspd_efficiency": "0.7",
    "snspd_dark_count_rate_hz": "20.0",
    "herald_window_ns": "250.0",
    "phase_residual_std_deg": "17.0",
    "frequency_offset_rms_khz": "0.1",
    "timeslot_s": "5.8",
}


def tagged(literal: str) -> str:
    return f'{{ value = {literal}, source = "estimated", reason = "test value" }}'


def network_toml(*, alice: dict | None = None, server: dict | None = None, top: str = "", tail: str = "") -> str:
    """A valid two-node file; ``alice`` / ``server`` map a field to a full right-hand side, or None to drop it."""

    def table(header: str, literals: dict[str, str], overrides: dict | None) -> str:
        lines = {field: tagged(lit) for field, lit in literals.items()}
        for field, rhs in (overrides or {}).items():
            if rhs is None:
                lines.pop(field, None)
            else:
                lines[field] = rhs
        return f"[{header}]\n" + "".join(f"{field} = {rhs}\n" for field, rhs in lines.items())

    return (
        f'name = "testnet"\n{top}\n'
        + table("nodes.alice", NODE_LITERALS, alice)
        + table("nodes.bob", NODE_LITERALS, None)
        + table("server", SERVER_LITERALS, server)
        + "[experiments.run]\n"
        + f"storage_us = {tagged('5.0')}\nrepetition_rate_hz = {tagged('1000.0')}\n"
        + 'nodes = ["alice", "bob"]\n'
        + tail
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "network.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_network_file(write(tmp_path, text))
    message = str(caught.value)
    assert "network.toml" in message  # every refusal names the file
    return message


def test_small_file_loads(tmp_path):
    network = load_network_file(write(tmp_path, network_toml()))
    assert network.nodes["alice"].fibre_length_km == 10.0
    assert network.provenance[("alice", "fibre_length_km")] == Provenance(
        source="estimated", reason="test value", toml_key="nodes.alice.fibre_length_km"
    )
    assert network.published is None


def test_node_defaults_fill_and_are_overridden(tmp_path):
    text = network_toml(alice={"qfc_efficiency": None}, top=f"[node_defaults]\nqfc_efficiency = {tagged('0.4')}\n")
    network = load_network_file(write(tmp_path, text))
    assert network.nodes["alice"].qfc_efficiency == 0.4  # from node_defaults
    assert network.nodes["bob"].qfc_efficiency == 0.5  # own value wins
    assert network.provenance[("alice", "qfc_efficiency")].toml_key == "node_defaults.qfc_efficiency"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"top": "colour = 1"}, ["top level", "colour"]),
        ({"alice": {"fibre_lenght_km": tagged("1.0")}}, ["nodes.alice", "fibre_lenght_km", "fibre_length_km"]),
        ({"server": {"snspd_eficiency": tagged("0.7")}}, ["server", "snspd_eficiency"]),
        (
            {"alice": {"fibre_length_km": '{ value = 10.0, source = "paper", units = "km" }'}},
            ["nodes.alice.fibre_length_km", "units"],
        ),
        ({"tail": "temperature_k = 3\n"}, ["experiments.run", "temperature_k"]),
        ({"top": f"[node_defaults]\nfibre_colour = {tagged('1.0')}\n"}, ["node_defaults", "fibre_colour"]),
        ({"tail": '[published]\ncitation = "x"\nfoo = 1\n'}, ["published", "foo"]),
        (
            {"tail": '[published]\ncitation = "x"\n[published.experiments.run]\nheralding_prob = { value = 1e-3 }\n'},
            ["published.experiments.run", "heralding_prob"],
        ),
    ],
)
def test_unknown_keys_refused_at_every_level(tmp_path, kwargs, expected):
    message = refusal(tmp_path, network_toml(**kwargs))
    for text in expected:
        assert text in message
    assert "unknown key" in message


def test_missing_node_value_refused(tmp_path):
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": None}))
    assert "nodes.alice.fibre_length_km" in message and "missing" in message


def test_missing_server_value_refused(tmp_path):
    message = refusal(tmp_path, network_toml(server={"timeslot_s": None}))
    assert "server.timeslot_s" in message and "missing" in message


def test_missing_value_in_tag_refused(tmp_path):
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": '{ source = "paper" }'}))
    assert "nodes.alice.fibre_length_km.value" in message and "missing" in message


def test_missing_source_refused(tmp_path):
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": "{ value = 10.0 }"}))
    assert "nodes.alice.fibre_length_km.source" in message and "missing" in message


def test_missing_server_table_refused(tmp_path):
    text = network_toml().replace("[server]", "[unused_server]")
    message = refusal(tmp_path, text)
    assert "unused_server" in message


@pytest.mark.parametrize(
    ("rhs", "shown"),
    [
        (tagged('"ten"'), "'ten'"),
        (tagged("true"), "True"),
        (tagged("[1, 2]"), "[1, 2]"),
        ("10.0", "inline table"),
    ],
)
def test_wrong_type_refused(tmp_path, rhs, shown):
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": rhs}))
    assert "nodes.alice.fibre_length_km" in message and shown in message
    assert "expected" in message


def test_bool_as_number_refused_in_server(tmp_path):
    message = refusal(tmp_path, network_toml(server={"snspd_dark_count_rate_hz": tagged("false")}))
    assert "server.snspd_dark_count_rate_hz" in message and "expected a number" in message


def test_negative_length_refused(tmp_path):
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": tagged("-1.0")}))
    assert "nodes.alice.fibre_length_km" in message and "-1.0" in message and "[0, inf]" in message


@pytest.mark.parametrize(
    ("field", "literal", "allowed"),
    [
        ("excitation_probability", "1.2", "[0, 1)"),
        ("excitation_probability", "1.0", "[0, 1)"),  # χ = 1 is an infinitely squeezed state
        ("writeout_mode_overlap", "1.5", "[0, 1]"),
        ("probe_mode_overlap", "-0.1", "[0, 1]"),
    ],
)
def test_probability_outside_unit_interval_refused(tmp_path, field, literal, allowed):
    message = refusal(tmp_path, network_toml(alice={field: tagged(literal)}))
    assert f"nodes.alice.{field}" in message and literal in message and allowed in message


@pytest.mark.parametrize("field", ["qfc_efficiency", "writeout_collection_efficiency", "local_detector_efficiency"])
def test_efficiency_above_one_refused(tmp_path, field):
    message = refusal(tmp_path, network_toml(alice={field: tagged("1.3")}))
    assert f"nodes.alice.{field}" in message and "1.3" in message and "[0, 1]" in message


def test_server_efficiency_above_one_refused(tmp_path):
    message = refusal(tmp_path, network_toml(server={"snspd_efficiency": tagged("1.01")}))
    assert "server.snspd_efficiency" in message and "1.01" in message


@pytest.mark.parametrize("field", ["memory_lifetime_us", "read_window_ns"])
def test_zero_window_or_lifetime_refused(tmp_path, field):
    message = refusal(tmp_path, network_toml(alice={field: tagged("0.0")}))
    assert f"nodes.alice.{field}" in message and "(0, inf]" in message


@pytest.mark.parametrize("literal", ["nan", "inf"])
def test_non_finite_refused(tmp_path, literal):
    message = refusal(tmp_path, network_toml(alice={"qfc_noise_rate_hz": tagged(literal)}))
    assert "nodes.alice.qfc_noise_rate_hz" in message and "finite" in message


def test_bad_source_tag_refused(tmp_path):
    rhs = '{ value = 10.0, source = "guess", reason = "because" }'
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": rhs}))
    assert "nodes.alice.fibre_length_km.source" in message and "'guess'" in message
    assert "'paper'" in message and "'estimated'" in message


def test_estimated_without_reason_refused(tmp_path):
    rhs = '{ value = 10.0, source = "estimated" }'
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": rhs}))
    assert "nodes.alice.fibre_length_km.reason" in message and "estimated" in message


def test_empty_reason_refused(tmp_path):
    rhs = '{ value = 10.0, source = "estimated", reason = "  " }'
    message = refusal(tmp_path, network_toml(alice={"fibre_length_km": rhs}))
    assert "nodes.alice.fibre_length_km.reason" in message


def test_paper_value_needs_no_reason(tmp_path):
    rhs = '{ value = 10.0, source = "paper", where = "Fig. 1d" }'
    network = load_network_file(write(tmp_path, network_toml(alice={"fibre_length_km": rhs})))
    assert network.provenance[("alice", "fibre_length_km")].where == "Fig. 1d"


def test_unknown_memory_decay_refused(tmp_path):
    message = refusal(tmp_path, network_toml(alice={"memory_decay": tagged('"linear"')}))
    assert "nodes.alice.memory_decay" in message and "'linear'" in message and "'gaussian'" in message


def test_experiment_with_unknown_node_refused(tmp_path):
    text = network_toml().replace('nodes = ["alice", "bob"]', 'nodes = ["alice", "dave"]')
    message = refusal(tmp_path, text)
    assert "experiments.run.nodes" in message and "dave" in message and "alice, bob" in message


def test_negative_storage_refused(tmp_path):
    text = network_toml().replace(f"storage_us = {tagged('5.0')}", f"storage_us = {tagged('-5.0')}")
    message = refusal(tmp_path, text)
    assert "experiments.run.storage_us" in message and "-5.0" in message


def test_published_value_must_be_a_number(tmp_path):
    tail = '[published]\ncitation = "x"\n[published.experiments.run]\npme_rate_hz = { value = "fast" }\n'
    message = refusal(tmp_path, network_toml(tail=tail))
    assert "published.experiments.run.pme_rate_hz.value" in message and "'fast'" in message


def test_published_experiment_must_be_declared(tmp_path):
    tail = '[published]\ncitation = "x"\n[published.experiments.other]\npme_rate_hz = { value = 1.0 }\n'
    message = refusal(tmp_path, network_toml(tail=tail))
    assert "published.experiments.other" in message and "run" in message


def test_toml_syntax_error_names_the_file(tmp_path):
    message = refusal(tmp_path, network_toml() + "broken = {\n")
    assert "TOML syntax error" in message and str(tmp_path / "network.toml") in message


def test_missing_file_refused(tmp_path):
    with pytest.raises(ConfigError, match="network file: .*absent.toml.* does not exist"):
        load_network_file(tmp_path / "absent.toml")


def test_unknown_preset_lists_available():
    with pytest.raises(ConfigError) as caught:
        load_preset("hefei2025")
    message = str(caught.value)
    assert "'hefei2025'" in message and "hefei2024" in message and "available presets" in message


# --------------------------------------------------------------------------- constructing in Python


def test_dataclass_refusals_name_the_field():
    server_kwargs = {field: float(lit) for field, lit in SERVER_LITERALS.items()}
    with pytest.raises(ConfigError, match=r"herald_window_ns: -1"):
        ServerHardware(**{**server_kwargs, "herald_window_ns": -1})
    with pytest.raises(ConfigError, match=r"repetition_rate_hz: 0"):
        Experiment(name="x", storage_us=1.0, repetition_rate_hz=0)
    with pytest.raises(ConfigError, match="nodes"):
        Experiment(name="x", storage_us=1.0, repetition_rate_hz=1.0, nodes=("a", "a"))


def test_network_refuses_a_node_named_server(hefei):
    alice = hefei.nodes["alice"]
    with pytest.raises(ConfigError, match="reserved"):
        NetworkHardware(
            name="n", nodes={"alice": alice, "server": alice.replace(name="server")}, server=hefei.server
        )
