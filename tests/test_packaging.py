"""pyproject.toml is the one list of dependencies; the element tables the library ships are
PySCF's (so PySCF is needed only for the DFT reference, the [dft] extra)."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_is_the_one_list_of_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"app", "train", "dft", "dev"} <= set(extras)
    assert "torch==2.13.0" in project["dependencies"]          # the CPU build; unpinned pulls CUDA
    pins = [d for d in project["dependencies"] + [d for v in extras.values() for d in v]
            if not d.startswith("mepviz")]
    assert all("==" in d for d in pins), pins
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = [ln.strip() for ln in (ROOT / name).read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")]
        assert lines and all(ln.startswith("-e .[") for ln in lines), (name, lines)


def test_element_tables_are_pyscfs():
    elements = pytest.importorskip("pyscf.data.elements")
    radii = pytest.importorskip("pyscf.data.radii")
    from mepviz.core import elements as el
    assert el.SYMBOLS == tuple(elements.ELEMENTS)
    z = np.arange(len(radii.VDW))
    assert np.array_equal(el.masses(np.arange(len(elements.MASSES))), np.asarray(elements.MASSES, float))
    assert np.array_equal(el.bondi_radii(z), np.asarray(radii.VDW, float)[z] * el.BOHR_ANGSTROM)


@pytest.mark.slow
def test_installed_cli_predicts_and_batches_from_any_folder(tmp_path):
    """Issue 20's packaging aim: the built wheel (weights and cards as package data) installed
    away from the checkout runs `mepviz predict CCO --format json` and `mepviz batch FILE.smi -o
    OUT.csv` from another folder, with no $MEPVIZ_HOME / $MEPVIZ_WEIGHTS pointing back here."""
    import json
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEPVIZ_")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(tmp_path / "site"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheel"), str(ROOT)], check=True, env=env, cwd=tmp_path)
    (wheel,) = (tmp_path / "wheel").glob("mepviz-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, env=env, cwd=tmp_path)
    run = tmp_path / "elsewhere"
    run.mkdir()
    code = "import mepviz.core.paths as p; print(p.weights_dir())"
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=run, env=env, check=True)
    assert where.stdout.strip().startswith(str(tmp_path / "site")), where.stdout

    out = subprocess.run([sys.executable, "-m", "mepviz", "predict", "CCO", "--format", "json"],
                         capture_output=True, text=True, cwd=run, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["formula"] == "C2H6O" and len(doc["charges"]) == 9

    (run / "file.smi").write_text("CCO ethanol\nc1ccccc1O phenol\n")
    out = subprocess.run([sys.executable, "-m", "mepviz", "batch", "file.smi", "-o", "out.csv",
                          "--workers", "1", "--no-progress"], capture_output=True, text=True, cwd=run, env=env)
    assert out.returncode == 0, out.stderr
    rows = (run / "out.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("record,name,formula") and ",ethanol,C2H6O," in rows[1]
