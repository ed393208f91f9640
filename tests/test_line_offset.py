"""A line profile that never runs through a nucleus (mepviz.learn)."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.learn import clear_offset, offset_line_profile, segment_clearance


def test_axis_of_a_linear_molecule_is_shifted_just_enough():
    pos = np.array([[0, 0, -1.16], [0, 0, 0.0], [0, 0, 1.16]])
    u = np.array([0, 0, 1.0])
    assert segment_clearance(pos, np.zeros(3), u, 0.5, 50) == pytest.approx(0.0)
    s = clear_offset(pos, np.zeros(3), u, 0.5, 50, clearance=0.5)
    assert abs(s @ u) < 1e-12                                   # perpendicular to the line
    assert 0.5 <= np.linalg.norm(s) <= 0.6                      # the smallest step that clears
    assert segment_clearance(pos, s, u, 0.5, 50) >= 0.5


def test_a_clear_line_is_not_shifted():
    pos = np.array([[0, 1.0, 0], [0, -1.0, 0]])
    s = clear_offset(pos, np.zeros(3), np.array([1.0, 0, 0]), 0.5, 50)
    assert np.all(s == 0)


def test_co2_profile_is_finite_and_tends_to_the_multipole_sum():
    from mepviz.inputs import from_smiles
    from mepviz.predict import get_predictor
    mol = from_smiles("O=C=O")
    pred = get_predictor("quadrupole").predict(mol)
    df = offset_line_profile(mol, pred, "dipole", r_min=0.5, r_max=200, n=200)
    assert df.attrs["clearance"] >= 0.5
    assert np.abs(df["atomic q+p+θ"]).max() < 1e3               # no spike at a nucleus
    far = df[df["r"] > 100]
    np.testing.assert_allclose(far["atomic q+p+θ"], far["multipole sum"], rtol=0.05, atol=1e-6)
