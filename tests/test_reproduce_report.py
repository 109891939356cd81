"""The regenerated paper (metroqnet.experiments.paper): sections, failure isolation, determinism, the HTML page.

The browser test renders report.html in headless Chromium (Debian's package; `python3 dev.py test`
installs it), takes a screenshot and checks, in the page as the browser laid it out, that every
figure loaded and is visible and that the numbers table is shown.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from metroqnet.cli.main import main
from metroqnet.config.presets import load_preset
from metroqnet.experiments.paper import run as paper_run
from metroqnet.experiments.paper.numbers import NumberRow, prediction_quality
from metroqnet.experiments.paper.run import reproduce_paper

HEFEI = load_preset("hefei2024")
FAST = ("fig4", "table1")  # the sections that take seconds (the calibration and Fig. 2's 76 h take minutes)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper") / "run"
    return folder, reproduce_paper(HEFEI, out=folder, seed=7, quick=True, only=FAST)


def test_number_rows_compute_deviation_and_refuse_unknown_roles():
    row = NumberRow(experiment="e", figure="f", key="k", model=1.3, model_error=0.3, paper=1.0, paper_error=0.4,
                    role="predicted", source="leave-one-out")
    assert row.deviation_sigma == pytest.approx(0.3 / 0.5)  # (1.3 - 1.0) / sqrt(0.3² + 0.4²)
    assert NumberRow(**{**row.__dict__, "paper": None}).deviation_sigma is None
    with pytest.raises(ValueError, match="role"):
        NumberRow(**{**row.__dict__, "role": "guessed"})
    far = NumberRow(**{**row.__dict__, "model": 3.0})
    quality = prediction_quality([row, far])
    assert {key: quality[key] for key in ("predicted", "inside_2sigma")} == {"predicted": 2, "inside_2sigma": 1}
    (outside,) = quality["outside"]
    assert outside["deviation_sigma"] == pytest.approx(4.0)  # (3.0 - 1.0) / 0.5
    assert "not in the fit" in outside["gap"]


def test_a_missed_prediction_says_whether_the_fit_itself_reaches_the_number():
    """The MAP inside 2σ: a tension with the other numbers; outside: the model lacks something."""
    predicted = NumberRow(experiment="e", figure="f", key="k", model=3.0, model_error=0.3, paper=1.0, paper_error=0.4,
                          role="predicted", source="leave-one-out")
    reached = NumberRow(**{**predicted.__dict__, "model": 1.2, "model_error": 0.1, "role": "calibrated",
                           "source": "MAP"})
    missed = NumberRow(**{**reached.__dict__, "model": 2.5})
    (tension,) = prediction_quality([predicted, reached])["outside"]
    assert "tension" in tension["gap"] and "+0.5σ" in tension["gap"]  # (1.2 - 1.0) / sqrt(0.1² + 0.4²) = 0.49
    (lacking,) = prediction_quality([predicted, missed])["outside"]
    assert "lacks" in lacking["gap"] and "+3.6σ" in lacking["gap"]  # 1.5 / 0.412 = 3.64
    loose = NumberRow(**{**predicted.__dict__, "model": 4.0, "model_error": 0.8})  # (4 - 1) / sqrt(0.8² + 0.4²) = 3.4
    (pinned,) = prediction_quality([loose, reached])["outside"]
    assert "loosely determined" in pinned["gap"] and "2.0×" in pinned["gap"]  # 0.8 / 0.4


def test_the_report_holds_every_section_its_numbers_and_data(report):
    folder, run = report
    assert [section.name for section in run.sections] == list(FAST) and not run.failed
    names = {path.name for path in folder.iterdir()}
    assert {"report.html", "numbers.csv", "numbers.json", "summary.json", "table1.json", "fig4"} <= names
    rows = json.loads((folder / "numbers.json").read_text())
    # Table 1's twelve published values, each beside the paper with a deviation
    published = [row for row in rows if row["paper"] is not None and row["experiment"].startswith("table1")]
    assert len({(row["experiment"], row["figure"]) for row in published}) == 12
    for row in rows:
        assert set(row) == {"experiment", "figure", "key", "model", "model_error", "paper", "paper_error",
                            "deviation_sigma", "role", "source"}
        assert row["role"] in ("predicted", "calibrated", "model")
    page = (folder / "report.html").read_text()
    assert page.count("<img ") == len([p for s in run.sections for p in s.figures]) >= 1
    assert "Prediction quality" in page and "Parameters used" in page


def test_the_same_seed_gives_the_same_data_files(report, tmp_path):
    folder, _ = report
    again = tmp_path / "again"
    reproduce_paper(HEFEI, out=again, seed=7, quick=True, only=FAST)
    data = [path for path in folder.rglob("*") if path.suffix in (".csv", ".json")]
    assert len(data) >= 5
    for path in data:
        assert (again / path.relative_to(folder)).read_bytes() == path.read_bytes(), path.name


def test_a_failing_section_is_reported_and_the_others_are_kept(monkeypatch, tmp_path):
    def broken(context, result):
        raise RuntimeError("the θ scan's stage fell over")

    sections = tuple((name, title, broken if name == "fig4" else function)
                     for name, title, function in paper_run.SECTIONS)
    monkeypatch.setattr(paper_run, "SECTIONS", sections)
    folder = tmp_path / "run"
    run = reproduce_paper(HEFEI, out=folder, seed=3, quick=True, only=FAST)
    assert [section.name for section in run.failed] == ["fig4"]
    assert "fell over" in run.failed[0].error
    table1 = next(section for section in run.sections if section.name == "table1")
    assert table1.error is None and table1.rows
    page = (folder / "report.html").read_text()
    assert "This section failed" in page and "fell over" in page


def test_cli_reproduce_out_refuses_quick_without_out_and_calibrate_with_out(capsys, tmp_path):
    assert main(["reproduce", "--quick"]) == 2
    assert "--quick" in capsys.readouterr().err
    assert main(["reproduce", "--out", str(tmp_path / "x"), "--calibrate"]) == 2
    assert "--calibrate" in capsys.readouterr().err


def _browser() -> str | None:
    return next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
                None)


CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  const shown = element => { const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return box.width > 50 && box.height > 50 && style.visibility !== 'hidden' && style.display !== 'none'; };
  const images = [...document.images];
  const tables = [...document.querySelectorAll('table.numbers')];
  const out = document.createElement('pre'); out.id = 'layout-check';
  out.textContent = JSON.stringify({images: images.length,
    loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    visible: images.filter(shown).length, tables: tables.length, tables_visible: tables.filter(shown).length,
    rows: tables.reduce((n, t) => n + t.rows.length - 1, 0)});
  document.body.appendChild(out);
});
</script>"""


