"""The network topology as data (issue 10, item 1) and each fibre's polarization residual.

Records and refusals (``metroqnet.config.topology``), the ``[topology]`` section of a network file
(``metroqnet.config.topology_file``), the node values derived from herald paths, the implicit star of
a file without one, the ``--set`` key paths, and the polarization factor of the mapping
(``metroqnet.physics.polarization``), checked against numerical integration over the Gaussian.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest
from scipy import integrate

from metroqnet.cli.main import main
from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.listing import value_rows
from metroqnet.config.presets import Override, load_network_file, load_preset, parse_override
from metroqnet.config.topology import Fibre, Server, Topology
from metroqnet.physics.mapping import link_parameters
from metroqnet.physics.polarization import polarization_overlap, polarization_overlap_deg
from tests.test_config_presets import network_toml, tagged

# --------------------------------------------------------------------------- records


def fibre(name: str, a: str, b: str, length_km: float = 10.0, **extra: float) -> Fibre:
    return Fibre(name=name, ends=(a, b), length_km=length_km, **extra)


def topology(fibres: list[Fibre], *, nodes=("alice", "bob"), servers=None) -> Topology:
    servers = servers or {"hub": Server(name="hub", switch_outputs=2)}
    return Topology(nodes=tuple(nodes), servers=servers, fibres={f.name: f for f in fibres})


def refused(build) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build()
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{caught.value.field}: "), message  # one line, field first
    return caught.value


STAR = [fibre("a-hub", "alice", "hub", 10.0), fibre("b-hub", "bob", "hub", 12.0)]


def test_a_star_of_two_nodes():
    star = topology(STAR)
    assert star.server_of("alice") == star.server_of("bob") == "hub"
    assert star.nodes_of("hub") == ("alice", "bob")
    assert star.pairs("hub") == star.pairs() == (("alice", "bob"),)
    assert [f.name for f in star.path("bob").fibres] == ["b-hub"] and star.path("bob").length_km == 12.0


def test_a_fibre_to_an_unknown_endpoint_is_refused():
    error = refused(lambda: topology([*STAR, fibre("c-hub", "carol", "hub")]))
    assert error.field == "fibres.c-hub.ends" and "'carol' is not a node or a server" in str(error)
    assert "alice, bob" in str(error) and "hub" in str(error)


def test_a_node_with_no_path_to_a_server_is_refused():
    error = refused(lambda: topology([STAR[0]]))
    assert error.field == "fibres" and "'bob' has no fibre path to a server" in str(error)
    # A fibre between two nodes alone does not reach a server either.
    error = refused(lambda: topology([STAR[0], fibre("b-c", "bob", "carol")], nodes=("alice", "bob", "carol")))
    assert "'bob' has no fibre path" in str(error)


def test_a_path_never_runs_through_another_server():
    """s2 has no node of its own (allowed), and no node reaches it through s1."""
    servers = {"s1": Server(name="s1", switch_outputs=2), "s2": Server(name="s2", switch_outputs=2)}
    net = topology([fibre("a-s1", "alice", "s1"), fibre("b-s1", "bob", "s1"), fibre("s1-s2", "s1", "s2")],
                   servers=servers)
    assert net.server_of("alice") == "s1" and net.nodes_of("s2") == () and net.pairs("s2") == ()


@pytest.mark.parametrize(
    ("build", "field", "shown"),
    [
        (lambda: fibre("f", "alice", "hub", -1.0), "length_km", "-1.0 is outside the allowed range [0, inf)"),
        (lambda: fibre("f", "alice", "hub", delay_us_per_km=-5.0), "delay_us_per_km", "-5.0"),
        (lambda: fibre("f", "alice", "hub", delay_us_per_km=0.0), "delay_us_per_km", "(0, inf)"),
        (lambda: fibre("f", "alice", "hub", attenuation_db_per_km=-0.1), "attenuation_db_per_km", "-0.1"),
        (lambda: fibre("f", "alice", "hub", polarization_residual_deg=-2.0), "polarization_residual_deg", "-2.0"),
        (lambda: fibre("f", "alice", "alice"), "ends", "to itself"),
        (lambda: Server(name="s", switch_outputs=1), "switch_outputs", "fewer outputs than a link needs"),
        (lambda: Server(name="s", switch_outputs=2.0), "switch_outputs", "expected an integer"),
        (lambda: Server(name="s", switch_outputs=-1), "switch_outputs", "allowed: >= 2"),
        (lambda: Server(name="s", switch_outputs=2, switch_inputs=0), "switch_inputs", "allowed: >= 1"),
    ],
)
def test_record_refusals_name_the_field(build, field, shown):
    error = refused(build)
    assert error.field == field and shown in str(error)


def test_a_switch_with_fewer_outputs_than_a_link_needs_says_two():
    assert "allowed: >= 2" in str(refused(lambda: Server(name="s", switch_outputs=1)))


@pytest.mark.parametrize(
    ("fibres", "servers", "field", "shown"),
    [
        ([*STAR, fibre("alice", "alice", "hub")], None, "fibres.alice", "also used by a node"),
        ([*STAR], {"alice": Server(name="alice", switch_outputs=2)}, "servers.alice", "also used by a node"),
        ([*STAR, fibre("hub", "alice", "hub")], None, "fibres.hub", "also used by a server"),
    ],
)
def test_a_name_used_twice_is_refused(fibres, servers, field, shown):
    error = refused(lambda: topology(fibres, servers=servers))
    assert error.field == field and shown in str(error)


def test_a_switch_with_fewer_inputs_than_its_nodes_is_refused():
    servers = {"hub": Server(name="hub", switch_outputs=2, switch_inputs=1)}
    error = refused(lambda: topology(STAR, servers=servers))
    assert error.field == "servers.hub.switch_inputs"
    assert "1 is fewer inputs than the 2 nodes attached to it (alice, bob); allowed: >= 2" in str(error)
    assert topology(STAR, servers={"hub": Server(name="hub", switch_outputs=2, switch_inputs=2)}).nodes_of("hub")


def test_a_node_reachable_from_two_servers_is_refused():
    servers = {"s1": Server(name="s1", switch_outputs=2), "s2": Server(name="s2", switch_outputs=2)}
    fibres = [fibre("a-s1", "alice", "s1", 5.0), fibre("a-s2", "alice", "s2", 7.0), fibre("b-s1", "bob", "s1")]
    error = refused(lambda: topology(fibres, servers=servers))
    assert error.field == "fibres" and "'alice' reaches 2 servers ('s1' at 5 km, 's2' at 7 km)" in str(error)
    assert "one server per node" in str(error)


def test_a_multi_hop_path_adds_lengths_losses_and_delays_and_residuals_in_quadrature():
    """alice -(3 km, 0.5 dB/km, 3°)- bob -(10 km, node's 0.3 dB/km, 4°)- hub: 13 km, 4.5 dB, 5°."""
    net = topology([fibre("a-b", "alice", "bob", 3.0, attenuation_db_per_km=0.5, delay_us_per_km=4.0,
                          polarization_residual_deg=3.0),
                    fibre("b-hub", "bob", "hub", 10.0, polarization_residual_deg=4.0),
                    fibre("a-hub", "alice", "hub", 14.0)])  # longer than 13 km: not alice's path
    path = net.path("alice")
    assert [f.name for f in path.fibres] == ["a-b", "b-hub"] and path.server == "hub"
    assert path.length_km == 13.0
    assert path.polarization_residual_deg == pytest.approx(5.0, rel=1e-15)
    assert path.attenuation_db_per_km(0.3) * path.length_km == pytest.approx(3.0 * 0.5 + 10.0 * 0.3, rel=1e-15)
    assert path.delay_us_per_km(5.0) * path.length_km == pytest.approx(3.0 * 4.0 + 10.0 * 5.0, rel=1e-15)
    assert [f.name for f in net.path("bob").fibres] == ["b-hub"]
    assert net.pairs() == (("alice", "bob"),)
    # A shorter direct fibre wins.
    shorter = topology([*net.fibres.values(), fibre("a-hub2", "alice", "hub", 12.0)])
    assert [f.name for f in shorter.path("alice").fibres] == ["a-hub2"]


def test_star_builder_for_benchmarks():
    star = Topology.star([5.0, 10.0, 15.0], switch_inputs=3, polarization_residual_deg=2.0)
    assert star.nodes == ("node0", "node1", "node2") and list(star.servers) == ["server"]
    assert [star.path(n).length_km for n in star.nodes] == [5.0, 10.0, 15.0]
    assert {f.polarization_residual_deg for f in star.fibres.values()} == {2.0}
    assert len(star.pairs("server")) == 3 and star.fibres["node1-server"].ends == ("node1", "server")
    named = Topology.star({"a": 1.0, "b": 2.0}, server="hub", switch_outputs=4)
    assert named.server_of("b") == "hub" and named.servers["hub"].switch_outputs == 4
    with pytest.raises(ConfigError, match="switch_inputs"):
        Topology.star([1.0, 2.0, 3.0], switch_inputs=2)


def test_topology_queries_refuse_unknown_names():
    star = topology(STAR)
    with pytest.raises(ConfigError, match="'carol' is not a node"):
        star.path("carol")
    with pytest.raises(ConfigError, match="'nowhere' is not a server"):
        star.nodes_of("nowhere")


# --------------------------------------------------------------------------- the Hefei preset


@pytest.fixture(scope="module")
def hefei() -> NetworkHardware:
    return load_preset("hefei2024")


def test_hefei_is_three_nodes_on_one_server(hefei):
    top = hefei.topology
    assert list(top.servers) == ["server"] and top.servers["server"].switch_outputs == 2
    assert all(top.server_of(node) == "server" for node in hefei.nodes)
    assert top.nodes_of("server") == ("alice", "bob", "charlie")
    assert top.pairs("server") == (("alice", "bob"), ("alice", "charlie"), ("bob", "charlie"))
    assert {name: top.path(name).length_km for name in hefei.nodes} == {"alice": 10.0, "bob": 10.0, "charlie": 9.0}
    assert {name: [f.name for f in top.path(name).fibres] for name in hefei.nodes} == {
        "alice": ["alice-server"], "bob": ["bob-server"], "charlie": ["charlie-server"]}


def test_hefei_switch_outputs_quote_the_paper(hefei):
    tag = hefei.tag("topology.servers.server", "switch_outputs")
    assert tag.source == "paper" and "two-output optical switch" in tag.quote
    assert tag.where == "Concurrent entanglement generation in the network"


def test_hefei_node_fibre_values_derive_from_the_fibres(hefei):
    for name in hefei.nodes:
        node, owner = hefei.nodes[name], f"topology.fibres.{name}-server"
        assert node.fibre_length_km == hefei.topology.fibres[f"{name}-server"].length_km
        assert hefei.tag(name, "fibre_length_km") is hefei.tag(owner, "length_km")
        assert hefei.tag(name, "fibre_length_km").toml_key == f"{owner}.length_km"
        # One residual for every fibre, in [topology.fibre_defaults]: 5° estimated, with its plausible range.
        assert node.fibre_polarization_residual_deg == 5.0
        tag = hefei.tag(name, "fibre_polarization_residual_deg")
        assert tag.toml_key == "topology.fibre_defaults.polarization_residual_deg" and tag.source == "estimated"
        assert "ref. 32" in tag.reason and "1-10 deg" in tag.reason
        # The per-km values are the node's (no fibre overrides them).
        assert hefei.tag(name, "fibre_attenuation_db_per_km").toml_key == "node_defaults.fibre_attenuation_db_per_km"


def test_hefei_lengths_live_once_in_the_preset():
    from importlib import resources

    text = (resources.files("metroqnet") / "presets" / "hefei2024.toml").read_text(encoding="utf-8")
    assert len(re.findall(r"^fibre_length_km\s*=", text, flags=re.M)) == 0
    assert len(re.findall(r"^length_km\s*=", text, flags=re.M)) == 3
    assert len(re.findall(r"^polarization_residual_deg\s*=", text, flags=re.M)) == 1


def test_preset_show_lists_the_topology_keys_with_their_tags(capsys):
    assert main(["preset", "show", "hefei2024", "--json"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)["values"]}
    assert rows["topology.servers.server.switch_outputs"]["source"] == "paper"
    assert rows["topology.fibres.charlie-server.length_km"]["value"] == 9.0
    assert rows["topology.fibres.charlie-server.length_km"]["source"] == "estimated"
    assert rows["topology.fibres.bob-server.polarization_residual_deg"]["value"] == 5.0
    assert rows["topology.fibres.alice-server.ends"]["value"] == ["alice", "server"]
    # A derived node value is listed once, at its fibre.
    assert not any("fibre_length_km" in key or "fibre_polarization_residual_deg" in key for key in rows)


def link_params(network: NetworkHardware, x: str, y: str) -> dict[str, float]:
    return link_parameters(network, x, y, storage_us=5.0, phase_residual_std_rad=0.2).to_mapping()


def gaussian_mean_cos2(residual_rad: float) -> float:
    """∫ cos²θ N(θ; 0, ε²) dθ, numerically."""
    if residual_rad == 0.0:
        return 1.0
    density = lambda theta: math.cos(theta) ** 2 * math.exp(-0.5 * (theta / residual_rad) ** 2)  # noqa: E731
    value, _ = integrate.quad(density, -12 * residual_rad, 12 * residual_rad, limit=200, epsabs=1e-14, epsrel=1e-13)
    return value / (residual_rad * math.sqrt(2.0 * math.pi))


def test_hefei_link_parameters_change_only_through_the_polarization_factor(hefei):
    ideal = load_preset("hefei2024", overrides=[Override(key="topology.fibres.*.polarization_residual_deg", value=0.0)])
    expected = gaussian_mean_cos2(math.radians(5.0))
    assert expected == pytest.approx(0.992442, abs=1e-6)
    for x, y in hefei.topology.pairs():
        with_residual, without = link_params(hefei, x, y), link_params(ideal, x, y)
        changed = {key for key in with_residual if with_residual[key] != without[key]}
        assert changed == {"herald_mode_overlap_x", "herald_mode_overlap_y"}
        for key in changed:
            assert with_residual[key] / without[key] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- the polarization model


@pytest.mark.parametrize("residual_rad", [0.0, 1e-4, 0.05, math.radians(5.0), 0.3, 1.0, 2.5])
def test_polarization_overlap_is_the_gaussian_mean_of_cos2(residual_rad):
    """(1 + exp(-2ε²))/2 against ∫ cos²θ N(θ; 0, ε²) dθ by quadrature (exact: no small-angle expansion)."""
    assert polarization_overlap(residual_rad) == pytest.approx(gaussian_mean_cos2(residual_rad), rel=1e-11, abs=1e-13)


def test_polarization_overlap_limits_and_refusals():
    assert polarization_overlap(0.0) == 1.0
    assert polarization_overlap(50.0) == pytest.approx(0.5, abs=1e-15)  # a uniform angle: half the intensity
    small = 1e-3
    assert 1.0 - polarization_overlap(small) == pytest.approx(small**2, rel=1e-5)  # ⟨θ²⟩ to first order
    grid = np.array([0.0, 0.1, 1.0])
    assert np.array_equal(polarization_overlap(grid), [polarization_overlap(float(e)) for e in grid])
    assert polarization_overlap_deg(5.0) == polarization_overlap(math.radians(5.0))
    with pytest.raises(ConfigError, match=r"residual_rad: -0.1 is outside the allowed range \[0, inf\)"):
        polarization_overlap(-0.1)
    with pytest.raises(ConfigError, match="residual_deg"):
        polarization_overlap_deg(float("nan"))


# --------------------------------------------------------------------------- files


BASE = re.sub(r"^fibre_(length_km|polarization_residual_deg) = .*\n", "", network_toml(), flags=re.M)
assert "fibre_length_km" not in BASE


def topology_toml(*, fibres: dict[str, tuple[str, str, str]] | None = None, extra: str = "",
                  server: str = "[topology.servers.hub]\nswitch_outputs = " + tagged("2") + "\n") -> str:
    """BASE (nodes alice and bob without fibre values) with a [topology]: fibre name -> (end, end, length)."""
    fibres = fibres if fibres is not None else {"alice-hub": ("alice", "hub", "10.0"), "bob-hub": ("bob", "hub", "12.0")}
    text = BASE + server
    for name, (a, b, length) in fibres.items():
        text += f'[topology.fibres.{name}]\nends = ["{a}", "{b}"]\nlength_km = {tagged(length)}\n'
    return text + extra


def load(tmp_path, text: str, overrides=()) -> NetworkHardware:
    path = tmp_path / "network.toml"
    path.write_text(text, encoding="utf-8")
    return load_network_file(path, overrides=overrides)


def file_refusal(tmp_path, text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_topology_file_loads_and_derives_the_nodes_values(tmp_path):
    network = load(tmp_path, topology_toml())
    assert network.nodes["bob"].fibre_length_km == 12.0 and network.topology.server_of("bob") == "hub"
    assert network.tag("bob", "fibre_length_km").toml_key == "topology.fibres.bob-hub.length_km"
    # No residual anywhere: 0 (no compensation error), untagged like any unset optional value.
    assert network.nodes["alice"].fibre_polarization_residual_deg == 0.0
    assert ("alice", "fibre_polarization_residual_deg") not in network.provenance


def test_a_multi_hop_file_derives_lengths_losses_delays_and_residuals(tmp_path):
    """alice -(3 km, 0.5 dB/km, 4 us/km, 3°)- bob -(10 km, 4°)- hub; the nodes' own 0.3 dB/km and 5 us/km elsewhere."""
    fibres = {"alice-bob": ("alice", "bob", "3.0"), "bob-hub": ("bob", "hub", "10.0")}
    extra = (f"[topology.fibre_defaults]\npolarization_residual_deg = {tagged('4.0')}\n"
             f'[topology.fibres.alice-bob.attenuation_db_per_km]\nvalue = 0.5\nsource = "paper"\nwhere = "Fig. 9"\n')
    text = topology_toml(fibres=fibres, extra=extra).replace(
        f'ends = ["alice", "bob"]\nlength_km = {tagged("3.0")}\n',
        f'ends = ["alice", "bob"]\nlength_km = {tagged("3.0")}\ndelay_us_per_km = {tagged("4.0")}\n'
        f'polarization_residual_deg = {tagged("3.0")}\n')
    network = load(tmp_path, text)
    alice, bob = network.nodes["alice"], network.nodes["bob"]
    assert alice.fibre_length_km == 13.0 and bob.fibre_length_km == 10.0
    assert alice.fibre_attenuation_db_per_km * 13.0 == pytest.approx(3.0 * 0.5 + 10.0 * 0.3, rel=1e-14)
    assert alice.fibre_delay_us_per_km * 13.0 == pytest.approx(3.0 * 4.0 + 10.0 * 5.0, rel=1e-14)
    assert alice.fibre_polarization_residual_deg == pytest.approx(5.0, rel=1e-15)  # √(3² + 4²)
    assert (bob.fibre_attenuation_db_per_km, bob.fibre_delay_us_per_km, bob.fibre_polarization_residual_deg) == (
        0.3, 5.0, 4.0)
    tag = network.tag("alice", "fibre_length_km")
    assert tag.source == "estimated" and "alice-bob 3 km" in tag.reason and "bob-hub 10 km" in tag.reason
    mixed = network.tag("alice", "fibre_attenuation_db_per_km")  # a paper section and the node's estimate
    assert mixed.source == "estimated" and "(paper)" in mixed.reason and "length-weighted" in mixed.reason
    assert network.tag("bob", "fibre_length_km").toml_key == "topology.fibres.bob-hub.length_km"
    # The multi-hop node's round trip and loss follow from the path.
    from metroqnet.physics.mapping import herald_path_transmission, round_trip_us

    assert round_trip_us(alice) == pytest.approx(2.0 * (3.0 * 4.0 + 10.0 * 5.0), rel=1e-14)
    ratio = herald_path_transmission(alice, network.server) / herald_path_transmission(bob, network.server)
    assert ratio == pytest.approx(10 ** (-(3.0 * 0.5) / 10), rel=1e-13)
    # --set of a multi-hop node's length is refused, naming the fibres to set.
    message = file_refusal(tmp_path, text, [parse_override("nodes.alice.fibre_length_km=12")])
    assert message.startswith("--set nodes.alice.fibre_length_km: alice's herald path runs through 2 fibres")
    assert "topology.fibres.alice-bob.length_km, topology.fibres.bob-hub.length_km" in message
    changed = load(tmp_path, text, [parse_override("nodes.bob.fibre_length_km=11")])  # bob's path: one fibre
    assert (changed.nodes["bob"].fibre_length_km, changed.nodes["alice"].fibre_length_km) == (11.0, 14.0)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"fibres": {"alice-hub": ("alice", "hub", "10.0"), "bob-hub": ("bob", "hubb", "1.0")}},
         ["topology.fibres.bob-hub.ends", "'hubb' is not a node or a server"]),
        ({"fibres": {"alice-hub": ("alice", "hub", "10.0")}}, ["topology.fibres", "'bob' has no fibre path"]),
        ({"fibres": {"alice-hub": ("alice", "hub", "10.0"), "bob-hub": ("bob", "hub", "-1.0")}},
         ["topology.fibres.bob-hub.length_km", "-1.0", "[0, inf)"]),
        ({"fibres": {"alice-hub": ("alice", "hub", "10.0"), "bob": ("bob", "hub", "1.0")}},
         ["topology.fibres.bob", "also used by a node"]),
        ({"server": f"[topology.servers.alice]\nswitch_outputs = {tagged('2')}\n"},
         ["topology.servers.alice", "also used by a node"]),
        ({"server": f"[topology.servers.hub]\nswitch_outputs = {tagged('1')}\n"},
         ["topology.servers.hub.switch_outputs", "fewer outputs than a link needs", ">= 2"]),
        ({"server": f"[topology.servers.hub]\nswitch_outputs = {tagged('2')}\nswitch_inputs = {tagged('1')}\n"},
         ["topology.servers.hub.switch_inputs", "fewer inputs than the 2 nodes"]),
        ({"server": f"[topology.servers.hub]\nswitch_inputs = {tagged('4')}\n"},
         ["topology.servers.hub.switch_outputs", "missing"]),
        ({"server": ""}, ["topology.servers", "at least one"]),
        ({"extra": f"[topology.servers.hub2]\nswitch_outputs = {tagged('2')}\n[topology.fibres.a-hub2]\n"
                   f'ends = ["alice", "hub2"]\nlength_km = {tagged("3.0")}\n'},
         ["topology.fibres", "'alice' reaches 2 servers"]),
        ({"extra": f"[topology.fibres.alice-hub.delay_us_per_km]\nvalue = -5.0\nsource = \"estimated\"\nreason = \"x\"\n"},
         ["topology.fibres.alice-hub.delay_us_per_km", "-5.0"]),
        ({"extra": "[topology.wires]\n"}, ["topology", "unknown key", "'wires'"]),
        ({"extra": f"[topology.fibres.alice-hub.colour]\nvalue = 1\nsource = \"estimated\"\nreason = \"x\"\n"},
         ["topology.fibres.alice-hub", "unknown key", "'colour'"]),
        ({"extra": f"[topology.fibre_defaults]\nlength_km = {tagged('1.0')}\n"},
         ["topology.fibre_defaults", "unknown key", "'length_km'"]),
        ({"extra": "[topology.fibres.cable]\nlength_km = " + tagged("1.0") + "\n"},
         ["topology.fibres.cable.ends", "missing"]),
        ({"extra": '[topology.fibres.cable]\nends = ["alice"]\nlength_km = ' + tagged("1.0") + "\n"},
         ["topology.fibres.cable.ends", "expected two endpoint names"]),
        ({"extra": '[topology.fibres.cable]\nends = ["alice", "hub"]\nlength_km = 3.0\n'},
         ["topology.fibres.cable.length_km", "inline table"]),
    ],
)
def test_a_bad_topology_file_is_refused_naming_the_key(tmp_path, kwargs, expected):
    message = file_refusal(tmp_path, topology_toml(**kwargs))
    assert "network.toml" in message
    for text in expected:
        assert text in message, message


