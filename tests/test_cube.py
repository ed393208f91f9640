"""Gaussian cube files of the MEP: units (bohr, hartree/e), layout (z fastest), round trip."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.export import cube_text, grid_for, grid_points, mep_cube, read_cube
from mepviz.molecule import Molecule
from mepviz.predict import Prediction
from mepviz.units import BOHR_ANGSTROM, HARTREE_TO_KCAL_MOL


def point_charge_prediction(q=1.0, at=(0.3, -0.2, 0.1)):
    mol = Molecule([1], [at], name="proton")
    return Prediction(mol, "test", charges=[q], atomic_dipoles=np.zeros((1, 3)),
                      atomic_quadrupoles=np.zeros((1, 3, 3)))


def water_prediction():
    mol = Molecule([8, 1, 1], [[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]], name="water")
    rng = np.random.default_rng(0)
    t = rng.normal(size=(3, 3, 3)) * 0.05
    t = 0.5 * (t + t.transpose(0, 2, 1))
    t -= np.trace(t, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    return Prediction(mol, "quadrupole", charges=[-0.8, 0.4, 0.4],
                      atomic_dipoles=rng.normal(size=(3, 3)) * 0.05, atomic_quadrupoles=t)


def test_point_charge_is_one_over_r_in_atomic_units():
    """A +1 e charge: V = 1/r hartree/e with r in bohr — checks both unit conversions."""
    pred = point_charge_prediction()
    cube = read_cube(mep_cube(pred, spacing=0.5, padding=3.0))
    pts = cube.grid_points()
    r_bohr = np.linalg.norm(pts - pred.molecule.positions[0], axis=1) / BOHR_ANGSTROM
    ok = r_bohr > 1.0
    assert np.allclose(cube.values.ravel()[ok] * r_bohr[ok], 1.0, rtol=2e-5)


def test_header_units_and_layout():
    pred = water_prediction()
    text = mep_cube(pred, spacing=0.3, padding=4.0)
    lines = text.splitlines()
    assert "hartree/e" in lines[1] and "bohr" in lines[1]
    origin, shape = grid_for(pred.molecule.positions, 0.3, 4.0)
    natoms, *org = lines[2].split()
    assert int(natoms) == 3
    assert np.allclose([float(x) for x in org], origin / BOHR_ANGSTROM, atol=1e-6)
    for d in range(3):
        n, *vec = lines[3 + d].split()
        assert int(n) == shape[d] > 0                     # positive count: bohr
        expect = np.zeros(3)
        expect[d] = 0.3 / BOHR_ANGSTROM
        assert np.allclose([float(x) for x in vec], expect, atol=1e-6)
    z, q, *xyz = lines[6].split()
    assert int(z) == 8 and float(q) == 8.0
    assert np.allclose([float(x) for x in xyz], pred.molecule.positions[0] / BOHR_ANGSTROM, atol=1e-6)
    # six values per line, z runs fastest: each line block restarts for every (x, y) column
    body = lines[9:]
    per_column = -(-shape[2] // 6)
    assert len(body) == shape[0] * shape[1] * per_column
    assert all(len(line.split()) <= 6 for line in body)


def test_round_trip_values_and_atoms():
    pred = water_prediction()
    cube = read_cube(mep_cube(pred, spacing=0.4, padding=3.0))
    assert np.array_equal(cube.numbers, pred.molecule.numbers)
    assert np.allclose(cube.positions, pred.molecule.positions, atol=1e-6)
    origin, shape = grid_for(pred.molecule.positions, 0.4, 3.0)
    pts = grid_points(origin, 0.4, shape)
    assert np.allclose(cube.grid_points(), pts, atol=1e-5)     # 6-decimal bohr header
    expect = pred.mep(pts) / HARTREE_TO_KCAL_MOL
    assert cube.values.shape == shape
    assert np.allclose(cube.values.ravel(), expect, rtol=1e-5, atol=1e-9)
    assert np.allclose(cube.values_kcal_mol_e.ravel(), pred.mep(pts), rtol=1e-5, atol=1e-6)
    # the grid is axis aligned with the requested spacing
    assert np.allclose(cube.axes, np.eye(3) * 0.4, atol=1e-6)


def test_grid_point_on_a_nucleus_is_finite(tmp_path):
    pred = point_charge_prediction(at=(0.0, 0.0, 0.0))
    text = mep_cube(pred, spacing=0.5, padding=2.0)     # the grid passes through the origin
    path = tmp_path / "p.cube"
    path.write_text(text)
    cube = read_cube(path)
    assert np.all(np.isfinite(cube.values))
    assert "nan" not in text.lower() and "inf" not in text.lower()


def test_cube_text_generic_and_errors():
    vals = np.arange(24, dtype=float).reshape(2, 3, 4)
    text = cube_text([1], [[0, 0, 0]], origin=[-1, -1, -1], spacing=0.5, values_hartree=vals,
                     comment1="c1", comment2="c2")
    cube = read_cube(text)
    assert np.array_equal(cube.values, vals)
    assert np.allclose(grid_points([-1, -1, -1], 0.5, (2, 3, 4)), cube.grid_points())
    with pytest.raises(ValueError):
        cube_text([1], [[0, 0, 0]], [0, 0, 0], 0.5, np.zeros(5))
    with pytest.raises(ValueError):
        grid_for([[0, 0, 0]], spacing=0.0)
    with pytest.raises(ValueError):
        read_cube(text.rsplit("\n", 2)[0])            # truncated
