"""Dependencies point one way (DESIGN.md, "The flow of data"), read from the source with ``ast``.

Every ``metroqnet.*`` import of every module counts, including imports inside
functions, relative imports and ``importlib.import_module("metroqnet...")``
with a literal name. Nothing below the CLI prints.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "metroqnet"
SOURCE_ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Layer -> the layers its modules may import (a layer may always import itself).
#: ``None`` means any layer except ``cli``. The package root (``metroqnet/__init__.py``) is layer "".
ALLOWED_IMPORTS: dict[str, frozenset[str] | None] = {
    # The package root is the notebook facade (``import metroqnet as mq``): anything but the CLI.
    "": None,
    "config": frozenset({"config"}),
    # Generic noise processes: a kernel that knows no component.
    "noise": frozenset({"config", "noise"}),
    "physics": frozenset({"config", "noise", "physics"}),
    "link": frozenset({"config", "physics", "link", "analysis"}),
    # the Monte Carlo sits on the exact engine.
    "sampling": frozenset({"config", "physics", "link", "analysis", "sampling"}),
    # The control loops (phase loop, frequency calibration) run on the component noise of physics.
    "control": frozenset({"config", "noise", "physics", "control"}),
    # analysis must run on a lab's counts: never the simulator, the physics, the experiments or the CLI
    # (config, for the one validation layer and the file reader, simulates nothing).
    "analysis": frozenset({"config", "analysis"}),
    # The network (switch schedule, requests) drives links and control loops on one SimPy clock.
    "network": frozenset({"config", "physics", "link", "sampling", "control", "network"}),
    "experiments": frozenset(
        {"config", "noise", "physics", "link", "analysis", "sampling", "control", "network", "experiments"}
    ),
    # Design sweeps run experiments and links on worker processes or a cluster and store what they return.
    "sweeps": frozenset(
        {"config", "noise", "physics", "link", "analysis", "sampling", "control", "network", "experiments", "sweeps"}
    ),
    "cli": frozenset(
        {"", "config", "noise", "physics", "link", "analysis", "sampling", "control", "network", "experiments",
         "sweeps", "cli"}
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(dotted: str) -> str:
    """``metroqnet.link.evaluate`` -> ``link``; the package root -> ``""``."""
    parts = dotted.split(".")
    assert parts[0] == PACKAGE, dotted
    return parts[1] if len(parts) > 1 else ""


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def package_imports(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every ``metroqnet`` module or name imported anywhere in ``source`` (fully qualified)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            )
            # ``from metroqnet import link`` imports the layer ``link``: qualify each name.
            found.update(f"{base}.{alias.name}" if base == PACKAGE else base for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
            )
        ):
            found.add(node.args[0].value)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def print_calls(source: str) -> list[int]:
    """Line numbers of calls to ``print`` (the name or ``builtins.print``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "print") or (
                isinstance(func, ast.Attribute) and func.attr == "print"
                and isinstance(func.value, ast.Name) and func.value.id == "builtins"
            ):
                lines.append(node.lineno)
    return sorted(lines)


MODULES = sorted(SOURCE_ROOT.rglob("*.py"))


def test_modules_found():
    names = {module_name(path) for path in MODULES}
    assert {"metroqnet", "metroqnet.cli.main", "metroqnet.link.evaluate", "metroqnet.analysis.estimators"} <= names


def test_every_module_is_in_a_declared_layer():
    undeclared = sorted({layer_of(module_name(p)) for p in MODULES} - set(ALLOWED_IMPORTS))
    assert not undeclared, f"declare the allowed imports of layer(s) {undeclared} in ALLOWED_IMPORTS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_import_direction(path):
    module = module_name(path)
    layer = layer_of(module)
    allowed = ALLOWED_IMPORTS[layer]
    imports = package_imports(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")
    wrong = []
    for name in sorted(imports):
        target = layer_of(name)
        if target == layer:
            continue
        if target == "cli" or (allowed is not None and target not in allowed):
            wrong.append(name)
    assert not wrong, f"{module} (layer {layer or 'root'!r}) imports {wrong}; allowed: {sorted(allowed or ['any but cli'])}"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if layer_of(module_name(p)) != "cli"], ids=lambda p: module_name(p)
)
def test_nothing_below_the_cli_prints(path):
    lines = print_calls(path.read_text(encoding="utf-8"))
    assert not lines, f"{module_name(path)} calls print at line(s) {lines}; only the CLI prints"


# --- the checker itself -----------------------------------------------------------------


def test_checker_sees_every_kind_of_import():
    source = """
import numpy
import metroqnet.config.errors
from metroqnet.physics import mapping
from metroqnet import link
from . import outcomes
from ..experiments.hefei_link import reproduce_link_experiments
import importlib

def late():
    from metroqnet.cli.main import main
    return importlib.import_module("metroqnet.network.kernel")
"""
    assert package_imports(source, "metroqnet.analysis.estimators") == {
        "metroqnet.config.errors",
        "metroqnet.physics",
        "metroqnet.link",
        "metroqnet.analysis",
        "metroqnet.experiments.hefei_link",
        "metroqnet.cli.main",
        "metroqnet.network.kernel",
    }
    assert package_imports("from . import x", "metroqnet.link", is_package=True) == {"metroqnet.link"}


def test_checker_sees_print_calls():
    source = "def f():\n    print('x')\n\nimport builtins\nbuiltins.print(1)\nlogger.print = None\n"
    assert print_calls(source) == [2, 5]