@pytest.mark.parametrize(
    ("where", "key"),
    [("nodes.alice", "fibre_length_km"), ("node_defaults", "fibre_length_km"),
     ("nodes.bob", "fibre_polarization_residual_deg")],
)
def test_a_node_value_given_by_the_node_and_the_topology_is_refused(tmp_path, where, key):
    text = topology_toml().replace(f"[{where}]\n", f"[{where}]\n{key} = {tagged('9.0')}\n")
    if where == "node_defaults":
        text = text.replace("[nodes.alice]\n", f"[node_defaults]\n{key} = {tagged('9.0')}\n[nodes.alice]\n")
    message = file_refusal(tmp_path, text)
    assert f"{where}.{key}: given here and by the topology" in message and "two sources" in message
    assert "topology.fibres." in message


def test_without_a_topology_the_network_is_an_implicit_star(tmp_path):
    network = load(tmp_path, network_toml(alice={"fibre_polarization_residual_deg": tagged("2.0")}))
    top = network.topology
    assert list(top.servers) == ["server"] and top.servers["server"].switch_outputs == 2
    assert top.servers["server"].switch_inputs is None
    assert set(top.fibres) == {"alice-server", "bob-server"} and top.pairs() == (("alice", "bob"),)
    assert top.fibres["alice-server"].ends == ("alice", "server")
    assert top.path("bob").length_km == network.nodes["bob"].fibre_length_km == 10.0
    # The residual: the node's own where it gives one, else 0.
    assert (top.fibres["alice-server"].polarization_residual_deg, top.fibres["bob-server"].polarization_residual_deg) == (
        2.0, 0.0)
    # The node's own values keep their own tags, and are the ones listed.
    assert network.tag("alice", "fibre_length_km").toml_key == "nodes.alice.fibre_length_km"
    keys = [row.key for row in value_rows(network)]
    assert "nodes.*.fibre_length_km" in keys and not any(key.startswith("topology.") for key in keys)
    # A network built in code gets one too.
    built = NetworkHardware(name="n", nodes=network.nodes, server=network.server, drift=network.drift)
    assert built.topology == top
    # Topology keys have nothing to set; the node keys do.
    message = file_refusal(tmp_path, network_toml(), [parse_override("topology.fibres.alice-server.length_km=3")])
    assert "no [topology] section" in message and "nodes.NAME.fibre_length_km" in message
    assert load(tmp_path, network_toml(), [parse_override("nodes.alice.fibre_length_km=12")]).topology.path(
        "alice").length_km == 12.0


