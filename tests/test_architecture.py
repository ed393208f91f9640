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


def test_architecture_report_counts_what_these_tests_check():
    """tools/architecture_report.py (the before/after table of docs/architecture_metrics.md)
    measures this tree as these tests see it; the imports inside functions are optional heavy
    dependencies only."""
    import importlib.util
    tool = PACKAGE.parent / "tools" / "architecture_report.py"
    spec = importlib.util.spec_from_file_location("architecture_report", tool)
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    m = report.measure(PACKAGE.parent)
    assert set(m["wings"]) == set(WINGS) and len(WINGS) <= 8
    assert m["import circles"] == [] and not m["streamlit in mepviz"]
    inside = m["function-level imports"]
    assert len(inside) <= MAX_FUNCTION_LEVEL_IMPORTS, inside
    heavy = {"dask", "distributed", "gpu4pyscf", "py3Dmol", "torch", "e3nn", "mepviz.ml.model"}
    assert all(line.split()[-1] in heavy for line in inside), inside
    assert report.circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_reading_notes_are_a_field_of_the_molecule():
    """Issue 20: notes survive dataclasses.replace and pickling (no module-level dict)."""
    import dataclasses
    import pickle

    import numpy as np

    from mepviz.core.molecule import Molecule
    mol = Molecule(np.array([8, 1, 1]), np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], float),
                   notes=("a reading note",))
    assert dataclasses.replace(mol, charge=0).notes == ("a reading note",)
    assert pickle.loads(pickle.dumps(mol)).notes == ("a reading note",)


def test_the_command_line_assesses_a_molecule_once(monkeypatch, capsys):
    """Issue 20: `mepviz predict` runs the applicability check once per molecule and model (the
    predictor's); the command line and the output read the verdict from the prediction."""
    from mepviz.cli import main as mepviz_main       # the console script's function
    from mepviz.ml import applicability, predict
    from mepviz.report import batch

    calls = []
    real = applicability.assess

    def counted(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else kwargs.get("model_name"))
        return real(*args, **kwargs)

    for module in (applicability, predict, batch):
        monkeypatch.setattr(module, "assess", counted)
    assert mepviz_main(["predict", "CCO", "--format", "json", "--model", "quadrupole"]) == 0
    assert '"formula": "C2H6O"' in capsys.readouterr().out
    assert calls == ["quadrupole"]
