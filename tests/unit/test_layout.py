"""The architecture holds: HTTP at the edge, a package per domain, no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
MAX_TOP_LEVEL_MODULES = 8


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text(), str(path))
            for path in sorted(APP.rglob("*.py"))}


MODULES = app_modules()


def imported_names(tree: ast.AST, *, top_level_only: bool) -> set[str]:
    """Every module an import statement names (`from a import b` gives `a` and `a.b`)."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def below_api(name: str) -> bool:
    return not (name == "app" or name.startswith("app.api"))


def test_app_has_few_top_level_modules() -> None:
    top = [path.name for path in APP.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(top)


@pytest.mark.parametrize("package", sorted(
    name for name, tree in MODULES.items()
    if (APP.parent / name.replace(".", "/") / "__init__.py").exists()))
def test_every_package_says_in_its_first_line_what_lives_there(package: str) -> None:
    docstring = ast.get_docstring(MODULES[package])
    assert docstring, f"{package} has no docstring"
    summary, _, rest = docstring.partition("\n")
    assert summary.strip() and not rest[:1].strip(), f"{package}: begin with a one-line summary"


def test_nothing_below_the_api_imports_it_or_reads_the_request() -> None:
    offenders = {}
    for name, tree in MODULES.items():
        if not below_api(name):
            continue
        wrong = {imported for imported in imported_names(tree, top_level_only=False)
                 if imported.startswith("app.api") or imported == "flask.request"}
        if wrong:
            offenders[name] = sorted(wrong)
    assert offenders == {}


def test_nothing_below_the_api_builds_an_http_error() -> None:
    offenders = []
    for name, tree in MODULES.items():
        if not below_api(name):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in {"abort", "ApiError", "error_response"}):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_seed_data_is_not_imported_at_run_time() -> None:
    users = {name for name, tree in MODULES.items()
             if not name.startswith("app.seed") and name != "app.cli"
             and any(n.startswith("app.seed") for n in imported_names(tree, top_level_only=False))}
    assert users == set()


def import_graph() -> dict[str, set[str]]:
    """Module → the app modules it imports when it is loaded (imports inside functions wait)."""
    graph = {}
    for name, tree in MODULES.items():
        targets = set()
        for imported in imported_names(tree, top_level_only=True):
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules along it, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            # A package's own __init__ importing its children is how packages load, not a circle.
            if node.startswith(target + "."):
                continue
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_there_is_no_import_circle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_circle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