def test_network_refuses_a_topology_of_other_nodes(hefei):
    nodes = {name: hefei.nodes[name] for name in ("alice", "bob")}
    with pytest.raises(ConfigError, match=r"^topology: its nodes alice, bob, charlie are not the network's alice, bob"):
        NetworkHardware(name="n", nodes=nodes, server=hefei.server, drift=hefei.drift, topology=hefei.topology)
    same = dataclasses.replace(hefei, topology=hefei.topology)
    assert same == hefei


# --------------------------------------------------------------------------- --set


def test_set_node_length_sets_its_one_fibre(hefei):
    changed = load_preset("hefei2024", overrides=[parse_override("nodes.charlie.fibre_length_km=8")])
    assert changed.topology.fibres["charlie-server"].length_km == 8.0 == changed.nodes["charlie"].fibre_length_km
    assert changed.tag("topology.fibres.charlie-server", "length_km").source == "user"
    everyone = load_preset("hefei2024", overrides=[parse_override("nodes.*.fibre_polarization_residual_deg=2")])
    assert {node.fibre_polarization_residual_deg for node in everyone.nodes.values()} == {2.0}


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("topology.fibres.bob-server.length_km=11", lambda n: n.nodes["bob"].fibre_length_km == 11.0),
        ("topology.fibres.*.polarization_residual_deg=3", lambda n: all(
            node.fibre_polarization_residual_deg == 3.0 for node in n.nodes.values())),
        ("topology.fibres.alice-server.attenuation_db_per_km=0.25",
         lambda n: n.nodes["alice"].fibre_attenuation_db_per_km == 0.25 and n.nodes["bob"].fibre_attenuation_db_per_km == 0.3),
        ("topology.fibres.alice-server.delay_us_per_km=4.9", lambda n: n.nodes["alice"].fibre_delay_us_per_km == 4.9),
        ("topology.servers.server.switch_outputs=4", lambda n: n.topology.servers["server"].switch_outputs == 4),
        ("topology.servers.server.switch_inputs=3", lambda n: n.topology.servers["server"].switch_inputs == 3),
    ],
)
def test_set_topology_keys(text, check):
    changed = load_preset("hefei2024", overrides=[parse_override(text)])
    assert check(changed)
    key = text.partition("=")[0]
    owner, _, field = key.rpartition(".")
    owners = [f"topology.fibres.{f}" for f in changed.topology.fibres] if "*" in owner else [owner]
    assert all(changed.tag(o, field).source == "user" for o in owners)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("topology.fibres.zed.length_km=1", ["--set topology.fibres.zed.length_km", "'zed' is not one of"]),
        ("topology.fibres.alice-server.colour=1", ["--set topology.fibres.alice-server.colour", "unknown key"]),
        ("topology.servers.server.switch_outputs=1", ["--set topology.servers.server.switch_outputs", ">= 2"]),
        ("topology.servers.server.switch_inputs=2", ["--set topology.servers.server.switch_inputs", ">= 3"]),
        ("topology.fibres.alice-server.length_km=-3", ["--set topology.fibres.alice-server.length_km", "-3"]),
        ("nodes.alice.fibre_length_km=-2", ["--set nodes.alice.fibre_length_km", "-2", "[0, inf)"]),
        ("topology.fibres=1", ["--set topology.fibres", "not a key path"]),
        ("topology.fibre_defaults.polarization_residual_deg=1", ["not a key path"]),
    ],
)
def test_set_topology_refusals(text, expected):
    with pytest.raises(ConfigError) as caught:
        load_preset("hefei2024", overrides=[parse_override(text)])
    message = str(caught.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, message
