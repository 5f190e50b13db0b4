"""The shape of the code, checked: small functions, few parameters, page scripts in .js files, small folders,
imports at the top and no import cycle. Each limit is in docs/architecture.md."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> the package it installs as (pyproject.toml's package-dir).
PACKAGES = {"runshot": "runshot", "generator": "runshot.generator", "validators": "runshot.validators"}
MAX_LINES, MAX_PARAMS, MAX_SCRIPT_LINES, MAX_MODULES = 80, 8, 40, 15
CLICK_DECORATORS = ("command", "option", "argument", "pass_context", "group")
LAZY_MARKS = ("start-up", "startup", "lazy")  # a function-level import says why it is there


def sources() -> list[Path]:
    return sorted(p for folder in PACKAGES for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    folder = path.relative_to(ROOT).parts[0]
    parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
    return ".".join([PACKAGES[folder], *parts])


TREES = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sources()}


def functions():
    for path, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno} {getattr(node, 'name', '')}".strip()


def test_no_function_is_longer_than_80_lines():
    long = [f"{where(p, f)} ({f.end_lineno - f.lineno + 1} lines)" for p, f in functions()
            if f.end_lineno - f.lineno + 1 > MAX_LINES]
    assert long == []


def _is_click_command(node: ast.AST) -> bool:
    return any(any(word in ast.unparse(d) for word in CLICK_DECORATORS) for d in node.decorator_list)


def test_no_function_takes_more_than_8_parameters():
    many = []
    for path, f in functions():
        a = f.args
        names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        count = len(names) + bool(a.vararg) + bool(a.kwarg) - (names[:1] in (["self"], ["cls"]))
        if count > MAX_PARAMS and not _is_click_command(f):
            many.append(f"{where(path, f)} ({count} parameters)")
    assert many == []


def _looks_like_javascript(text: str) -> bool:
    return sum(marker in text for marker in ("=>", "function", "document.", "const ", "return ", ";\n")) >= 2


def test_no_python_string_holds_more_than_40_lines_of_javascript():
    scripts = [f"{path.relative_to(ROOT)}:{node.lineno} ({node.value.count(chr(10))} lines)"
               for path, tree in TREES.items() for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and node.value.count("\n") > MAX_SCRIPT_LINES and _looks_like_javascript(node.value)]
    assert scripts == []


def test_no_folder_holds_more_than_15_modules():
    folders = {p.parent for p in sources()}
    crowded = {str(f.relative_to(ROOT)): n for f in folders
               if (n := len([m for m in f.glob("*.py") if m.name != "__init__.py"])) > MAX_MODULES}
    assert crowded == {}


def _imports(path: Path, node: ast.AST) -> list[str]:
    """The project modules an import statement names (`from a import b` may name module a.b)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module_name(path).split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [module] + [f"{module}.{a.name}" for a in node.names]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for child in node.body for n in ast.walk(child))
    return inside


def import_graph() -> dict[str, set[str]]:
    """Module -> project modules it imports anywhere: at the top, inside functions, for type checkers only."""
    names = {module_name(p): p for p in TREES}
    graph: dict[str, set[str]] = {m: set() for m in names}
    for module, path in names.items():
        for node in ast.walk(TREES[path]):
            graph[module].update(t for t in _imports(path, node) if t in names and t != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("side, other", [("runshot.generator", "runshot.validators"),
                                         ("runshot.validators", "runshot.generator")])
def test_generator_and_validators_never_import_each_other(side: str, other: str):
    graph = import_graph()
    crossing = [f"{m} -> {t}" for m, targets in graph.items() if m.startswith(side)
                for t in targets if t.startswith(other)]
    assert crossing == []


def test_imports_inside_functions_say_why():
    """Imports belong at the top; one inside a function keeps start-up cheap and says so in a comment."""
    unexplained = []
    for path, f in functions():
        lines = path.read_text(encoding="utf-8").splitlines()
        skip = _type_checking_nodes(f)
        for node in ast.walk(f):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                near = " ".join(lines[max(0, node.lineno - 3): node.end_lineno]).lower()
                if not any(mark in near for mark in LAZY_MARKS):
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []


def test_every_package_folder_is_installed():
    """A folder the code imports from must be in pyproject.toml's package list, or `pip install .` leaves it out."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {module_name(p) for p in sources() if p.name == "__init__.py"}
    assert sorted(folders - listed) == []
