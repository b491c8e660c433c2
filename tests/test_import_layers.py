"""Import layers: no gaekit module imports a higher layer, and no import cycle exists among the modules.

Every module under ``src/gaekit`` is parsed (``ast``, nothing is imported) and every import of a gaekit
module is collected, at top level and inside functions (lazy imports count); only the bodies of
``if TYPE_CHECKING:`` are skipped. ``from gaekit.pkg import name`` is an edge to ``gaekit.pkg.name`` when
that is a submodule, else to ``gaekit.pkg``; no implicit edge to parent packages' ``__init__`` is added.
Strings handed to ``importlib`` (the lazy names of ``gaekit/__init__``) are not imports.

``LAYERS`` is the table quoted by ``docs/architecture.md``: a module may import its own layer and lower
ones. ``hub`` sits with ``models``: ``BaseAE.push_to_hub`` uses it, and it knows models only through their
methods. ``trainers`` sit below ``samplers``: the samplers that learn (flows, the second-stage VAE, PixelCNN)
are trained by the one ``Trainer``, which needs no sampler.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

# (layer, name, the first component after ``gaekit.`` of the modules in it), low to high.
# ``gaekit`` alone is the top ``__init__``.
LAYERS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (0, "core", ("gaekit", "errors", "config", "registry", "serialization", "locks", "_extras", "images",
                 "_threads")),
    (1, "maths & data", ("distributions", "manifolds", "flows", "data")),
    (2, "nn", ("nn",)),
    (3, "models", ("models", "hub")),
    (4, "trainers", ("trainers",)),
    (5, "samplers", ("samplers",)),
    (6, "metrics & tracking", ("metrics", "tracking")),
    (7, "pipelines & bench", ("pipelines", "bench", "reproduce", "pythae")),
    (8, "cli", ("cli", "__main__")),
)

SRC = Path(__file__).resolve().parents[1] / "src" / "gaekit"
LAYER_OF = {part: (number, name) for number, name, parts in LAYERS for part in parts}


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its ``__init__``)."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("gaekit", *path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """The gaekit modules one module imports, with the line of each import."""

    def __init__(self, module: str, is_package: bool, known: set[str]):
        self.module, self.known, self.edges = module, known, {}
        self.package = module if is_package else module.rpartition(".")[0]

    def _add(self, name: str, line: int) -> None:
        if name != "gaekit" and not name.startswith("gaekit."):
            return
        while name not in self.known and "." in name:  # ``import gaekit.pkg.attr``: the module that holds it
            name = name.rpartition(".")[0]
        if name != self.module:
            self.edges.setdefault(name, line)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.rsplit(".", node.level - 1)[0] if node.level > 1 else self.package
            base = f"{base}.{node.module}" if node.module else base
        else:
            base = node.module or ""
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.known else base, node.lineno)


def imports_of(module: str, source: str, known: set[str], is_package: bool = False) -> dict[str, int]:
    """``{imported gaekit module: first line}`` for one module's source."""
    visitor = _Imports(module, is_package, known)
    visitor.visit(ast.parse(source))
    return visitor.edges


def import_graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path.read_text(encoding="utf-8"), known, path.name == "__init__.py")
            for name, path in found.items()}


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def layer(module: str) -> tuple[int, str]:
    """``(number, name)`` of a module's layer; a module missing from ``LAYERS`` counts as the top one."""
    return LAYER_OF.get(module.split(".")[1] if "." in module else module, (len(LAYERS), "unlisted"))


def test_the_parser_sees_lazy_imports_and_skips_type_checking():
    known = {"gaekit", "gaekit.models", "gaekit.models.vae", "gaekit.nn", "gaekit.cli", "gaekit.errors"}
    source = (
        "from typing import TYPE_CHECKING\nimport torch\nfrom gaekit.models import vae, VAE\n"
        "from gaekit.nn import MLPEncoder\nif TYPE_CHECKING:\n    from gaekit.cli import main\n"
        "def f():\n    import gaekit.errors\n    from . import vae\n"
    )
    edges = imports_of("gaekit.models.beta", source, known)
    assert set(edges) == {"gaekit.models.vae", "gaekit.models", "gaekit.nn", "gaekit.errors"}
    assert strongly_connected({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_every_module_has_a_layer():
    missing = sorted(name for name in modules() if layer(name)[1] == "unlisted")
    assert not missing, f"modules not in LAYERS (add them to the table): {missing}"


def test_no_import_cycles():
    graph = import_graph()
    cycles = strongly_connected(graph)
    if cycles:
        lines = []
        for component in cycles:
            members = set(component)
            lines.append(f"cycle of {len(component)} modules: {', '.join(component)}")
            lines += [f"    {a} -> {', '.join(sorted(b for b in graph[a] if b in members))}" for a in component]
        pytest.fail(f"{len(cycles)} import cycle(s):\n" + "\n".join(lines), pytrace=False)


def test_no_upward_imports():
    violations = []
    for a, targets in sorted(import_graph().items()):
        for b in sorted(targets):
            (la, na), (lb, nb) = layer(a), layer(b)
            if lb > la:
                violations.append(f"{a} -> {b} (layer {la} {na} imports layer {lb} {nb})")
    if violations:
        pytest.fail(f"{len(violations)} upward import(s):\n" + "\n".join(violations), pytrace=False)
