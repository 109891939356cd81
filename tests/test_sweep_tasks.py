"""A sweep's tasks: expansion order, ids, random streams, each task's network (as ``--set`` builds it),
the star (as ``network.star.star_network`` builds it), and pickling for worker processes.

``[compute]`` is parsed and computed by stand-ins (see tests/test_sweep_file.py), so these tests check
this module alone; the stand-in ``compute_task`` returns the network's values and one draw from the
task's stream.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.identity import strong_id
from metroqnet.config.presets import load_network_file, load_preset, parse_override, preset_text
from metroqnet.network.star import star_network
from metroqnet.sweeps.sweep_file import StarSpec, parse_sweep_text, star_document
from metroqnet.sweeps.tasks import (
    SweepTask,
    make_task,
    network_at,
    run_task,
    sweep_tasks,
    task_columns,
    task_definition,
    task_network,
    task_seed,
)
from tests.test_sweep_file import EXAMPLES, HEAD, StandInCompute, install_stand_ins

CHI = "nodes.*.excitation_probability"
PHOTONS = "server.probe_photons_per_node"


def parse(text: str, base_dir: Path | None = None):
    return parse_sweep_text(text, origin="t.toml", base_dir=base_dir)


def axis(key: str, values: list) -> str:
    return f'[[vary]]\nkey = "{key}"\nvalues = {json.dumps(values)}\n'


@pytest.fixture
def stand_ins(monkeypatch):
    install_stand_ins(monkeypatch)


STAR = '\n[sweep.star]\ntemplate = "alice"\nlengths_km = { n1 = 8.0, n2 = 9.5, n3 = 11.0 }\n'


# --- expansion --------------------------------------------------------------------------------------------


def test_cross_order_first_axis_slowest(stand_ins):
    spec = parse(HEAD + axis(CHI, [0.005, 0.01]) + axis("nodes.alice.fibre_length_km", [5.0, 10.0, 15.0]))
    tasks = sweep_tasks(spec)
    assert [task.index for task in tasks] == list(range(6))
    assert [task.settings for task in tasks] == [
        ((CHI, 0.005), ("nodes.alice.fibre_length_km", 5.0)),
        ((CHI, 0.005), ("nodes.alice.fibre_length_km", 10.0)),
        ((CHI, 0.005), ("nodes.alice.fibre_length_km", 15.0)),
        ((CHI, 0.01), ("nodes.alice.fibre_length_km", 5.0)),
        ((CHI, 0.01), ("nodes.alice.fibre_length_km", 10.0)),
        ((CHI, 0.01), ("nodes.alice.fibre_length_km", 15.0)),
    ]


def test_zipped_group_steps_together_inside_the_cross(stand_ins):
    group = ('[[vary]]\nlabel = "layout"\n'
             'zip = { "nodes.alice.fibre_length_km" = [8, 5], "nodes.bob.fibre_length_km" = [9.5, 6] }\n')
    spec = parse(HEAD + axis(CHI, [0.01, 0.02]) + group + axis(PHOTONS, [10, 20, 30]))
    tasks = sweep_tasks(spec)
    expected = []
    for chi in (0.01, 0.02):
        for layout, (a, b) in enumerate(((8, 9.5), (5, 6))):
            for photons in (10, 20, 30):
                expected.append(((CHI, chi), ("nodes.alice.fibre_length_km", a), ("nodes.bob.fibre_length_km", b),
                                 (PHOTONS, photons), layout))
    assert len(tasks) == spec.n_tasks == 12
    assert [(*task.settings, task_columns(spec, task)["layout"]) for task in tasks] == expected
    assert task_columns(spec, tasks[4]) == {CHI: 0.01, "nodes.alice.fibre_length_km": 5, "nodes.bob.fibre_length_km": 6,
                                            PHOTONS: 20, "layout": 1}


def test_combine_zip_steps_every_axis_together(stand_ins):
    text = HEAD.replace("seed = 7", 'seed = 7\ncombine = "zip"') + axis(CHI, [0.01, 0.02, 0.03]) + axis(PHOTONS, [10, 20, 30])
    tasks = sweep_tasks(parse(text))
    assert [task.settings for task in tasks] == [((CHI, 0.01), (PHOTONS, 10)), ((CHI, 0.02), (PHOTONS, 20)),
                                                 ((CHI, 0.03), (PHOTONS, 30))]


def test_optimize_only_sweep_has_no_tasks(stand_ins):
    spec = parse('[sweep]\nname = "o"\nbase = "hefei2024"\nseed = 1\n[optimize]\nmaximize = "min.pme_rate_hz"\n')
    assert sweep_tasks(spec) == ()
    task = make_task(spec, index=0, settings={CHI: 0.02}.items())  # an optimiser's point
    assert task_network(spec, task).nodes["bob"].excitation_probability == 0.02


# --- ids and streams ----------------------------------------------------------------------------------------

BODY = axis(CHI, [0.005, 0.01]) + axis(PHOTONS, [10, 20, 30])


def test_task_id_is_the_strong_id_of_its_definition(stand_ins):
    spec = parse(HEAD + BODY)
    shared = strong_id({"network": strong_id(tomllib.loads(preset_text("hefei2024")[0])), "star": None,
                        "compute": StandInCompute(kind="exact"), "seed": 7})
    for task in sweep_tasks(spec):
        assert task.task_id == strong_id({"shared": shared, "settings": task.settings})
        assert task.task_id == strong_id(task_definition(spec, task.settings))


def test_task_ids_differ_by_settings_seed_base_and_compute(stand_ins, tmp_path):
    tasks = sweep_tasks(parse(HEAD + BODY))
    ids = [task.task_id for task in tasks]
    assert len(set(ids)) == len(ids) == 6
    other_seed = sweep_tasks(parse(HEAD.replace("seed = 7", "seed = 8") + BODY))
    other_compute = sweep_tasks(parse(HEAD.replace('"exact"', '"simulate"') + BODY))
    changed = preset_text("hefei2024")[0].replace("value = 0.46,", "value = 0.47,", 1)  # the QFC efficiency
    (tmp_path / "changed.toml").write_text(changed, encoding="utf-8")
    other_base = sweep_tasks(parse(HEAD.replace('"hefei2024"', '"changed.toml"') + BODY, base_dir=tmp_path))
    for others in (other_seed, other_compute, other_base):
        assert not set(ids) & {task.task_id for task in others}


def test_task_ids_survive_a_growing_axis_and_a_new_name(stand_ins):
    """A task is its definition: the same settings keep their id when the file grows an axis or is renamed."""
    before = {task.settings: task.task_id for task in sweep_tasks(parse(HEAD + BODY))}
    grown = HEAD.replace('name = "t"', 'name = "t2"') + axis(CHI, [0.005, 0.01, 0.02]) + axis(PHOTONS, [10, 20, 30])
    after = {task.settings: task.task_id for task in sweep_tasks(parse(grown))}
    assert len(after) == 9 and all(after[settings] == task_id for settings, task_id in before.items())


def test_task_ids_are_stable_across_processes(stand_ins):
    """Ids depend on nothing process-bound (hash randomization, addresses): a fresh interpreter agrees."""
    code = (
        "import json, sys\n"
        "import tests.test_sweep_file as f\n"
        "from tests.test_sweep_tasks import parse, HEAD, BODY\n"
        "import types\n"
        "m = types.ModuleType('metroqnet.sweeps.compute'); m.parse_compute_table = f.stand_in_parse_compute\n"
        "m.check_on_network = lambda compute, network, *, select=None: None\n"
        "sys.modules['metroqnet.sweeps.compute'] = m\n"
        "from metroqnet.sweeps.tasks import sweep_tasks\n"
        "spec = parse(HEAD + BODY)\n"
        "print(json.dumps([spec.sweep_id] + [t.task_id for t in sweep_tasks(spec)]))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    spec = parse(HEAD + BODY)
    assert json.loads(out.stdout) == [spec.sweep_id] + [task.task_id for task in sweep_tasks(spec)]


def test_task_seed_is_keyed_by_the_id():
    task_id = "0123456789abcdef" + "0" * 48
    seed = task_seed(2024, task_id)
    assert seed.entropy == 2024 and seed.spawn_key == (0x0123456789ABCDEF,)
    same = task_seed(2024, task_id).generate_state(4)
    assert np.array_equal(seed.generate_state(4), same)
    assert not np.array_equal(task_seed(2025, task_id).generate_state(4), same)
    assert not np.array_equal(task_seed(2024, "1" + task_id[1:]).generate_state(4), same)


def _run(pair):
    spec, task = pair
    return run_task(spec, task)


def test_results_do_not_depend_on_order_or_process(stand_ins):
    spec = parse(HEAD + STAR + axis(CHI, [0.005, 0.01]) + axis(PHOTONS, [10, 20, 30]))
    tasks = sweep_tasks(spec)
    in_order = [run_task(spec, task) for task in tasks]
    reversed_order = [run_task(spec, task) for task in reversed(tasks)][::-1]
    with multiprocessing.get_context("fork").Pool(2) as pool:  # fork: the workers inherit the stand-in module
        in_workers = pool.map(_run, [(spec, task) for task in tasks], chunksize=1)
    assert in_order == reversed_order == in_workers
    assert len({result["draw"] for result in in_order}) == len(tasks)  # each task its own stream
    assert [result["chi"] for result in in_order] == [0.005] * 3 + [0.01] * 3
    assert {result["nodes"] for result in in_order} == {3}


def test_spec_and_task_pickle(stand_ins):
    spec = parse(HEAD + STAR + axis(CHI, [0.005, 0.01]))
    task = sweep_tasks(spec)[1]
    spec2, task2 = pickle.loads(pickle.dumps((spec, task)))
    assert spec2 == spec and task2 == task and spec2.sweep_id == spec.sweep_id
    assert run_task(spec2, task2) == run_task(spec, task)


# --- each task's network -----------------------------------------------------------------------------------


def test_task_network_is_the_network_set_builds(stand_ins):
    spec = parse(HEAD + axis(CHI, [0.005, 0.01]) + axis("nodes.alice.fibre_length_km", [5.0, 15.0])
                 + axis("topology.fibres.*.polarization_residual_deg", [2.0]))
    for task in sweep_tasks(spec):
        expected = load_preset("hefei2024", overrides=[parse_override(f"{key}={value!r}") for key, value in task.settings])
        assert task_network(spec, task) == expected


def test_a_refused_combination_names_the_settings(stand_ins):
    spec = parse(HEAD + axis(CHI, [0.01]))
    with pytest.raises(ConfigError, match=r"^sweep 't' at nodes\.\*\.excitation_probability=1\.5, "
                                          r"server\.probe_photons_per_node=40: .*1\.5 is outside the allowed range \[0, 1\)"):
        network_at(spec, {CHI: 1.5, PHOTONS: 40})


def test_a_base_text_that_does_not_match_its_id_is_refused(stand_ins, monkeypatch):
    """A worker never computes on a network other than the one the task ids name."""
    import metroqnet.sweeps.tasks as tasks_module

    monkeypatch.setattr(tasks_module, "_DOCUMENTS", {})  # as in a fresh worker process
    spec = parse(HEAD + axis(CHI, [0.01]))
    tampered = dataclasses.replace(spec, base_text=spec.base_text.replace("value = 0.46,", "value = 0.47,", 1))
    with pytest.raises(ConfigError, match="does not match"):
        network_at(tampered, {})


# --- the star -----------------------------------------------------------------------------------------------


def assert_same_hardware(network, reference):
    assert network.name == reference.name
    assert dict(network.nodes) == dict(reference.nodes)
    assert network.server == reference.server and network.drift == reference.drift
    assert dict(network.experiments) == dict(reference.experiments)
    assert network.topology == reference.topology


LENGTHS = {"n1": 8.0, "n2": 9.5, "n3": 11.0}


def test_star_equals_star_network(stand_ins):
    spec = parse(HEAD + STAR + axis(CHI, [0.01]))
    base = load_preset("hefei2024")
    reference = star_network(base, LENGTHS, template="alice")
    assert_same_hardware(network_at(spec, {}), reference)
    assert all(experiment.nodes is None for experiment in reference.experiments.values())


def test_star_with_overrides_equals_star_network_of_the_changed_base(stand_ins):
    spec = parse(HEAD + STAR + axis(CHI, [0.02]) + axis("nodes.n3.fibre_length_km", [20.0]))
    (task,) = sweep_tasks(spec)
    base = load_preset("hefei2024", overrides=[parse_override(f"{CHI}=0.02")])
    assert_same_hardware(task_network(spec, task), star_network(base, {**LENGTHS, "n3": 20.0}, template="alice"))


def _with_own_attenuation(text: str) -> str:
    anchor = '[topology.fibres.charlie-server]\nends = ["charlie", "server"]\n'
    assert anchor in text
    return text.replace(anchor, anchor + 'attenuation_db_per_km = { value = 0.25, source = "estimated", reason = "t" }\n')


def _implicit_star(text: str) -> str:
    """The preset without [topology]: each node sets its own fibre values (the implicit star)."""
    start, end = text.index("[topology.servers.server]"), text.index("\n[server]\n")
    text = text[:start] + text[end:]
    for node, length in (("alice", 10.0), ("bob", 10.0), ("charlie", 9.0)):
        text = text.replace(f"[nodes.{node}]\n", f'[nodes.{node}]\nfibre_length_km = {{ value = {length}, source = '
                            f'"estimated", reason = "t" }}\nfibre_polarization_residual_deg = {{ value = 3.0, '
                            f'source = "estimated", reason = "t" }}\n')
    return text


@pytest.mark.parametrize("variant", ["own_attenuation", "implicit_star"])
def test_star_of_other_bases_equals_star_network(stand_ins, tmp_path, variant):
    text = preset_text("hefei2024")[0]
    text = _with_own_attenuation(text) if variant == "own_attenuation" else _implicit_star(text)
    (tmp_path / "base.toml").write_text(text, encoding="utf-8")
    base = load_network_file(tmp_path / "base.toml")
    if variant == "own_attenuation":
        assert base.nodes["charlie"].fibre_attenuation_db_per_km == 0.25  # the case this variant is about
    else:
        assert base.nodes["charlie"].fibre_polarization_residual_deg == 3.0
    star = STAR.replace('"alice"', '"charlie"')
    spec = parse(HEAD.replace('"hefei2024"', '"base.toml"') + star + axis(CHI, [0.01]), base_dir=tmp_path)
    reference = star_network(base, LENGTHS, template="charlie")
    network = network_at(spec, {})
    assert_same_hardware(network, reference)
    assert network.nodes["n2"].fibre_attenuation_db_per_km == base.nodes["charlie"].fibre_attenuation_db_per_km


def test_star_document_is_the_base_document_for_overrides():
    document = tomllib.loads(preset_text("hefei2024")[0])
    star = star_document(document, StarSpec(template="bob", lengths_km=(("x", 1.0), ("y", 2.0))))
    assert list(star["nodes"]) == ["x", "y"] and list(star["topology"]["fibres"]) == ["x-server", "y-server"]
    assert "published" not in star and "calibration" not in star
    assert all("nodes" not in table for table in star["experiments"].values())
    assert document["nodes"].keys() == {"alice", "bob", "charlie"}  # the base document is left as it was


def test_five_node_example_builds_every_task(stand_ins):
    from metroqnet.sweeps.sweep_file import load_sweep_file

    spec = load_sweep_file(EXAMPLES / "five_node_design.toml")
    tasks = sweep_tasks(spec)
    assert len(tasks) == 72 and len({task.task_id for task in tasks}) == 72
    last = task_network(spec, tasks[-1])
    assert [node.fibre_length_km for node in last.nodes.values()] == [4.0, 8.0, 12.0, 16.0, 20.0]
    assert all(node.excitation_probability == pytest.approx(0.05, rel=1e-12) for node in last.nodes.values())
    assert {node.probe_mean_photon_number for node in last.nodes.values()} == {0.1}
    assert len(last.topology.pairs()) == 10


@pytest.mark.parametrize(("changes", "field"), [({"index": -1}, "index"), ({"index": True}, "index"),
                                                ({"task_id": "abc"}, "task_id"), ({"task_id": "G" * 64}, "task_id")])
def test_sweep_task_refuses_a_bad_index_or_id(changes, field):
    fields = {"index": 0, "settings": (), "task_id": "0" * 64, **changes}
    with pytest.raises(ConfigError, match=f"^{field}: "):
        SweepTask(**fields)
