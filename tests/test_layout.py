"""The package's shape: imports run down the layers and never in a cycle, files stay small, and
the tests mirror the package."""

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src/ffdiff"
# Lowest first; a module may import its own layer or lower ones. Keys: the first name below ffdiff.
LAYERS = [
    {"_lazy", "exceptions", "finite", "statistics", "typing", "units", "runtime"},
    {"neighbors"},
    {"potentials"},
    {"md", "properties", "calculator"},
    {"data"},
    {"fitting", "interop"},
    {"study"},
]
MAX_LINES = 400
REASON = re.compile(r"over 400 lines", re.IGNORECASE)


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    key = module.split(".")[1] if "." in module else "_lazy"  # the package root only attaches names
    return next(k for k, names in enumerate(LAYERS) if key in names)


def _imports() -> set[tuple[str, str]]:
    """(module, ffdiff module it imports), at module level or inside functions."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    edges = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ffdiff"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    edges.add((name, sub if sub in modules else node.module))
            elif isinstance(node, ast.Import):
                edges.update((name, a.name) for a in node.names if a.name.startswith("ffdiff"))
    return edges


def test_imports_run_down_the_layers():
    upward = sorted((a, b) for a, b in _imports() if b != "ffdiff" and _layer(b) > _layer(a))
    assert not upward, f"imports that run up a layer: {upward}"


def test_no_import_cycle():
    graph = {}
    for a, b in _imports():
        if not (b.startswith(a + ".") or b == "ffdiff"):  # a package re-exporting its modules is no cycle
            graph.setdefault(a, set()).add(b)
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_every_layer_is_a_package_or_module_that_exists():
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert present == set().union(*LAYERS)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_source_files_are_small_or_say_why(path):
    text = path.read_text()
    if text.count("\n") > MAX_LINES:
        head = "\n".join(text.splitlines()[:15])
        assert REASON.search(head), f"{path.name}: {text.count(chr(10))} lines and no reason at its top"


def test_tests_mirror_the_package():
    """tests/<dir>/ is a subpackage of ffdiff, or the workflow's and the cluster's own tests."""
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert folders - subpackages == {"workflow", "slurm"}
