"""``report.html``: one self-contained page (figures embedded as PNG data), readable on a laptop screen.

Order: what the run is; the prediction quality (how many leave-one-out predictions land within 2σ
of the paper, and which do not); every section with its figures, its numbers beside the paper's
and its notes (a failed section shows its error); the parameters used with their tags; the seed
and versions. Plain HTML and CSS, no script.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from metroqnet.experiments.paper.numbers import NumberRow, prediction_quality

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 1em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
td.ok { background: #e8f5e9; } td.off { background: #ffebee; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.error { color: #b00020; font-weight: bold; } .note { color: #555; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
"""


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _rows_table(rows: list[NumberRow]) -> str:
    head = ("experiment", "figure", "twin", "± (twin)", "paper", "± (paper)", "deviation", "role", "from")
    lines = ["<table class='numbers'><tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"]
    for row in rows:
        deviation = row.deviation_sigma
        cell = "" if deviation is None else f"{deviation:+.1f}σ"
        klass = "" if deviation is None else ("ok" if abs(deviation) <= 2 else "off")
        lines.append(
            f"<tr><td class='text'>{html.escape(row.experiment)}</td><td class='text'>{html.escape(row.figure)}</td>"
            f"<td>{_number(row.model)}</td><td>{_number(row.model_error)}</td><td>{_number(row.paper)}</td>"
            f"<td>{_number(row.paper_error)}</td><td class='{klass}'>{cell}</td>"
            f"<td class='text'>{row.role}</td><td class='text'>{html.escape(row.source)}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{html.escape(path.name)}' src='data:image/png;base64,{data}'>" \
           f"<figcaption class='note'>{html.escape(path.name)}</figcaption></figure>"


def _posterior_table(rows: list[dict[str, object]]) -> str:
    head = ("value", "MAP", "median", "68 % interval", "prior")
    lines = ["<table><tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"]
    for row in rows:
        lines.append(
            f"<tr><td class='text'>{html.escape(str(row['key']))}</td><td>{_number(row.get('map'))}</td>"
            f"<td>{_number(row.get('median'))}</td><td>[{_number(row.get('low_68'))}, {_number(row.get('high_68'))}]"
            f"</td><td>[{_number(row.get('prior_low'))}, {_number(row.get('prior_high'))}] "
            f"{html.escape(str(row.get('scale', '')))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _parameters_table(parameters: list[dict[str, object]]) -> str:
    lines = ["<table class='parameters'><tr><th>value</th><th>setting</th><th>tag</th><th>why</th></tr>"]
    for row in parameters:
        reason = row.get("quote") or row.get("reason") or ""
        lines.append(f"<tr><td class='text'>{html.escape(str(row['key']))}</td><td>{_number(row['value'])}</td>"
                     f"<td class='text'>{html.escape(str(row.get('source') or ''))}</td>"
                     f"<td class='text'>{html.escape(str(reason))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


#: Column headings of the plain tables (a key's own name where absent).
HEADINGS = {"paper_error": "± (paper)", "shift_paper_sigma": "shift (paper's σ)", "source": "tag"}


def _plain_table(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    lines = ["<table><tr>" + "".join(f"<th>{html.escape(HEADINGS.get(name, name))}</th>" for name in columns)
             + "</tr>"]
    for row in rows:
        cells = (f"<td class='text'>{html.escape(str(row[name]))}</td>" if isinstance(row[name], str)
                 else f"<td>{_number(row[name])}</td>" for name in columns)
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _changes_tables(tables: dict[str, list[dict[str, object]]]) -> str:
    parts = ["<h3>Changed values</h3>",
             _plain_table(tables["parameter_changes"], ("key", "preset", "changed", "source"))]
    figures = [{**row, "shift_paper_sigma": None if row["shift_paper_sigma"] is None
                else f"{row['shift_paper_sigma']:+.2f}σ"} for row in tables["figure_changes"]]
    parts += ["<h3>Exact figures at the preset and at the changed values</h3>",
              "<p class='note'>The calibration (if any) applies to both columns; shift: the difference in units of "
              "the paper's error (how far the change moves the figure on the scale the paper resolves).</p>",
              _plain_table(figures, ("experiment", "figure", "preset", "changed", "difference", "paper",
                                     "paper_error", "shift_paper_sigma"))]
    return "\n".join(parts)


def _seed_text(seed: dict[str, object]) -> str:
    key = seed.get("spawn_key") or []
    return f"{seed.get('entropy')}" + (f" (spawn key {list(key)})" if key else "")


def _ordered(rows: list[NumberRow]) -> list[NumberRow]:
    """Each number's rows together, predicted first, in the order the numbers first appear."""
    order: dict[str, int] = {}
    for row in rows:
        order.setdefault(row.key, len(order))
    rank = {"predicted": 0, "calibrated": 1, "model": 2}
    return sorted(rows, key=lambda row: (order[row.key], rank[row.role]))


def render_report(run, folder: Path, parameters: list[dict[str, object]]) -> str:
    """The whole page for a :class:`~metroqnet.experiments.paper.run.PaperRun` written into ``folder``."""
    quality = prediction_quality(run.rows)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>metroqnet: {html.escape(run.network)} regenerated</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(run.network)}: the paper regenerated by metroqnet</h1>",
        f"<p>Run size <b>{run.size}</b>; seed {html.escape(_seed_text(run.seed))}. Every number of the paper beside the "
        "twin's, with its role: <b>predicted</b> (a leave-one-out prediction: the calibration never saw the "
        "number), <b>calibrated</b> (the number was in the fit: fitted, not predicted) or <b>model</b>.</p>",
        "<h2 id='quality'>Prediction quality</h2>",
        f"<p><b>{quality['inside_2sigma']} of {quality['predicted']}</b> predicted numbers lie within 2σ of the "
        "paper.</p>",
    ]
    if quality["outside"]:
        parts.append("<ul>" + "".join(
            f"<li>{html.escape(item['experiment'])} {html.escape(item['figure'])}: <b>{item['deviation_sigma']:+.1f}σ"
            f"</b>: {html.escape(item['gap'])}</li>" for item in quality["outside"]) + "</ul>")
    failed = [section for section in run.sections if section.error is not None]
    if failed:
        parts.append("<p class='error'>Failed sections: " + ", ".join(html.escape(s.name) for s in failed) + "</p>")
    for section in run.sections:
        parts.append(f"<h2 id='{html.escape(section.name)}'>{html.escape(section.title)}</h2>")
        if section.error is not None:
            parts.append(f"<p class='error'>This section failed: {html.escape(section.error)}</p>")
        for figure in section.figures:
            parts.append(_image(figure))
        if section.rows:
            parts.append(_rows_table(_ordered(section.rows)))
        if "parameter_changes" in section.tables:
            parts.append(_changes_tables(section.tables))
        if "posterior" in section.tables:
            parts.append("<h3>Posterior of the calibrated values</h3>" + _posterior_table(section.tables["posterior"]))
        for note in section.notes:
            tag = "pre" if "\n" in note else "p"
            parts.append(f"<{tag} class='note'>{html.escape(note)}</{tag}>")
        if section.files:
            links = ", ".join(f"<a href='{html.escape(str(path.relative_to(folder)))}'>"
                              f"{html.escape(str(path.relative_to(folder)))}</a>" for path in section.files)
            parts.append(f"<p class='note'>Data: {links} ({section.seconds:.1f} s)</p>")
    parts.append("<h2 id='parameters'>Parameters used</h2>")
    parts.append(_parameters_table(parameters))
    parts.append("<h2 id='versions'>Seed and versions</h2>")
    parts.append("<p>seed " + html.escape(_seed_text(run.seed)) + "; " + ", ".join(
        f"{html.escape(key)} {html.escape(value)}" for key, value in run.versions.items()) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
