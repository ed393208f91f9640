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
