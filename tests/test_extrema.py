"""Local surface extrema, Murray–Politzer indices and the area histogram (mepviz.extrema)."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.extrema import area_histogram, local_extrema, politzer_indices
from mepviz.surfaces import fibonacci_sphere


def test_dipolar_sphere_has_one_minimum_and_one_maximum_at_the_poles():
    pts = 3.0 * fibonacci_sphere(4000)
    ext = local_extrema(pts, pts[:, 2], positions=np.array([[0, 0, -1.0], [0, 0, 1.0]]))
    assert [e.kind for e in ext] == ["min", "max"]
    mn, mx = ext
    assert mn.position[2] == pytest.approx(-3.0, abs=0.05) and mn.atom == 0
    assert mx.position[2] == pytest.approx(3.0, abs=0.05) and mx.atom == 1
    assert mx.atom_distance == pytest.approx(2.0, abs=0.05)


def test_two_minima_are_both_found():
    pts = 3.0 * fibonacci_sphere(4000)
    ext = [e for e in local_extrema(pts, -pts[:, 0] ** 2) if e.kind == "min"]
    assert len(ext) == 2
    assert sorted(round(e.position[0]) for e in ext) == [-3, 3]


def test_politzer_indices_of_a_symmetric_dipolar_sphere():
    """V = z on a sphere (equal areas): V̄s± = ±1/2, σ²± = 1/12, ν = 1/4, Π = 1/2."""
    pts = fibonacci_sphere(20000)
    p = politzer_indices(pts[:, 2], np.full(len(pts), 4 * np.pi / len(pts)))
    assert p["mean"] == pytest.approx(0.0, abs=1e-3)
    assert p["mean_positive"] == pytest.approx(0.5, abs=1e-3)
    assert p["sigma2_positive"] == pytest.approx(1 / 12, abs=1e-3)
    assert p["sigma2_total"] == pytest.approx(1 / 6, abs=2e-3)
    assert p["nu"] == pytest.approx(0.25, abs=1e-3)
    assert p["pi"] == pytest.approx(0.5, abs=1e-3)
    assert p["total_area"] == pytest.approx(4 * np.pi)


def test_area_histogram_sums_to_the_area():
    v = np.array([-2.5, -0.4, 0.1, 0.2, 3.9])
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    edges, hist = area_histogram(v, a, bin_width=1.0)
    assert edges[0] == -3.0 and edges[-1] == 4.0
    assert hist.sum() == pytest.approx(15.0)
    assert hist[list(edges).index(0.0)] == pytest.approx(7.0)       # 0.1 and 0.2 in [0, 1)


def test_mismatched_input_is_a_clear_error():
    with pytest.raises(ValueError, match="values for"):
        local_extrema(np.zeros((3, 3)), [1.0, 2.0])
