"""Exports that round-trip (mepviz.export): SDF with formal charges and 3D flag read
back by RDKit, MEP + density cubes read back by the project's cube reader, surface CSV/PLY."""
from __future__ import annotations

import io

import numpy as np
import pytest

from mepviz.inputs import from_smiles
from mepviz.predict import get_predictor, predict_mep_map
from mepviz.export import (CLIP_HARTREE, mep_and_density_cubes, read_ply, sdf_3d, surface_csv,
                                 surface_ply)


@pytest.mark.parametrize("smiles,charge", [("CC(=O)[O-]", -1), ("[NH4+]", 1), ("[NH3+]CC(=O)[O-]", 0),
                                           ("c1ccncc1", 0)])
def test_sdf_keeps_formal_charges_and_3d(smiles, charge):
    from rdkit import Chem
    mol = from_smiles(smiles)
    q = np.linspace(-0.5, 0.5, mol.n_atoms)
    text = sdf_3d(mol, charges=q)
    assert text.splitlines()[1][20:22] == "3D"
    supplier = Chem.SDMolSupplier()
    supplier.SetData(text, removeHs=False)
    rd = next(iter(supplier))
    assert rd.GetNumAtoms() == mol.n_atoms
    assert sum(a.GetFormalCharge() for a in rd.GetAtoms()) == charge
    assert rd.GetConformer().Is3D()
    np.testing.assert_allclose(rd.GetConformer().GetPositions(), mol.positions, atol=1e-4)
    np.testing.assert_allclose([float(x) for x in rd.GetProp("MEPviz_atomic_charges").split()], q, atol=1e-4)
    if smiles == "[NH3+]CC(=O)[O-]":      # the zwitterion keeps both charged sites
        assert sorted(a.GetFormalCharge() for a in rd.GetAtoms() if a.GetFormalCharge()) == [-1, 1]


def test_mep_and_density_cubes_share_a_grid_and_read_back():
    from mepviz.export import read_cube
    from mepviz.surfaces import promolecular_density
    mol = from_smiles("C=O")
    pred = get_predictor("quadrupole").predict(mol)
    mep_text, dens_text = mep_and_density_cubes(pred, spacing=0.4, padding=3.0)
    mep, dens = read_cube(mep_text), read_cube(dens_text)
    assert mep.values.shape == dens.values.shape
    np.testing.assert_allclose(mep.origin, dens.origin)
    assert np.abs(mep.values).max() <= CLIP_HARTREE + 1e-9
    assert "clipped" in mep.comments[1]
    pts = mep.grid_points()
    rho = promolecular_density(mol.numbers, mol.positions, pts)
    np.testing.assert_allclose(dens.values.ravel(), rho, rtol=1e-4, atol=1e-12)
    far = np.linalg.norm(pts[:, None, :] - mol.positions[None], axis=2).min(1) > 2.0
    v = pred.mep(pts[far]) / 627.5095
    # (the cube stores the step to 1e-6 bohr: grid points move by up to ~1e-5 bohr)
    np.testing.assert_allclose(mep.values.ravel()[far], v, rtol=1e-4, atol=1e-7)
    assert (dens.values > 0.001).any() and (dens.values < 0.001).any()   # the 0.001 surface is inside


def test_surface_csv_and_ply_round_trip():
    mol = from_smiles("O")
    mp = predict_mep_map(mol, "quadrupole", "isodensity")
    surf = mp.surface
    rows = np.loadtxt(io.StringIO(surface_csv(surf, mp.values, "kJ/mol/e")), delimiter=",", skiprows=1)
    assert rows.shape == (surf.n_vertices, 8)
    np.testing.assert_allclose(rows[:, 7], mp.values * 4.184, rtol=1e-5)
    np.testing.assert_allclose(rows[:, 6].sum(), surf.area, rtol=1e-4)
    ply = read_ply(surface_ply(surf, mp.values, vmax_kcal=30.0))
    np.testing.assert_allclose(ply["vertices"], surf.vertices, atol=1e-5)
    np.testing.assert_array_equal(ply["faces"], surf.faces)
    np.testing.assert_allclose(ply["values"], mp.values, rtol=1e-5)
    neg = mp.values < -15
    assert (ply["colors"][neg, 0] > ply["colors"][neg, 2]).all()              # red where negative
