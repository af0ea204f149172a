"""The package's layers: no import circle (lazy imports included), the tasks below the commands and the run
directory code, the errors at the ground floor. Read from the source, so a new import that breaks a layer
fails here by name."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "audiogan"
# what the tasks (and everything they import) must not reach: they are the library the commands build on
ABOVE_THE_TASKS = ("audiogan.api", "audiogan.cli", "audiogan.commands", "audiogan.runs")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str) -> set[str]:
    """The audiogan modules ``name`` imports anywhere in its file (in functions too), except under
    ``if TYPE_CHECKING:``; ``from audiogan.x import y`` counts as audiogan.x.y when that is a module."""
    tree = ast.parse(MODULES[name].read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {module for module in found if module in MODULES and module != name}


@functools.cache
def graph() -> dict[str, set[str]]:
    """Every module's audiogan imports (parsed when a test first asks, not at collection)."""
    return {name: imports_of(name) for name in MODULES}


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for module in graph()[todo.pop()] - seen:
            seen.add(module)
            todo.append(module)
    return seen


def test_no_module_imports_itself_through_others():
    # package __init__ files are left out as targets of the walk: importing audiogan.x.y runs audiogan.x's
    # __init__, but none of them imports back down into a module that imports it
    circles = sorted(name for name in MODULES if name in reachable(name))
    assert circles == []


@pytest.mark.parametrize("task", sorted(name for name in MODULES if name.startswith("audiogan.tasks")))
def test_tasks_do_not_reach_the_commands_the_api_or_the_run_directory_code(task):
    above = sorted(m for m in reachable(task) if m.startswith(ABOVE_THE_TASKS))
    assert above == [], f"{task} reaches {above}"


def test_the_shared_errors_are_the_ground_floor():
    assert graph()["audiogan.errors"] == set()
    assert "audiogan.errors" in reachable("audiogan.tasks.base")


def test_the_top_of_the_package_holds_few_modules():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top


def test_the_walk_sees_a_lazy_import(tmp_path):
    """The check itself: an import inside a function counts, one under TYPE_CHECKING does not."""
    source = "def f():\n    import audiogan.api\nif TYPE_CHECKING:\n    from audiogan import cli\n"
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lazy, typing_only = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not _type_checking_only(lazy, parents)
    assert _type_checking_only(typing_only, parents)
