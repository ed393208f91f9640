"""2D slices of the MEP (mepviz.slices)."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.inputs import from_smiles
from mepviz.slices import mep_slice, plane_axes


def test_molecular_plane_of_benzene_contains_the_ring():
    mol = from_smiles("c1ccccc1")
    o, u, v = plane_axes(mol, "molecular")
    n = np.cross(u, v)
    assert abs(u @ v) < 1e-12 and np.linalg.norm(n) == pytest.approx(1.0)
    assert np.abs((mol.positions - o) @ n).max() < 0.05          # all 12 atoms in the plane


def test_slice_values_are_the_potential_at_the_plane_points():
    from mepviz.predict import get_predictor
    mol = from_smiles("C=O")
    pred = get_predictor("quadrupole").predict(mol)
    sl = mep_slice(mol, lambda p: pred.mep(p, grid=True), "molecular", step=0.25)   # a grid: nuclei too
    assert sl.values.shape == (len(sl.b), len(sl.a)) == sl.density.shape
    i, j = len(sl.b) // 5, len(sl.a) // 3
    assert sl.values[i, j] == pytest.approx(float(pred.mep(sl.point(i, j)[None], grid=True)[0]), rel=1e-9)
    assert len(sl.atoms) == mol.n_atoms                      # a planar molecule: all atoms on it
    assert (sl.density > 0.001).any() and (sl.density[0] < 0.001).all()   # the outline closes inside


def test_grid_is_capped_and_planes_are_checked():
    mol = from_smiles("CCCCCCCCCCCCCCCCCCCC")
    sl = mep_slice(mol, lambda p: np.zeros(len(p)), "xy", step=0.01, max_points=10_000)
    assert sl.values.size <= 10_000
    with pytest.raises(ValueError, match="unknown plane"):
        plane_axes(mol, "diagonal")
