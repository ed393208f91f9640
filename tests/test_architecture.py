"""The shape of mepviz (docs/architecture.md): wings that import only from the wings before
them, no import circles, imports inside functions only for optional heavy dependencies, the
old flat module paths as thin re-exports, and no Streamlit in the library."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mepviz"
#: the wings in import order: a module imports only from its own wing and the ones before it
WINGS = ("core", "surface", "physics", "io", "ml", "report", "cli")
#: imports inside functions: optional or heavy dependencies only (PyTorch + e3nn via
#: mepviz.ml.model, dask, gpu4pyscf, py3Dmol)
MAX_FUNCTION_LEVEL_IMPORTS = 5


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path):
    """[(imported mepviz module, inside a function?)] and the external top-level packages."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found, external = [], []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("mepviz"):
                    subs = [f"{target}.{a.name}" for a in child.names if f"{target}.{a.name}" in MODULES]
                    if len(subs) < len(child.names):    # names of the module `target` itself
                        found.append((target, in_function))
                    found.extend((m, in_function) for m in subs)      # "from . import x": module x
                else:
                    external.append((target.split(".")[0], in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("mepviz"):
                        found.append((alias.name, in_function))
                    else:
                        external.append((alias.name.split(".")[0], in_function))
            visit(child, inner)

    visit(tree, False)
    return found, external


MODULES = _modules()


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in WINGS else None


def test_wings_import_only_from_earlier_wings():
    bad = []
    for name, path in MODULES.items():
        wing = _wing(name)
        if wing is None:
            continue
        for target, _ in _imports(name, path)[0]:
            other = _wing(target)
            if other is None:
                bad.append(f"{name} imports {target} (a flat re-export or the package root)")
            elif WINGS.index(other) > WINGS.index(wing):
                bad.append(f"{name} ({wing}) imports {target} ({other})")
    assert not bad, "\n".join(bad)


def test_no_import_circles():
    graph = {n: {t for t, _ in _imports(n, p)[0] if t in MODULES and t != n} for n, p in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def walk(n, stack):
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append(" -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                walk(m, stack + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            walk(n, [n])
    assert not cycles, "\n".join(cycles)


def test_few_imports_inside_functions_and_no_streamlit():
    inside = []
    for name, path in MODULES.items():
        found, external = _imports(name, path)
        inside += [f"{name}: {t}" for t, f in found + external if f]
        assert "streamlit" not in {e for e, _ in external}, f"{name} imports streamlit"
    assert len(inside) <= MAX_FUNCTION_LEVEL_IMPORTS, "\n".join(inside)


def test_flat_modules_are_thin_re_exports():
    """mepviz/<old>.py only re-export (a docstring naming the new home, then imports)."""
    for path in PACKAGE.glob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree) or ""
        assert doc.startswith("Deprecated location; use mepviz."), path.name
        assert all(isinstance(n, ast.ImportFrom) for n in tree.body[1:]), path.name
