"""The package layout's import rules, checked by walking every module's imports (ast, not by running them).

cli -> api -> runs / sweep -> config / data -> engine -> errors, files: each package imports only
those below it, the engine stays pure NumPy, and only the CLI speaks click.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnctl"

# what each part of nnctl may import from nnctl (beside itself)
BASE = {"errors", "files", "machine", "printable"}  # the floor: what every part may use
ALLOWED = {
    "errors": set(),
    "printable": set(),
    "files": {"errors"},
    "machine": {"errors"},
    "engine": {"errors"},
    "data": BASE,
    "config": BASE | {"engine", "data"},
    "runs": BASE | {"engine", "data", "config"},
    "export": BASE | {"engine", "data", "config", "runs"},
    "api": BASE | {"engine", "data", "config", "runs", "export"},
    "sklearn": BASE | {"engine", "data", "config", "runs", "api"},  # the estimators: nothing imports them
    "models": BASE | {"engine", "data", "config", "runs", "api", "export"},  # the model API: nothing imports it
    "sweep": BASE | {"engine", "data", "config", "runs", "api"},
    "cli": BASE | {"engine", "data", "config", "runs", "sweep", "api", "export"},
}
NEVER_IN_ENGINE = {"pydantic", "click", "yaml", "sklearn", "matplotlib", "joblib", "dask"}


def _part(module: str) -> str:
    """The part of nnctl a dotted module name belongs to: 'nnctl.engine.model' -> 'engine'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    """Whether nnctl.a.b names a module or package of nnctl (rather than a name inside one)."""
    if not name.startswith("nnctl."):
        return False
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module imported, line) for every import in the file, relative ones resolved."""
    module = "nnctl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            submodules = [f"{target}.{alias.name}" for alias in node.names if _is_module(f"{target}.{alias.name}")]
            if len(submodules) < len(node.names):  # names from the module itself, not only its submodules
                found.append((target, node.lineno))
            found += [(name, node.lineno) for name in submodules]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    here = _part("nnctl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    if here in ("__init__", "__main__"):
        return
    for target, line in _imports(path):
        top = target.split(".")[0]
        if top == "nnctl":
            there = _part(target)
            if there in ("__init__", here) or target == "nnctl.__version__":
                continue
            assert there in ALLOWED[here], f"{path.relative_to(PACKAGE)}:{line}: nnctl.{here} must not import {target}"
        if top == "click":
            assert here == "cli", f"{path.relative_to(PACKAGE)}:{line}: only nnctl.cli imports click"
        if here == "engine":
            assert top not in NEVER_IN_ENGINE, f"{path.relative_to(PACKAGE)}:{line}: the engine must not import {top}"


def test_no_import_cycles_between_modules():
    graph = {}
    for path in MODULES:
        name = "nnctl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = {t for t, _ in _imports(path) if t.startswith("nnctl.") and t != name}
    known = set(graph)
    graph = {k: {t if t in known else t.rpartition(".")[0] for t in v} & known for k, v in graph.items()}
    seen, stack, cycles = set(), [], []

    def visit(node):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_test_module_imports_another_or_conftest():
    """What test modules share lives in tests/helpers (or a conftest's fixtures): a test module that
    imports another runs that module's tests' imports and fixtures twice, under two names."""
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(tests)}:{node.lineno}: {name}" for name in names
                          if name.split(".")[0] == "conftest" or name.split(".")[0].startswith("test_")]
    assert not offenders, "import from tests/helpers instead: " + "; ".join(offenders)
