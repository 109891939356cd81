"""The sweep file: its grammar, the axes it expands to, and every refusal of bad input (one line, naming
the field and the value).

The ``[compute]`` and ``[optimize]`` tables are parsed by other modules; these tests put a stand-in for
each in place (:func:`stand_ins`), so they check this module alone. ``test_examples_load`` reads the
example files with the real ones.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import preset_text
from metroqnet.config.validation import refuse_unknown_keys
from metroqnet.sweeps.sweep_file import load_sweep_file, parse_sweep_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"


@dataclasses.dataclass(frozen=True)
class StandInCompute:
    """What the stand-in ``parse_compute_table`` returns: a frozen, picklable record with a strong id."""

    kind: str
    links: str | tuple[str, ...] = "all"


def stand_in_parse_compute(table, *, where="compute"):
    refuse_unknown_keys(where, table, ("kind", "links"))
    links = table.get("links", "all")
    return StandInCompute(kind=table["kind"], links=tuple(links) if isinstance(links, list) else links)


def stand_in_compute_task(compute, network, seed):
    """A deterministic function of the network and the seed: enough to check what a task is given."""
    nodes = list(network.nodes.values())
    return {"nodes": len(nodes), "chi": nodes[0].excitation_probability,
            "length_km": nodes[0].fibre_length_km, "draw": float(np.random.default_rng(seed).random())}


@dataclasses.dataclass(frozen=True)
class StandInVariable:
    key: str
    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class StandInOptimize:
    maximize: str
    variables: tuple[StandInVariable, ...] = ()


def stand_in_parse_optimize(table, *, where="optimize"):
    refuse_unknown_keys(where, table, ("maximize", "variables"))
    variables = tuple(StandInVariable(key=key, low=bounds["low"], high=bounds["high"])
                      for key, bounds in table.get("variables", {}).items())
    return StandInOptimize(maximize=table["maximize"], variables=variables)


def install_stand_ins(monkeypatch) -> None:
    """Replace metroqnet.sweeps.compute and .optimize (imported lazily by the sweep file) by stand-ins."""
    compute = types.ModuleType("metroqnet.sweeps.compute")
    compute.parse_compute_table = stand_in_parse_compute
    compute.compute_task = stand_in_compute_task
    compute.check_on_network = lambda compute, network, *, select=None: None
    optimize = types.ModuleType("metroqnet.sweeps.optimize")
    optimize.parse_optimize_table = stand_in_parse_optimize
    optimize.check_on_network = lambda spec, network: None
    monkeypatch.setitem(sys.modules, "metroqnet.sweeps.compute", compute)
    monkeypatch.setitem(sys.modules, "metroqnet.sweeps.optimize", optimize)


@pytest.fixture
def stand_ins(monkeypatch):
    install_stand_ins(monkeypatch)


HEAD = """
[sweep]
name = "t"
base = "hefei2024"
seed = 7
[compute]
kind = "exact"
"""


def parse(text: str, base_dir: Path | None = None):
    return parse_sweep_text(text, origin="t.toml", base_dir=base_dir)


def axis_values(spec, index=0):
    return [step[0] for step in spec.axes[index].steps]


# --- grammar and expansion -------------------------------------------------------------------------------


def test_small_grid_example(stand_ins):
    spec = load_sweep_file(EXAMPLES / "small_grid.toml")
    assert spec.name == "small-grid" and spec.seed == 1 and spec.base == "hefei2024" and spec.star is None
    assert [axis.keys for axis in spec.axes] == [("nodes.*.excitation_probability",), ("nodes.alice.fibre_length_km",)]
    assert axis_values(spec, 0) == [0.005, 0.01]
    assert axis_values(spec, 1) == [5.0, 10.0, 15.0]
    assert spec.n_tasks == 6 and spec.combine == "cross"
    assert spec.compute == StandInCompute(kind="exact", links=("alice-bob",))
    assert spec.source_text == (EXAMPLES / "small_grid.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("generator", "expected"), [
    ("values = [0.01, 0.02]", [0.01, 0.02]),
    ("linspace = { start = 0.01, stop = 0.03, num = 3 }", [0.01, 0.02, 0.03]),
    ("linspace = { start = 0.01, stop = 0.03, num = 1 }", [0.01]),
    ("logspace = { start = 0.001, stop = 0.1, num = 3 }", [0.001, 0.01, 0.1]),   # geometric: sqrt(1e-3 * 1e-1)
    ("range = { start = 0.1, stop = 0.3, step = 0.1 }", [0.1, 0.2, 0.3]),        # 0.1 + 2 * 0.1 = 0.30000000000000004
    ("range = { start = 0.0, stop = 0.1, step = 0.03 }", [0.0, 0.03, 0.06, 0.09]),  # stop off the grid: not included
    ("range = { start = 0.09, stop = 0.0, step = -0.03 }", [0.09, 0.06, 0.03, 0.0]),
])
def test_generators_give_hand_computed_values(stand_ins, generator, expected):
    spec = parse(HEAD + f'[[vary]]\nkey = "nodes.*.excitation_probability"\n{generator}\n')
    assert axis_values(spec) == pytest.approx(expected, rel=1e-12, abs=0)
    assert axis_values(spec) == expected  # exactly: float noise (0.1 + 2 * 0.1 = 0.30000000000000004) is rounded away


def test_integer_range_stays_integer(stand_ins):
    spec = parse(HEAD + '[[vary]]\nkey = "server.probe_rounds"\nrange = { start = 1, stop = 2, step = 1 }\n')
    assert axis_values(spec) == [1, 2] and all(type(v) is int for v in axis_values(spec))


def test_zip_group_and_label(stand_ins):
    spec = parse(HEAD + '[[vary]]\nlabel = "layout"\n'
                 'zip = { "nodes.alice.fibre_length_km" = [8, 5, 3], "nodes.bob.fibre_length_km" = [9.5, 6, 4] }\n')
    (axis,) = spec.axes
    assert axis.label == "layout"
    assert axis.keys == ("nodes.alice.fibre_length_km", "nodes.bob.fibre_length_km")
    assert axis.steps == ((8, 9.5), (5, 6), (3, 4))
    assert spec.n_tasks == 3


def test_cross_and_zip_counts(stand_ins):
    two = '[[vary]]\nkey = "nodes.*.excitation_probability"\nvalues = [0.01, 0.02]\n'
    two_more = '[[vary]]\nkey = "nodes.*.probe_mean_photon_number"\nvalues = [0.01, 0.02]\n'
    three = '[[vary]]\nkey = "server.probe_photons_per_node"\nvalues = [10, 20, 30]\n'
    assert parse(HEAD + two + three).n_tasks == 6
    assert parse(HEAD + two + two_more + three).n_tasks == 12
    zipped = HEAD.replace('seed = 7', 'seed = 7\ncombine = "zip"') + two + two_more
    assert parse(zipped).n_tasks == 2


def test_five_node_star_example_shape(stand_ins):
    spec = load_sweep_file(EXAMPLES / "five_node_design.toml")
    assert spec.star is not None and spec.star.template == "alice"
    assert [node for node, _ in spec.star.lengths_km] == ["n1", "n2", "n3", "n4", "n5"]
    assert [len(axis) for axis in spec.axes] == [6, 4, 3]
    assert spec.n_tasks == 72 <= 300
    assert spec.axes[2].label == "layout" and len(spec.axes[2].keys) == 5
    chi = axis_values(spec, 0)
    assert chi[0] == pytest.approx(0.002) and chi[-1] == pytest.approx(0.05)
    assert np.diff(np.log(chi)) == pytest.approx([math.log(25) / 5] * 5)  # log-spaced


def test_examples_load_with_the_real_compute_and_optimize_tables():
    pytest.importorskip("metroqnet.sweeps.compute", reason="metroqnet.sweeps.compute not written yet")
    for name, tasks in (("small_grid.toml", 6), ("five_node_design.toml", 72)):
        assert load_sweep_file(EXAMPLES / name).n_tasks == tasks


def test_base_path_relative_to_the_sweep_file(stand_ins, tmp_path):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "copy.toml").write_text(preset_text("hefei2024")[0], encoding="utf-8")
    body = '[[vary]]\nkey = "nodes.*.excitation_probability"\nvalues = [0.01]\n'
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(HEAD.replace('"hefei2024"', '"nets/copy.toml"') + body, encoding="utf-8")
    from_file = load_sweep_file(sweep)
    assert from_file.base == str((tmp_path / "nets" / "copy.toml").resolve())
    from_preset = parse(HEAD + body)
    assert from_file.base_id == from_preset.base_id  # the same network, whatever it is called
    assert from_file.sweep_id == from_preset.sweep_id


def test_optimize_alone_has_no_grid(stand_ins):
    spec = parse('[sweep]\nname = "o"\nbase = "hefei2024"\nseed = 1\n[optimize]\nmaximize = "min.pme_rate_hz"\n')
    assert spec.axes == () and spec.n_tasks == 0 and spec.compute is None
    assert spec.optimize == StandInOptimize(maximize="min.pme_rate_hz")


OPTIMIZE = ('[sweep]\nname = "o"\nbase = "hefei2024"\nseed = 1\n[optimize]\nmaximize = "min.pme_rate_hz"\n'
            '[optimize.variables]\n"nodes.*.excitation_probability" = { low = 0.002, high = 0.05 }\n')


def test_optimize_variables_are_checked_on_the_base(stand_ins):
    spec = parse(OPTIMIZE)
    assert spec.optimize.variables == (StandInVariable(key="nodes.*.excitation_probability", low=0.002, high=0.05),)
    with pytest.raises(ConfigError, match=r"^t\.toml: optimize\.variables: 'nodes\.\*\.excitation_probabilty' is not a "
                                          r"parameter .*did you mean 'excitation_probability'"):
        parse(OPTIMIZE.replace("probability", "probabilty"))
    with pytest.raises(ConfigError, match=r"^t\.toml: optimize\.variables: nodes\.\*\.excitation_probability = 1\.5 "
                                          r"\(high bound\) is refused: .*\[0, 1\)"):
        parse(OPTIMIZE.replace("high = 0.05", "high = 1.5"))


def test_sweep_id_changes_with_the_definition(stand_ins):
    body = '[[vary]]\nkey = "nodes.*.excitation_probability"\nvalues = [0.01, 0.02]\n'
    ids = {
        parse(HEAD + body).sweep_id,
        parse(HEAD.replace("seed = 7", "seed = 8") + body).sweep_id,
        parse(HEAD + body.replace("0.02", "0.03")).sweep_id,
        parse(HEAD.replace('"exact"', '"simulate"') + body).sweep_id,
        parse(HEAD.replace('name = "t"', 'name = "u"') + body).sweep_id,
    }
    assert len(ids) == 5
    assert parse(HEAD + body).sweep_id == parse("# a comment\n" + HEAD + body).sweep_id  # the text is not the id


# --- refusals ------------------------------------------------------------------------------------------------

AXIS = '[[vary]]\nkey = "nodes.*.excitation_probability"\n'

REFUSALS = [
    # (file text, substrings the one-line message must hold)
    ("[sweep\n", ["TOML syntax error"]),
    (HEAD + AXIS + "values = [0.01]\n[[varry]]\n", ["top level", "'varry'", "did you mean 'vary'"]),
    (HEAD.replace("seed = 7", "sed = 7") + AXIS + "values = [0.01]\n", ["sweep: unknown key(s) 'sed'", "did you mean 'seed'"]),
    (HEAD.replace('name = "t"\n', "") + AXIS + "values = [0.01]\n", ["sweep.name: missing"]),
    (HEAD.replace("seed = 7\n", "") + AXIS + "values = [0.01]\n", ["sweep.seed: missing"]),
    (HEAD.replace('base = "hefei2024"\n', "") + AXIS + "values = [0.01]\n", ["sweep.base: missing"]),
    (HEAD.replace('"t"', '"five node"') + AXIS + "values = [0.01]\n", ["sweep.name", "'five node'", "letters, digits"]),
    (HEAD.replace("seed = 7", "seed = -1") + AXIS + "values = [0.01]\n", ["sweep.seed", "-1", "[0,"]),
    (HEAD.replace("seed = 7", "seed = 1.5") + AXIS + "values = [0.01]\n", ["sweep.seed", "1.5", "integer"]),
    (HEAD.replace("seed = 7", 'seed = 7\ncombine = "outer"') + AXIS + "values = [0.01]\n",
     ["sweep.combine", "'outer'", "'cross'", "'zip'"]),
    (HEAD.replace('"hefei2024"', '"hefei2025"') + AXIS + "values = [0.01]\n",
     ["sweep.base", "'hefei2025'", "neither a packaged preset (hefei2024)", "does not exist"]),
    (HEAD.replace('"hefei2024"', '"."') + AXIS + "values = [0.01]\n", ["sweep.base", "is a directory"]),
    ('[sweep]\nname = "t"\nbase = "hefei2024"\nseed = 1\n', ["vary: missing", "[optimize]"]),
    ('[sweep]\nname = "t"\nbase = "hefei2024"\nseed = 1\n' + AXIS + "values = [0.01]\n", ["compute: missing"]),
    (HEAD + '[[vary]]\nkey = "nodes.*.excitation_probabilty"\nvalues = [0.01]\n',
     ["vary[0].key", "'nodes.*.excitation_probabilty' is not a parameter", "did you mean 'excitation_probability'"]),
    (HEAD + '[[vary]]\nkey = "nodes.dave.excitation_probability"\nvalues = [0.01]\n',
     ["vary[0].key", "'dave' is not one of the nodes", "alice, bob, charlie"]),
    (HEAD + '[[vary]]\nkey = "fridge.temperature_k"\nvalues = [4]\n', ["vary[0].key", "'fridge.temperature_k'",
                                                                     "nodes.NAME.FIELD"]),
    (HEAD + '[[vary]]\nkey = "topology.fibres.alice-server.lenght_km"\nvalues = [4]\n',
     ["vary[0].key", "did you mean 'length_km'"]),
    (HEAD + AXIS + "values = [0.01, 1.5, 2.0]\n",   # the first bad value, with the field it sets and its range
     ["vary[0]", "nodes.*.excitation_probability = 1.5 (step 2 of 3)", "nodes.alice.excitation_probability",
      "[0, 1)"]),
    (HEAD + '[[vary]]\nkey = "nodes.bob.fibre_length_km"\nlinspace = { start = -2.0, stop = 2.0, num = 3 }\n',
     ["vary[0]", "nodes.bob.fibre_length_km = -2.0 (step 1 of 3)", "topology.fibres.bob-server.length_km", "[0, inf)"]),
    (HEAD + '[[vary]]\nkey = "server.probe_photons_per_node"\nvalues = [40, "many"]\n',
     ["vary[0]", "server.probe_photons_per_node = 'many'", "expected a number"]),
    (HEAD + AXIS + "values = []\n", ["vary[0].values", "non-empty list"]),
    (HEAD + AXIS + "values = [0.01, nan]\n", ["vary[0].values[1]", "finite", "nan"]),
    (HEAD + AXIS + "values = [[0.01]]\n", ["vary[0].values[0]", "[0.01]", "a number, a string or a boolean"]),
    (HEAD + AXIS + "values = [1979-05-27]\n", ["vary[0].values[0]", "1979-05-27", "a number, a string or a boolean"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = inf, num = 3 }\n", ["vary[0].linspace.stop", "finite", "inf"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = 0.02, num = 0 }\n", ["vary[0].linspace.num", "0", ">= 1"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = 0.02, num = 2.5 }\n", ["vary[0].linspace.num", "2.5"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = 0.02 }\n", ["vary[0].linspace.num: missing"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = 0.02, num = 2, step = 1 }\n", ["vary[0].linspace", "'step'"]),
    (HEAD + AXIS + "logspace = { start = 0.0, stop = 0.02, num = 3 }\n", ["vary[0].logspace.start", "0.0", "> 0"]),
    (HEAD + AXIS + "range = { start = 0.01, stop = 0.02, step = 0 }\n", ["vary[0].range.step", "non-zero"]),
    (HEAD + AXIS + "range = { start = 0.02, stop = 0.01, step = 0.01 }\n", ["vary[0].range", "0.02", "empty"]),
    (HEAD + AXIS + "values = [0.01]\nlinspace = { start = 0.01, stop = 0.02, num = 2 }\n",
     ["vary[0]", "values, linspace", "exactly one"]),
    (HEAD + AXIS, ["vary[0]", "0 of values", "exactly one"]),
    (HEAD + '[[vary]]\nvalues = [0.01]\n', ["vary[0].key: missing"]),
    (HEAD + AXIS + "vales = [0.01]\n", ["vary[0]", "'vales'", "did you mean 'values'"]),
    (HEAD + '[[vary]]\nzip = { "nodes.alice.fibre_length_km" = [8, 5], "nodes.bob.fibre_length_km" = [9.5] }\n',
     ["vary[0].zip", "unequal lengths", "'nodes.alice.fibre_length_km' 2", "'nodes.bob.fibre_length_km' 1"]),
    (HEAD + '[[vary]]\nzip = { "nodes.alice.fibre_length_km" = [8, 5], "nodes.bob.fibre_lenght_km" = [9.5, 4] }\n',
     ["vary[0].zip", "'nodes.bob.fibre_lenght_km' is not a parameter"]),
    (HEAD + '[[vary]]\nzip = { "nodes.alice.fibre_length_km" = [8, -5], "nodes.bob.fibre_length_km" = [9.5, 4] }\n',
     ["vary[0]", "nodes.alice.fibre_length_km = -5, nodes.bob.fibre_length_km = 4 (step 2 of 2)", "-5", "[0, inf)"]),
    (HEAD + '[[vary]]\nzip = {}\n', ["vary[0].zip", "empty"]),
    (HEAD + '[[vary]]\nkey = "server.probe_photons_per_node"\nzip = { "drift.aging_khz_per_day" = [1.0] }\n',
     ["vary[0]", "zip with key"]),
    (HEAD.replace("seed = 7", 'seed = 7\ncombine = "zip"') + AXIS + "values = [0.01, 0.02]\n"
     + '[[vary]]\nkey = "server.probe_photons_per_node"\nvalues = [10, 20, 30]\n',
     ["vary:", "unequal lengths", "vary[0] 2, vary[1] 3", "combine = 'zip'"]),
    (HEAD + AXIS + "values = [0.01]\n" + AXIS + "values = [0.02]\n",
     ["vary[1]", "'nodes.*.excitation_probability' is named already by vary[0]"]),
    (HEAD + '[[vary]]\nlabel = "task"\nkey = "server.probe_photons_per_node"\nvalues = [10]\n',
     ["vary[0].label", "'task'"]),
    (HEAD + "".join(f'[[vary]]\nkey = "{key}"\nlinspace = {{ start = 1.0, stop = 2.0, num = 101 }}\n'
                    for key in ("server.probe_photons_per_node", "drift.aging_khz_per_day", "server.probe_duration_us")),
     ["vary:", "1030301 tasks (101 x 101 x 101)", "at most 1000000"]),
    (HEAD + AXIS + "linspace = { start = 0.01, stop = 0.02, num = 2000000 }\n",
     ["vary[0].linspace.num", "2000000", "at most 1000000"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "dave"\nlengths_km = { n1 = 1.0, n2 = 2.0 }')
     + AXIS + "values = [0.01]\n", ["sweep.star.template", "'dave'", "alice, bob, charlie"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "alice"\nlengths_km = { n1 = 1.0 }')
     + AXIS + "values = [0.01]\n", ["sweep.star.lengths_km", "1 node(s)", "at least 2"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "alice"\nlengths_km = { n1 = 1.0, n2 = -2.0 }')
     + AXIS + "values = [0.01]\n", ["sweep.star.lengths_km.n2", "-2.0", "[0, inf)"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "alice"\nlengths_km = { 1x = 1.0, n2 = 2.0 }')
     + AXIS + "values = [0.01]\n", ["sweep.star", "'1x'", "not allowed"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "alice"\nlenghts_km = { n1 = 1.0, n2 = 2.0 }')
     + AXIS + "values = [0.01]\n", ["sweep.star", "'lenghts_km'", "did you mean 'lengths_km'"]),
    (HEAD.replace("seed = 7", 'seed = 7\n[sweep.star]\ntemplate = "alice"\nlengths_km = { n1 = 1.0, n2 = 2.0 }')
     + '[[vary]]\nkey = "nodes.alice.excitation_probability"\nvalues = [0.01]\n',   # the star replaced alice
     ["vary[0].key", "'alice' is not one of the nodes (n1, n2)"]),
    (HEAD.replace('kind = "exact"', 'kind = "exact"\nlinks = "all"\nspeed = 2') + AXIS + "values = [0.01]\n",
     ["compute: unknown key(s) 'speed'"]),
]


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_refusals_name_the_field_and_the_value(stand_ins, text, expected):
    with pytest.raises(ConfigError) as caught:
        parse(text, base_dir=Path.cwd())
    message = str(caught.value)
    assert message.startswith("t.toml: ") and "\n" not in message, message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_a_base_that_is_not_a_network_is_refused(stand_ins, tmp_path):
    (tmp_path / "bad.toml").write_text('name = "x"\n[nodes.a]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^t\.toml: sweep\.base: the base network is refused: .*nodes"):
        parse(HEAD.replace('"hefei2024"', '"bad.toml"') + AXIS + "values = [0.01]\n", base_dir=tmp_path)


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="sweep file: .*does not exist"):
        load_sweep_file(tmp_path / "nope.toml")
