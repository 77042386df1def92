"""The project's import graph, read from the source with ``ast``: imports point inward.

STYLE.md: channels use ``gateway.records``, ``gateway.errors`` and ``gateway.plugin`` and never
``store`` or ``outbox``; the normalizer imports only ``gateway.records``; DESIGN.md: nothing but
``gateway/store/`` and ``gateway/outbox/`` imports the schema. Every rule is a small pure function
over the graph, so that each can be shown to fail on a synthetic graph as well as run on the real
one.

Every import counts, at module level or inside a function, a class or a ``try``. ``if
TYPE_CHECKING:`` blocks are counted like any other code: there are none in the project today, and
a type-only import that closes a cycle is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

TOP_LEVEL = ("gateway", "channels", "normalizer")
CHANNEL_MAY_IMPORT = ("gateway.records", "gateway.errors", "gateway.plugin", "channels.*")
NORMALIZER_MAY_IMPORT = ("gateway.records", "normalizer.*")
SCHEMA = "gateway.store.schema"
SCHEMA_OWNERS = ("gateway.store.*", "gateway.outbox.*")

Graph = Mapping[str, Set[str]]


@dataclass(frozen=True, slots=True)
class Import:
    """One edge: ``importer`` makes Python import ``target`` (a project module) at ``line``."""

    importer: str
    target: str
    line: int
    # Inside a function body: run at call time, not when the importer is imported.
    lazy: bool = False
    # A package imported only because a module inside it is (``import a.b`` runs ``a``).
    implied: bool = False


def module_files(root: Path) -> dict[str, Path]:
    """Every importable module of the project by dotted name.

    Only files inside packages (every folder up to the top level has an ``__init__.py``): the
    Alembic scripts in ``gateway/store/migrations/`` are loaded by path and never imported.
    """
    found: dict[str, Path] = {}
    for top in TOP_LEVEL:
        for path in sorted((root / top).rglob("*.py")):
            folders = path.relative_to(root).parents
            if not all((root / f / "__init__.py").exists() for f in folders if str(f) != "."):
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_project(name: str) -> bool:
    return name.split(".", 1)[0] in TOP_LEVEL


def _with_parents(name: str) -> Iterator[tuple[str, bool]]:
    """``a.b.c`` and the packages Python imports first: (name, implied)."""
    parts = name.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end]), True
    yield name, False


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names, relative forms included."""
    if node.level == 0:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    base = package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _named(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: Set[str]
) -> list[str]:
    """The modules one import statement names (a ``from`` name counts when it is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    source = _resolve_from(module, is_package, node)
    submodules = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules]
    return [source, *submodules]


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: Set[str]) -> None:
        self.module, self.is_package, self.modules = module, is_package, modules
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for name in _named(self.module, self.is_package, node, self.modules):
            for target, implied in _with_parents(name):
                if _is_project(target) and target != self.module:
                    edge = Import(self.module, target, node.lineno, self.depth > 0, implied)
                    self.found.append(edge)

    visit_Import = _import
    visit_ImportFrom = _import


def imports_of(module: str, source: str, is_package: bool, modules: Set[str]) -> list[Import]:
    """Every project import in one module's source."""
    collector = _Collector(module, is_package, modules)
    collector.visit(ast.parse(source))
    return collector.found


def read_imports(root: Path) -> list[Import]:
    """Every project import in every project module under ``root``."""
    files = module_files(root)
    return [
        edge
        for module, path in files.items()
        for edge in imports_of(module, path.read_text(), path.name == "__init__.py", set(files))
    ]


