"""``metroqnet analyze FILE``, in-process: the table, the JSON (file and --json) and refusals.

The JSON is compared with the library call it mirrors (a check of the wrapper);
refusals exit with status 2 and one line on stderr naming file, row and field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from metroqnet.analysis.count_files import read_count_file, write_count_file
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord
from metroqnet.analysis.uncertainty import analyze_counts
from metroqnet.cli.main import main
from tests.test_cli import FIGURE_KEYS, RATE_KEYS, TOP_KEYS, assert_refused, run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "counts_example.csv"
STDERR_KEYS = {f"{key}_stderr" for key in FIGURE_KEYS}


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example file, so the default output lands in tmp_path, not in the repository."""
    path = tmp_path / "counts_example.csv"
    shutil.copy(EXAMPLE, path)
    return path


def library_document(path: Path, link: str = "alice-bob") -> dict:
    return json.loads(json.dumps(analyze_counts(read_count_file(path)[link]).as_dict()))


def test_analyze_example_table_and_default_output(example, capsys):
    # Writes only where asked: without --out nothing lands beside the input (the shipped example
    # sits in the repository, and a lab's file may sit in a read-only folder).
    before = sorted(example.parent.iterdir())
    status, out, err = run(["analyze", str(example)], capsys)
    assert status == 0 and err == ""
    assert sorted(example.parent.iterdir()) == before
    assert "herald probability" in out and "PME fidelity" in out and "atomic concurrence" in out
    fidelity_line = next(line for line in out.splitlines() if line.startswith("PME fidelity"))
    assert fidelity_line.count("±") == 2  # value ± stderr for each sign


def test_analyze_json_layout_mirrors_link_json(example, tmp_path, capsys):
    out_path = tmp_path / "elsewhere" / "result.json"
    out_path.parent.mkdir()
    status, out, err = run(["analyze", str(example), "--json", "--out", str(out_path)], capsys)
    assert status == 0 and err == f"metroqnet analyze: wrote {out_path}\n"
    document = json.loads(out)
    assert document == json.loads(out_path.read_text(encoding="utf-8")) == library_document(example)
    assert TOP_KEYS | RATE_KEYS <= set(document)
    assert {f"{key}_stderr" for key in TOP_KEYS - {"plus", "minus"} | RATE_KEYS} <= set(document)
    for sign in ("plus", "minus"):
        assert set(document[sign]) == FIGURE_KEYS | STDERR_KEYS
        assert all(document[sign][key] > 0 for key in STDERR_KEYS)
    assert document["counts"]["plus"] > 0 and document["counts"]["minus"] > 0
    assert document["trials"] == sum(document["trials_per_basis"].values())
    # The only note: without a background run the noise fraction and SNR cannot be estimated.
    assert len(document["notes"]) == 1 and "background run" in document["notes"][0]
    assert document["metadata"]["seed"] == 2024  # typed: the file's "# seed: 2024" is an integer


def two_links(tmp_path) -> Path:
    record = read_count_file(EXAMPLE)["alice-bob"]
    other = CountRecord(link="bob-charlie", counts=record.counts // 2, trials_per_basis=record.trials_per_basis)
    path = tmp_path / "two.csv"
    write_count_file(path, {"alice-bob": record, "bob-charlie": other})
    return path


def test_analyze_several_links(tmp_path, capsys):
    path = two_links(tmp_path)
    status, out, err = run(["analyze", str(path), "--json"], capsys)
    assert status == 0
    document = json.loads(out)
    assert list(document) == ["alice-bob", "bob-charlie"]
    assert document["alice-bob"] == library_document(path, "alice-bob")
    assert "atomic_concurrence" not in document["bob-charlie"]["plus"]
    status, out, err = run(["analyze", str(path), "--link", "bob-charlie", "--json"], capsys)
    assert status == 0 and json.loads(out) == library_document(path, "bob-charlie")
    status, out, err = run(["analyze", str(path)], capsys)
    assert status == 0 and "link alice-bob" in out and "link bob-charlie" in out


def test_analyze_unknown_link(tmp_path, capsys):
    path = two_links(tmp_path)
    assert_refused(*run(["analyze", str(path), "--link", "alice-zed"], capsys), "--link", "'alice-zed'", "bob-charlie")


HEADER = "link,herald,basis,outcome_x,outcome_y,events\n"
GOOD = "ab,*,Z,*,*,100\nab,plus,Z,none,plus_only,5\n"


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("link,herald,basis,outcome_x,events\nab,*,Z,*,100\n", ["row 1", "'outcome_y'"]),
        (HEADER + GOOD + "ab,plus,Z,none,none,-3\n", ["row 4", "'events'", "'-3'"]),
        (HEADER + GOOD + "ab,plus,Q,none,none,1\n", ["row 4", "'basis'", "'Q'"]),
        (HEADER + "ab,*,Z,*,*,100\nab,plus,Z,none,none,0\n", ["row 2", "empty herald set"]),
        (HEADER + GOOD + "ab,plus,Z,none,plus_only,1\n", ["row 4", "duplicate of row 3"]),
    ],
)
def test_analyze_refusals(tmp_path, capsys, text, fragments):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    assert_refused(*run(["analyze", str(path)], capsys), "metroqnet analyze", "bad.csv", *fragments)
    assert not path.with_suffix(".analysis.json").exists()


def test_analyze_unreadable_files(tmp_path, capsys):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00link")
    assert_refused(*run(["analyze", str(binary)], capsys), "binary.csv", "UTF-8")
    assert_refused(*run(["analyze", str(tmp_path / "nowhere.csv")], capsys), "nowhere.csv", "does not exist")


def test_analyze_unwritable_output(example, tmp_path, capsys):
    target = tmp_path / "no-such-dir" / "out.json"
    assert_refused(*run(["analyze", str(example), "--out", str(target)], capsys), "--out", "out.json")


def test_analyze_sparse_counts_leave_figures_out_with_notes(tmp_path, capsys):
    counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    counts[0, 0, 0, 1] = 40  # plus herald, Z basis only
    path = tmp_path / "z_only.csv"
    write_count_file(path, CountRecord(link="ab", counts=counts, trials_per_basis=[1000, 0, 0]))
    status, out, err = run(["analyze", str(path), "--json"], capsys)
    assert status == 0
    document = json.loads(out)
    assert document["plus"]["p01"] == 1.0 and "fidelity" not in document["plus"]
    assert document["minus"] == {}
    assert any("X basis" in note for note in document["notes"])


def test_analyze_without_file_is_an_argparse_error(capsys):
    assert main(["analyze"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_analyze_read_efficiencies_that_underflow_leave_atomic_concurrence_out(tmp_path, capsys):
    # Each in (0, 1] as the schema allows, but η_X·η_Y underflows: a note, not a ZeroDivisionError.
    text = ("# read_efficiency_x: 1e-170\n# read_efficiency_y: 1e-170\n" + read_count_file_text(EXAMPLE))
    path = tmp_path / "tiny.csv"
    path.write_text(text, encoding="utf-8")
    status, out, err = run(["analyze", str(path), "--json", "--out", str(tmp_path / "a.json")], capsys)
    assert status == 0, err
    document = json.loads(out)
    assert "atomic_concurrence" not in document["plus"] and "fidelity" in document["plus"]
    assert any("read efficiencies" in note for note in document["notes"])


def read_count_file_text(path: Path) -> str:
    """The example's rows without its read-efficiency header lines."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("# read_efficiency"))
