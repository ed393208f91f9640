"""python -m mepviz batch: a library streamed through dask.distributed into a CSV."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mepviz", "batch", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_smiles_library_on_a_local_cluster(tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("smiles name\nO water\nc1ccncc1 pyridine\nnot-a-smiles((\nCC(=O)[O-] acetate\n"
                   "[SiH4] silane\n\nCCO\n")
    out = tmp_path / "out.csv"
    r = _run([str(lib), "-o", str(out), "--workers", "2"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "6/6" in r.stderr and "6 molecules (2 with errors)" in r.stderr    # progress + summary
    rows = list(csv.DictReader(out.open()))
    assert [int(x["record"]) for x in rows] == [1, 2, 3, 4, 5, 6]            # input order
    assert [x["name"] for x in rows][:2] == ["water", "pyridine"]
    assert "Invalid SMILES" in rows[2]["error"] and "Si" in rows[4]["error"]
    assert rows[3]["charge"] == "-1" and not rows[3]["error"]
    # the numbers are the library's
    from mepviz.electrostatics import surface_statistics
    from mepviz.inputs import from_smiles
    from mepviz.predict import get_predictor
    from mepviz.surfaces import surface_for
    mol = from_smiles("c1ccncc1")
    for m in ("dipole", "quadrupole"):
        pred = get_predictor(m).predict(mol)
        assert float(rows[1][f"mu_abs_D_{m}"]) == pytest.approx(pred.dipole_magnitude_debye, rel=1e-6)
        surf = surface_for(mol, "isodensity")
        st = surface_statistics(surf.vertices, pred.mep(surf.vertices), surf.vertex_areas)
        assert float(rows[1][f"Vs_min_kcal_{m}"]) == pytest.approx(st["v_min"], rel=1e-6)


def test_unreadable_input_is_a_one_line_error(tmp_path):
    (tmp_path / "x.pdf").write_text("junk")
    r = _run([str(tmp_path / "x.pdf"), "-o", str(tmp_path / "o.csv")], tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "unsupported file type" in r.stderr
    r = _run([str(tmp_path / "missing.smi"), "-o", str(tmp_path / "o.csv")], tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_records_are_read_lazily(tmp_path):
    """The readers are generators: the first record comes before the file is read to the end."""
    from mepviz.batch import iter_records
    big = tmp_path / "big.xyz"
    frame = "3\nwater\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"
    big.write_text(frame * 20000 + "5\ntruncated\nC 0 0 0\n")
    it = iter_records(big)
    first = next(it)
    assert first.number == 1 and first.label == "water" and first.error is None
    recs = list(it)
    assert len(recs) == 20000 and recs[-1].error and "truncated" in recs[-1].error
    sdf = tmp_path / "two.sdf"
    sdf.write_text("a\n  x\n\n  0  0  0  0  0  0            999 V2000\nM  END\n$$$$\nb\n  x\n\n"
                   "  0  0  0  0  0  0            999 V2000\nM  END\n$$$$\n")
    assert [r.label for r in iter_records(sdf)] == ["a", "b"]
