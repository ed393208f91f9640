"""Worker process for one DFT reference job (started by appkit.jobs; no Streamlit here).

Reads a JSON spec on stdin ({numbers, positions, charge, multiplicity, name, budget_s}),
runs ``ReferenceEngine().run`` (result goes to the engine's disk cache) and writes JSON
lines on stdout: {"progress": f, "message": m} while running, then one final line
{"ok": true, "message": ...} or {"ok": false, "kind": "timeout"|"input"|"error", "error": ...}.
"""
from __future__ import annotations

import json
import os
import sys


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    try:
        os.nice(10)            # the web server and the other sessions come first
    except (AttributeError, OSError):
        pass
    spec = json.loads(sys.stdin.read())
    from mepviz import Molecule, MoleculeInputError
    from mepviz.reference import ReferenceEngine, ReferenceTimeout

    mol = Molecule(numbers=spec["numbers"], positions=spec["positions"], charge=spec["charge"],
                   multiplicity=spec["multiplicity"], name=spec.get("name", ""))
    engine = ReferenceEngine()
    try:
        _emit({"progress": 0.0, "message": "estimating", "estimate_s": engine.estimate_seconds(mol)})
        res = engine.run(mol, progress=lambda f, m: _emit({"progress": f, "message": m}),
                         time_budget_s=spec.get("budget_s"))
    except ReferenceTimeout as exc:
        _emit({"ok": False, "kind": "timeout", "error": str(exc)})
        return 0
    except MoleculeInputError as exc:
        _emit({"ok": False, "kind": "input", "error": str(exc)})
        return 0
    except Exception as exc:  # noqa: BLE001  (reported to the user, never crashes the app)
        _emit({"ok": False, "kind": "error", "error": f"{type(exc).__name__}: {exc}"})
        return 0
    _emit({"ok": True, "message": ("loaded from cache" if res.from_cache
                                   else f"done in {res.wall_time:.0f} s")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