def test_report_renders_in_headless_chromium_with_every_figure_and_table_visible(report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH ('python3 dev.py test' installs Debian's chromium)")
    folder, run = report
    page = (folder / "report.html").read_text().replace("</body>", CHECK_SCRIPT + "</body>")
    checked = tmp_path / "checked.html"
    checked.write_text(page)
    options = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1366,900",
               "--virtual-time-budget=5000"]
    dom = subprocess.run([*options, "--dump-dom", checked.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="layout-check">(.*?)</pre>', dom.stdout)
    assert found, dom.stderr[-2000:]
    layout = json.loads(found.group(1).replace("&quot;", '"'))
    figures = sum(len(section.figures) for section in run.sections)
    assert layout["images"] == layout["loaded"] == layout["visible"] == figures
    assert layout["tables"] == layout["tables_visible"] >= 1
    assert layout["rows"] == len(run.rows)
    shot = tmp_path / "report.png"
    subprocess.run([*options, f"--screenshot={shot}", (folder / "report.html").as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.stat().st_size > 10_000  # a laid-out page, not a blank one


def test_cli_exit_status_says_a_section_failed_and_the_page_is_still_written(monkeypatch, tmp_path, capsys):
    def broken(context, result):
        raise RuntimeError("no such figure")

    kept = [entry for entry in paper_run.SECTIONS if entry[0] == "table1"]
    monkeypatch.setattr(paper_run, "SECTIONS", (*kept, ("fig4", "Fig. 4a,b", broken)))
    folder = tmp_path / "run"
    assert main(["reproduce", "--out", str(folder), "--quick", "--seed", "5"]) == 1
    error = capsys.readouterr().err
    assert "section fig4 failed: RuntimeError: no such figure" in error
    assert (folder / "report.html").is_file() and (folder / "table1.json").is_file()


def test_a_set_value_leads_the_page_with_what_it_changes(monkeypatch, tmp_path):
    """``reproduce --out --set``: the changed value, and each exact figure at the preset and at the change.

    Independent checks: Charlie's fibre is not on the Alice–Bob path, so every Alice–Bob figure is
    unchanged (difference exactly 0); a longer fibre loses more write-out photons, so the
    Alice–Charlie concurrence falls (Table 1 scales as the herald path's transmission).
    """
    kept = [entry for entry in paper_run.SECTIONS if entry[0] == "timing"]
    monkeypatch.setattr(paper_run, "SECTIONS", tuple(kept))
    folder = tmp_path / "run"
    assert main(["reproduce", "--out", str(folder), "--quick", "--seed", "5",
                 "--set", "nodes.charlie.fibre_length_km=20"]) == 0
    changes = json.loads((folder / "changes.json").read_text())
    keys = {row["key"]: row for row in changes["parameter_changes"]}
    assert keys["nodes.charlie.fibre_length_km"]["preset"] == 9.0  # the preset's [topology] charlie-server fibre
    assert keys["nodes.charlie.fibre_length_km"]["changed"] == 20.0
    assert all(key.startswith(("nodes.charlie.", "topology.fibres.charlie-server.")) for key in keys)
    figures = changes["figure_changes"]
    assert figures and all(row["difference"] == 0.0 for row in figures if row["experiment"] == "storage_5us")
    concurrence = [row for row in figures if row["experiment"] == "table1 alice-charlie" and row["figure"] == "C Ψ+"]
    assert len(concurrence) == 1 and concurrence[0]["changed"] < concurrence[0]["preset"]
    page = (folder / "report.html").read_text()
    assert page.index("What the changed values do") < page.index("Trial timing")
    assert "nodes.charlie.fibre_length_km" in page


def test_without_set_there_is_no_changes_section(monkeypatch, tmp_path):
    kept = [entry for entry in paper_run.SECTIONS if entry[0] == "timing"]
    monkeypatch.setattr(paper_run, "SECTIONS", tuple(kept))
    folder = tmp_path / "run"
    assert main(["reproduce", "--out", str(folder), "--quick", "--seed", "5"]) == 0
    assert not (folder / "changes.json").exists()
    assert "What the changed values do" not in (folder / "report.html").read_text()