def graph_of(imports: Iterable[Import]) -> dict[str, set[str]]:
    """Importer -> the project modules it imports."""
    graph: dict[str, set[str]] = {}
    for edge in imports:
        graph.setdefault(edge.importer, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle (``a -> b -> a`` as ``[a, b, a]``) per strongly connected set of modules."""
    cycles = []
    for component in _components(graph):
        if len(component) > 1:
            cycles.append(_cycle_within(graph, component))
    return sorted(cycles)


def _components(graph: Graph) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to reach)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _cycle_within(graph: Graph, component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, through it."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child in component and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def matches(name: str, patterns: Iterable[str]) -> bool:
    """``name`` is one of ``patterns``: ``a.b`` exactly, or ``a.*`` for ``a`` and inside it."""
    for pattern in patterns:
        if pattern.endswith(".*"):
            package = pattern[:-2]
            if name == package or name.startswith(package + "."):
                return True
        elif name == pattern:
            return True
    return False


def layer_violations(imports: Iterable[Import], layer: str, allowed: Iterable[str]) -> list[Import]:
    """Imports from modules in ``layer`` (``channels.*``) of project modules outside ``allowed``.

    A package the allowed modules sit in (``gateway``, for ``gateway.records``) is allowed too:
    Python imports it first, whatever the importer names. Implied edges are not listed: each
    comes with the named import that is checked itself.
    """
    allowed = tuple(allowed)
    parents = {p for a in allowed for p, implied in _with_parents(a.removesuffix(".*")) if implied}
    return [
        edge
        for edge in imports
        if matches(edge.importer, [layer])
        and not edge.implied
        and not matches(edge.target, allowed)
        and edge.target not in parents
    ]


def schema_importers(imports: Iterable[Import]) -> list[Import]:
    """Imports of the schema from outside the modules that own SQL."""
    return [
        edge
        for edge in imports
        if edge.target == SCHEMA and not edge.implied and not matches(edge.importer, SCHEMA_OWNERS)
    ]


def lazy_project_imports(imports: Iterable[Import]) -> list[Import]:
    """Project modules imported inside a function body (third-party ones never become edges)."""
    return [edge for edge in imports if edge.lazy and not edge.implied]


def describe(edges: Iterable[Import]) -> str:
    return "\n".join(f"  {e.importer} (line {e.line}) imports {e.target}" for e in edges)


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    imports = read_imports(REPO_ROOT)
    # Guard against a graph that is empty because the reader broke, not because all is well.
    assert any(e.importer == "gateway.runtime" and e.target == "channels" for e in imports)
    return imports


def test_the_project_modules_are_all_read() -> None:
    modules = module_files(REPO_ROOT)
    assert {"gateway", "gateway.store.schema", "channels.twilio_status", "normalizer"} <= set(
        modules
    )
    # Alembic's scripts (env.py, versions/) are loaded by path, never imported.
    assert (REPO_ROOT / "gateway" / "store" / "migrations" / "env.py").exists()
    assert not any("migrations" in name.split(".") for name in modules)


def test_there_is_no_import_cycle(project_imports: list[Import]) -> None:
    cycles = find_cycles(graph_of(project_imports))
    assert cycles == [], "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_channels_import_only_records_errors_plugin_and_channels(
    project_imports: list[Import],
) -> None:
    wrong = layer_violations(project_imports, "channels.*", CHANNEL_MAY_IMPORT)
    assert wrong == [], "channels import more than they may:\n" + describe(wrong)


def test_the_normalizer_imports_only_records_and_itself(project_imports: list[Import]) -> None:
    wrong = layer_violations(project_imports, "normalizer.*", NORMALIZER_MAY_IMPORT)
    assert wrong == [], "the normalizer imports more than it may:\n" + describe(wrong)


def test_only_store_and_outbox_import_the_schema(project_imports: list[Import]) -> None:
    wrong = schema_importers(project_imports)
    assert wrong == [], f"{SCHEMA} imported outside gateway/store and gateway/outbox:\n" + (
        describe(wrong)
    )


def test_no_project_module_is_imported_lazily(project_imports: list[Import]) -> None:
    lazy = lazy_project_imports(project_imports)
    assert lazy == [], "imports inside functions hide cycles; import at the top:\n" + describe(lazy)


# The rules themselves, on graphs small enough to see: each must be able to fail.


def test_a_cycle_is_found_and_named() -> None:
    graph = {"gateway.a": {"gateway.b"}, "gateway.b": {"gateway.c"}, "gateway.c": {"gateway.a"}}
    assert find_cycles(graph) == [["gateway.a", "gateway.b", "gateway.c", "gateway.a"]]
    assert find_cycles({"gateway.a": {"gateway.b"}, "gateway.b": set()}) == []


def test_importing_a_module_imports_its_packages_so_the_cycle_through_init_is_found() -> None:
    # gateway/store/__init__.py importing gateway.web, which imports gateway.store.requests.
    modules = {"gateway", "gateway.store", "gateway.store.requests", "gateway.web"}
    imports = [
        *imports_of("gateway.store", "import gateway.web\n", True, modules),
        *imports_of("gateway.web", "from gateway.store.requests import x\n", True, modules),
    ]
    assert find_cycles(graph_of(imports)) == [["gateway.store", "gateway.web", "gateway.store"]]


def test_relative_and_lazy_imports_are_read() -> None:
    modules = {"channels", "channels.a", "channels.b", "gateway", "gateway.store"}
    source = "from . import b\nfrom .b import X\ndef f():\n    from gateway import store\n"
    found = imports_of("channels.a", source, False, modules)
    assert {(e.target, e.lazy) for e in found} == {
        ("channels", False),
        ("channels.b", False),
        ("gateway", True),
        ("gateway.store", True),
    }
    assert [e.target for e in lazy_project_imports(found)] == ["gateway", "gateway.store"]
    # Two dots from inside a subpackage; and ``from . import`` in a package's own __init__.
    nested = imports_of("channels._mail.parse", "from ..b import X\n", False, modules)
    assert [e.target for e in nested] == ["channels", "channels.b"]
    own = imports_of("channels", "from . import b\n", True, modules)
    assert [e.target for e in own] == ["channels.b"]
    # A third-party package imported inside a function is no edge at all.
    assert imports_of("channels.a", "def f():\n    import twilio\n", False, modules) == []


def test_a_channel_importing_the_store_breaks_the_channel_rule() -> None:
    bad = Import("channels.x", "gateway.store.inbound", 3)
    fine = [Import("channels.x", t, 1) for t in ("gateway", "gateway.errors", "channels._mail")]
    assert layer_violations([*fine, bad], "channels.*", CHANNEL_MAY_IMPORT) == [bad]
    assert layer_violations([bad], "normalizer.*", NORMALIZER_MAY_IMPORT) == []


def test_the_schema_rule_spares_only_store_and_outbox() -> None:
    edges = [Import(m, SCHEMA, 1) for m in ("gateway.store.requests", "gateway.outbox.jobs")]
    web = Import("gateway.web.views", SCHEMA, 19)
    assert schema_importers([*edges, web]) == [web]
