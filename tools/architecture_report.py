"""The shape of ``mepviz/`` measured (issue 20's before/after table): wings, modules, lines,
import circles among mepviz modules, imports inside functions, and a few counters of ideas
that used to be written more than once; plus the one home of each idea as file:line.

    python tools/architecture_report.py                    # this checkout, as text
    python tools/architecture_report.py --root /some/tree  # another tree (e.g. a git worktree)
    python tools/architecture_report.py --before e69b2db --write docs/architecture_metrics.md

``--before REV`` checks REV out into a temporary ``git worktree`` (removed afterwards) and
measures it with the same code, so both columns of the table come from one function.

Definitions (the same as tests/test_architecture.py, which imports :func:`import_graph`):
- a *module* is a ``.py`` file under ``mepviz/``; a *wing* a sub-package of ``mepviz`` that
  holds modules; a *flat re-export* a top-level module whose body is a docstring and
  ``from … import`` statements only;
- an *import circle* a strongly connected group of two or more mepviz modules in the graph
  of their imports (module-level and function-level, ``from . import x`` counts as an
  import of module ``x``); implicit parent-package imports are not edges;
- a *function-level import* an ``import`` / ``from … import`` statement inside a function or
  lambda body.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- import graph
def modules(package: Path) -> dict[str, Path]:
    """{dotted module name: path} of every .py file under `package` (its parent is the root)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _in_function_nodes(tree):
    """Yield (node, inside a function?) for every node of `tree`."""
    def visit(node, inside):
        for child in ast.iter_child_nodes(node):
            yield child, inside
            yield from visit(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    yield from visit(tree, False)


def module_imports(name: str, path: Path, known: dict) -> list[tuple[str, bool, bool, int]]:
    """[(imported module or top-level package, is it a mepviz module?, inside a function?,
    line)] of module `name` at `path`; `known` the names of all mepviz modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    root = name.split(".")[0]
    out = []
    for node, inside in _in_function_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == root:
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
                if len(subs) < len(node.names):          # names defined in `target` itself
                    out.append((target, True, inside, node.lineno))
                out += [(m, True, inside, node.lineno) for m in subs]
            else:
                out.append((target.split(".")[0], False, inside, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                own = alias.name.split(".")[0] == root
                out.append((alias.name if own else alias.name.split(".")[0], own, inside, node.lineno))
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """{mepviz module: the mepviz modules it imports (any level, itself excluded)}."""
    mods = modules(package)
    return {n: {t for t, own, _, _ in module_imports(n, p, mods) if own and t in mods and t != n}
            for n, p in mods.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of ≥ 2 modules (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


def _is_re_export(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    return bool(body) and all(isinstance(n, ast.ImportFrom) for n in body)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


# --------------------------------------------------------------------------- ideas written more than once
#: code of the project outside mepviz/ that the idea counters read (when present in the tree)
OTHER_CODE = ("app.py", "appkit", "pages", "train", "bench")


def _code_files(root: Path) -> list[Path]:
    """Non-shim mepviz modules and the rest of the project's code."""
    files = [p for p in modules(root / "mepviz").values()
             if not (p.parent == root / "mepviz" and p.name not in ("__init__.py", "__main__.py") and _is_re_export(p))]
    for name in OTHER_CODE:
        p = root / name
        files += [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
    return [p for p in files if "__pycache__" not in p.parts]


def _calls_named(tree, names) -> list[int]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            n = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if n in names:
                out.append(node.lineno)
    return out


def _defs_named(tree, names) -> list[int]:
    return [n.lineno for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in names]


def _strings(tree):
    """(line, text) of every string constant and the literal start of every f-string."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            yield node.lineno, str(node.values[0].value)


_SURFACE_SPELLING = re.compile(r"^(isodensity[ @](\d|$)|vdW ×(\d|$)|vdw\d)")
_SURFACE_LABEL = re.compile(r"^(Isodensity ρ|vdW × \d)")


def idea_counters(root: Path) -> dict[str, tuple[int, list[str]]]:
    """{counter: (count, [file:line, …])} over the tree at `root` (ideas of issue 20 that were
    written more than once; each is 1 or 0 where the idea has one home)."""
    found: dict[str, list[str]] = {k: [] for k in COUNTERS}
    home = {"surface-name spellings written outside the grammar": ("mepviz/surface/names.py", "mepviz/core/registry.py", "mepviz/registry.py"),
            "surface labels typed outside the registry": ("mepviz/core/registry.py", "mepviz/surface/names.py", "mepviz/registry.py")}
    for path in _code_files(root):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hits = {
            "definitions of check_applicable": _defs_named(tree, {"check_applicable"}),
            "LocalCluster set-ups": _calls_named(tree, {"LocalCluster"}),
            "modules defining a record splitter (split/iter records)": _defs_named(tree, {"split_records", "iter_records"})[:1],
            "Murray–Politzer computations (not a view of surface_statistics)": [],
            "module-level dicts of reading notes (WeakKeyDictionary)": _calls_named(tree, {"WeakKeyDictionary"}),
            "card JSON read or written outside the cards module": [],
            "functions hashing a file's bytes (weights identity)": _file_hashers(tree),
            "weights presence checked outside the cards module": [],
            "surface-name spellings written outside the grammar": [],
            "surface labels typed outside the registry": [],
            "trainer options reached through argv strings (train.build → train.train)": [],
        }
        for line in _defs_named(tree, {"politzer_indices", "surface_statistics"}):
            fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.lineno == line)
            if not _calls_named(fn, {"surface_statistics"}):
                hits["Murray–Politzer computations (not a view of surface_statistics)"].append(line)
        if not rel.startswith(("mepviz/ml/cards.py", "mepviz/predict.py")):
            src = path.read_text(encoding="utf-8").splitlines()
            for i, text in enumerate(src, 1):
                code = text.split("#")[0]
                if re.search(r"json\.(load|dump)s?\(.*(card|with_suffix\(\"\.json\"\)|\{name\}\.json)", code):
                    hits["card JSON read or written outside the cards module"].append(i)
                if re.search(r"\.pt\b.*\.(exists|is_file)\(\)|\.(exists|is_file)\(\).*\.pt\b", code):
                    hits["weights presence checked outside the cards module"].append(i)
        if rel not in home["surface-name spellings written outside the grammar"]:
            hits["surface-name spellings written outside the grammar"] = [
                ln for ln, s in _strings(tree) if _SURFACE_SPELLING.match(s) and len(s) < 40]
        if rel not in home["surface labels typed outside the registry"]:
            hits["surface labels typed outside the registry"] = [
                ln for ln, s in _strings(tree) if _SURFACE_LABEL.match(s) and len(s) < 40]
        if rel == "train/build.py":
            hits["trainer options reached through argv strings (train.build → train.train)"] = [
                n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                and re.fullmatch(r"--[a-z][a-z0-9-]+", n.value) and _in_argv_list(tree, n)]
        for k, lines in hits.items():
            found[k] += [f"{rel}:{ln}" for ln in lines]
    return {k: (len(v), v) for k, v in found.items()}


def _file_hashers(tree) -> list[int]:
    """Lines of the functions that sha256 a file's bytes (hashlib.sha256 + open / read_bytes)."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and _calls_named(fn, {"sha256"}) \
                and _calls_named(fn, {"open", "read_bytes"}):
            out.append(fn.lineno)
    return out


def _in_argv_list(tree, const) -> bool:
    """Whether the string `const` sits in a list that is added to a name `argv` (build's old
    stage_argv)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "argv" for t in targets):
                if any(n is const for n in ast.walk(node.value)):
                    return True
    return False


COUNTERS = (
    "definitions of check_applicable",
    "card JSON read or written outside the cards module",
    "functions hashing a file's bytes (weights identity)",
    "weights presence checked outside the cards module",
    "modules defining a record splitter (split/iter records)",
    "Murray–Politzer computations (not a view of surface_statistics)",
    "surface-name spellings written outside the grammar",
    "surface labels typed outside the registry",
    "LocalCluster set-ups",
    "module-level dicts of reading notes (WeakKeyDictionary)",
    "trainer options reached through argv strings (train.build → train.train)",
)


def dependency_lists(root: Path) -> dict:
    """Pinned requirement lines outside pyproject.toml, and pins whose version differs from
    pyproject.toml's."""
    pyproject = root / "pyproject.toml"
    pins = {}
    if pyproject.exists():
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        for d in project.get("dependencies", []) + [d for v in project.get("optional-dependencies", {}).values() for d in v]:
            if "==" in d:
                name, ver = d.split("==", 1)
                pins[name.strip().lower()] = ver.strip()
    outside, drift = 0, []
    for req in sorted(root.glob("requirements*.txt")):
        for line in req.read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                outside += 1
                name, ver = (s.strip() for s in line.split("==", 1))
                name = name.split("[")[0].lower()
                if name in pins and pins[name] != ver:
                    drift.append(f"{name} {ver} ({req.name}) vs {pins[name]} (pyproject.toml)")
                elif name not in pins:
                    drift.append(f"{name} {ver} ({req.name}) not in pyproject.toml")
    return {"pins outside pyproject.toml": outside, "pins that differ": drift}


# --------------------------------------------------------------------------- the measurement
def measure(root: Path) -> dict:
    """Every number of the before/after table for the tree at `root`."""
    package = root / "mepviz"
    mods = modules(package)
    wings = sorted({n.split(".")[1] for n, p in mods.items()
                    if n.count(".") >= 1 and (package / n.split(".")[1] / "__init__.py").exists()})
    flat = [p for n, p in mods.items() if p.parent == package and p.name not in ("__init__.py", "__main__.py")]
    shims = [p for p in flat if _is_re_export(p)]
    graph = {n: {t for t, own, _, _ in module_imports(n, p, mods) if own and t in mods and t != n}
             for n, p in mods.items()}
    top_graph = {n: {t for t, own, inside, _ in module_imports(n, p, mods) if own and t in mods and t != n and not inside}
                 for n, p in mods.items()}
    inside = [f"{p.relative_to(root).as_posix()}:{line} {t}"
              for n, p in mods.items() for t, _, ins, line in module_imports(n, p, mods) if ins]
    inside = sorted(set(inside), key=lambda s: (s.split(":")[0], int(s.split(":")[1].split()[0])))
    streamlit = sorted(n for n, p in mods.items() if any(t == "streamlit" for t, own, _, _ in module_imports(n, p, mods)))
    return {
        "wings": wings,
        "modules": len(mods),
        "lines": sum(_lines(p) for p in mods.values()),
        "top-level modules": len(flat),
        "flat re-exports": len(shims),
        "re-export lines": sum(_lines(p) for p in shims),
        "import circles": circles(graph),
        "import circles (module level only)": circles(top_graph),
        "function-level imports": inside,
        "streamlit in mepviz": streamlit,
        "ideas": idea_counters(root),
        "dependencies": dependency_lists(root),
    }


#: where each idea of issue 20 lives now: (idea, file, symbol), found as file:line by code
HOMES = (
    ("applicability (refusal + notes), assessed once per molecule and model", "mepviz/ml/applicability.py", "assess"),
    ("… run once by the predictor, the verdict attached to the prediction", "mepviz/ml/predict.py", "Predictor.predict"),
    ("model names and their normalisation", "mepviz/core/registry.py", "check_model_name"),
    ("the model variants", "mepviz/core/registry.py", "MODELS"),
    ("weights location", "mepviz/ml/cards.py", "weights_path"),
    ("weights presence", "mepviz/ml/cards.py", "weights_present"),
    ("weights identity (sha256 of the weight file)", "mepviz/ml/cards.py", "weights_sha256"),
    ("card read", "mepviz/ml/cards.py", "read_card"),
    ("card write", "mepviz/ml/cards.py", "write_card"),
    ("record splitter for every batch path (Batch page, mepviz batch)", "mepviz/io/records.py", "records"),
    ("Murray–Politzer statistics", "mepviz/surface/statistics.py", "surface_statistics"),
    ("surface-name grammar", "mepviz/surface/names.py", "parse"),
    ("surface labels (Batch page included)", "mepviz/surface/names.py", "label"),
    ("dask LocalCluster", "mepviz/cli/cluster.py", "dask_client"),
    ("μ, Θ and the centre of mass, computed once (in the network)", "mepviz/ml/model.py", "molecular_moments"),
    ("trainer from the config (typed settings, no argv)", "train/build.py", "stage_settings"),
    ("reading notes as a field of the Molecule", "mepviz/core/molecule.py", "Molecule.notes"),
    ("the one list of dependencies", "pyproject.toml", "dependencies"),
)


def locate(root: Path, file: str, symbol: str) -> str:
    """`file`:line of `symbol` (a function, class, Class.attribute or module assignment; for
    pyproject.toml a key); `file` alone when not found."""
    path = root / file
    if not path.exists():
        return f"{file} (missing)"
    if path.suffix != ".py":
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(rf"\s*{re.escape(symbol)}\s*=", line):
                return f"{file}:{i}"
        return file
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope = tree.body
    for part in symbol.split("."):
        for node in scope:
            names = ([node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else
                     [t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(node, ast.Assign) else
                     [node.target.id] if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) else [])
            if part in names:
                found = node
                scope = getattr(node, "body", [])
                break
        else:
            return file
    return f"{file}:{found.lineno}"


# --------------------------------------------------------------------------- output
def _cell(value) -> str:
    if isinstance(value, list):
        return str(len(value))
    return str(value)


def table(before: dict | None, after: dict, before_name: str, after_name: str) -> str:
    cols = ([f"before ({before_name})"] if before else []) + [f"after ({after_name})"]
    rows = [
        ("wings (sub-packages of mepviz)", lambda m: f"{len(m['wings'])}" + (f": {', '.join(m['wings'])}" if m["wings"] else "")),
        ("modules (.py under mepviz/)", lambda m: m["modules"]),
        ("lines (.py under mepviz/)", lambda m: m["lines"]),
        ("top-level modules", lambda m: m["top-level modules"]),
        ("… of which flat re-exports (lines)", lambda m: f"{m['flat re-exports']} ({m['re-export lines']})"),
        ("modules / lines without the re-exports", lambda m: f"{m['modules'] - m['flat re-exports']} / {m['lines'] - m['re-export lines']}"),
        ("import circles among mepviz modules", lambda m: _circles(m["import circles"])),
        ("… counting module-level imports only", lambda m: _circles(m["import circles (module level only)"])),
        ("function-level imports (statements × imported module)", lambda m: len(m["function-level imports"])),
        ("… of which import a mepviz module", lambda m: sum(" mepviz" in s for s in m["function-level imports"])),
        ("… distinct (module, imported package) pairs", lambda m: len({(s.split(":")[0], s.split()[-1].split(".")[0]) for s in m["function-level imports"]})),
        ("mepviz modules importing streamlit", lambda m: len(m["streamlit in mepviz"])),
    ]
    for key in COUNTERS:
        rows.append((key, lambda m, k=key: m["ideas"][k][0]))
    rows += [
        ("pinned requirement lines outside pyproject.toml", lambda m: m["dependencies"]["pins outside pyproject.toml"]),
        ("pins that differ from pyproject.toml", lambda m: len(m["dependencies"]["pins that differ"])),
    ]
    out = ["| measure | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for label, f in rows:
        out.append(f"| {label} | " + " | ".join(str(f(m)) for m in ([before] if before else []) + [after]) + " |")
    return "\n".join(out)


def _circles(groups) -> str:
    if not groups:
        return "0"
    return f"{len(groups)}: " + "; ".join(" ↔ ".join(g) if len(g) <= 3 else f"{len(g)} modules ({', '.join(g[:3])}, …)"
                                          for g in groups)


def report(before: dict | None, after: dict, before_name: str, after_name: str) -> str:
    lines = ["# mepviz architecture, measured",
             "",
             "Written by `python tools/architecture_report.py"
             + (f" --before {before_name}" if before else "") + " --write docs/architecture_metrics.md`"
             " (definitions in its docstring; the rules are tested by tests/test_architecture.py).",
             "",
             table(before, after, before_name, after_name),
             "",
             f"## Function-level imports now ({len(after['function-level imports'])})",
             ""]
    lines += [f"- `{s}`" for s in after["function-level imports"]] or ["- none"]
    if before:
        lines += ["", f"## Function-level imports before ({len(before['function-level imports'])})", ""]
        lines += [f"- `{s}`" for s in before["function-level imports"]] or ["- none"]
        lines += ["", "## Where the ideas were written more than once, before", ""]
        for k in COUNTERS:
            n, where = before["ideas"][k]
            if n:
                lines.append(f"- {k}: " + ", ".join(f"`{w}`" for w in where))
        drift = before["dependencies"]["pins that differ"]
        if drift:
            lines.append("- pins that differ: " + "; ".join(drift))
    lines += ["", "## Counters above 0 now (expected: one home)", ""]
    lines += [f"- {k}: " + ", ".join(f"`{w}`" for w in v[1]) for k, v in after["ideas"].items() if v[0]] or ["- none"]
    lines += ["", "## One home per idea (file:line now)", "", "| idea | home |", "|---|---|"]
    lines += [f"| {idea} | `{locate(ROOT, file, sym)}` `{sym}` |" for idea, file, sym in HOMES]
    return "\n".join(lines) + "\n"


def measure_revision(rev: str) -> dict:
    """measure() of git revision `rev`, checked out into a temporary worktree."""
    with tempfile.TemporaryDirectory(prefix="mepviz-arch-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            return measure(tree)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="tree to measure (default: this checkout)")
    ap.add_argument("--before", help="git revision to measure as 'before' (a temporary worktree)")
    ap.add_argument("--write", type=Path, help="write the markdown report here")
    a = ap.parse_args(argv)
    after = measure(a.root)
    before = measure_revision(a.before) if a.before else None
    head = subprocess.run(["git", "-C", str(a.root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "working tree"
    text = report(before, after, a.before or "", f"{head} + working tree" if a.root == ROOT else str(a.root))
    if a.write:
        a.write.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
