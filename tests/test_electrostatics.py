"""Analytic checks of the multipole electrostatics (docs/physics.md formulas)."""
import numpy as np
import pytest

from mepviz.electrostatics import (center_of_mass, molecular_dipole, molecular_quadrupole,
                                   multipole_potential, shift_second_moment, surface_statistics,
                                   traceless)
from mepviz.units import COULOMB_KCAL_ANGSTROM as KE
from mepviz.units import HARTREE_TO_KCAL_MOL, convert_potential

rng = np.random.default_rng(7)


def far_points(n, rmin, rmax, center=(0, 0, 0)):
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    return np.asarray(center) + d * rng.uniform(rmin, rmax, size=(n, 1))


def coulomb(points, sites, charges):
    s = points[:, None, :] - sites[None]
    return KE * (charges / np.linalg.norm(s, axis=2)).sum(1)


def test_point_charge_potential():
    pts = far_points(50, 1.0, 5.0)
    v = multipole_potential(pts, [[0.3, -0.2, 0.1]], charges=[-0.7])
    r = np.linalg.norm(pts - [0.3, -0.2, 0.1], axis=1)
    np.testing.assert_allclose(v, KE * -0.7 / r, rtol=1e-12)


def test_point_dipole_equals_limit_of_two_charges():
    p = np.array([0.2, -0.5, 0.3])            # e·Å
    h = 1e-4
    sites = np.array([p / np.linalg.norm(p) * h / 2, -p / np.linalg.norm(p) * h / 2])
    q = np.linalg.norm(p) / h
    pts = far_points(40, 2.0, 6.0)
    exact = coulomb(pts, sites, np.array([q, -q]))
    v = multipole_potential(pts, [[0, 0, 0]], charges=[0.0], dipoles=[p])
    np.testing.assert_allclose(v, exact, rtol=1e-6, atol=1e-9)


def test_linear_point_quadrupole_on_axis():
    q, a = 0.4, 0.3
    sites = np.array([[0, 0, a], [0, 0, 0], [0, 0, -a]])
    charges = np.array([q, -2 * q, q])
    theta = molecular_quadrupole(sites, charges)
    np.testing.assert_allclose(np.diag(theta), [-q * a**2, -q * a**2, 2 * q * a**2], atol=1e-14)
    z = np.array([[0, 0, 40.0]])
    v = multipole_potential(z, [[0, 0, 0]], charges=[0.0], quadrupoles=[theta])
    np.testing.assert_allclose(v, KE * 2 * q * a**2 / 40.0**3, rtol=1e-12)
    # and the explicit charges agree with the point quadrupole far away, to O((a/r)^2)
    pts = far_points(30, 30.0, 50.0)
    np.testing.assert_allclose(multipole_potential(pts, [[0, 0, 0]], charges=[0.0], quadrupoles=[theta]),
                               coulomb(pts, sites, charges), rtol=5e-3)


def random_distribution(n=12, total=0.0):
    sites = rng.normal(scale=1.2, size=(n, 3))
    charges = rng.normal(scale=0.4, size=n)
    charges += (total - charges.sum()) / n
    return sites, charges


def explode(sites, charges, dipoles, quads, h=1e-3):
    """Replace each atomic dipole/quadrupole by explicit point charges (small displacements)."""
    pts, qs = [sites], [charges]
    for r, p, t in zip(sites, dipoles, quads):
        for a in range(3):                      # dipole: ±p_a/h at ±h/2 e_a
            e = np.eye(3)[a] * h / 2
            pts += [r + e, r - e]
            qs += [p[a] / h, -p[a] / h]
        w, v = np.linalg.eigh(t)                # traceless quadrupole = Σ linear quadrupoles on axes
        for lam, axis in zip(w, v.T):           # linear quadrupole along axis: Θ = λ·(3nn−I)/3 ...
            qq = lam / (3 * h**2)               # ... made from +qq at ±h·axis, −2qq at centre
            pts += [r + h * axis, r - h * axis, r]
            qs += [qq, qq, -2 * qq]
    return np.vstack([np.atleast_2d(x) for x in pts]), np.concatenate([np.atleast_1d(x) for x in qs])


def random_traceless(n):
    t = rng.normal(scale=0.2, size=(n, 3, 3))
    t = 0.5 * (t + t.transpose(0, 2, 1))
    return t - np.trace(t, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)


def test_molecular_multipoles_match_brute_force_point_charges():
    sites, q = random_distribution()
    p = rng.normal(scale=0.1, size=sites.shape)
    t = random_traceless(len(sites))
    origin = np.array([0.4, -0.3, 0.8])
    big_sites, big_q = explode(sites, q, p, t)
    mu = molecular_dipole(sites, q, p, origin=origin)
    np.testing.assert_allclose(mu, molecular_dipole(big_sites, big_q, origin=origin), atol=1e-9)
    theta = molecular_quadrupole(sites, q, p, t, origin=origin)
    d = big_sites - origin
    brute = 0.5 * np.einsum("i,iab->ab", big_q, 3 * np.einsum("ia,ib->iab", d, d)
                            - np.einsum("ia,ia->i", d, d)[:, None, None] * np.eye(3))
    np.testing.assert_allclose(theta, brute, atol=1e-6)
    # and the potentials agree everywhere outside the sites
    pts = far_points(60, 4.0, 9.0)
    np.testing.assert_allclose(multipole_potential(pts, sites, q, p, t),
                               coulomb(pts, big_sites, big_q), rtol=1e-4, atol=1e-4)


def test_tracelessness_and_symmetry():
    sites, q = random_distribution(total=1.0)
    theta = molecular_quadrupole(sites, q, rng.normal(size=sites.shape), random_traceless(len(sites)),
                                 origin=[1, 2, 3])
    assert abs(np.trace(theta)) < 1e-12
    np.testing.assert_allclose(theta, theta.T, atol=1e-14)


@pytest.mark.parametrize("total", [0.0, 1.0, -2.0])
def test_origin_shift_rule(total):
    sites, q = random_distribution(total=total)
    a, o = np.array([0.1, 0.2, -0.3]), np.array([1.5, -0.7, 2.0])
    raw = lambda org: np.einsum("i,ia,ib->ab", q, sites - org, sites - org)  # noqa: E731
    mu_a = molecular_dipole(sites, q, origin=a)
    np.testing.assert_allclose(shift_second_moment(raw(a), mu_a, o, total, old_origin=a), raw(o), atol=1e-10)
    np.testing.assert_allclose(traceless(raw(o)), molecular_quadrupole(sites, q, origin=o), atol=1e-10)
    # a neutral molecule's dipole does not depend on the origin; a charged one's does
    shift = molecular_dipole(sites, q, origin=o) - mu_a
    np.testing.assert_allclose(shift, -total * (o - a), atol=1e-10)


def test_chunking_does_not_change_potential():
    sites, q = random_distribution(n=30)
    p, t = rng.normal(size=sites.shape) * 0.1, random_traceless(30)
    pts = far_points(1001, 3.0, 8.0)
    np.testing.assert_allclose(multipole_potential(pts, sites, q, p, t, chunk_size=7),
                               multipole_potential(pts, sites, q, p, t, chunk_size=100000), rtol=1e-12)


def test_surface_statistics():
    pts = np.arange(12.0).reshape(4, 3)
    s = surface_statistics(pts, [-2.0, 1.0, 3.0, -4.0])
    assert s["v_min"] == -4.0 and s["v_min_position"] == [9.0, 10.0, 11.0]
    assert s["v_max"] == 3.0 and s["v_max_position"] == [6.0, 7.0, 8.0]
    assert s["mean"] == pytest.approx(-0.5)
    assert s["variance"] == pytest.approx(np.var([-2, 1, 3, -4]))
    assert s["variance_total"] == pytest.approx(1.0 + 1.0)
    w = surface_statistics(pts, [-2.0, 1.0, 3.0, -4.0], areas=[1, 0, 0, 1])
    assert w["mean"] == pytest.approx(-3.0)


def test_units_and_center_of_mass():
    assert convert_potential(HARTREE_TO_KCAL_MOL, "hartree/e") == pytest.approx(1.0)
    assert convert_potential(1.0, "kJ/mol/e") == pytest.approx(4.184)
    assert convert_potential(23.0605, "V") == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match="unknown potential unit"):
        convert_potential(1.0, "furlong")
    com = center_of_mass([8, 1, 1], [[0, 0, 0], [0, 0, 1], [0, 1, 0]])
    np.testing.assert_allclose(com, [0, 1.008 / 18.015, 1.008 / 18.015], rtol=1e-4)


def test_potential_matches_the_pairwise_formula_far_from_the_origin():
    """The polynomial (matrix-product) evaluation equals the textbook pair sum term by term,
    for a non-symmetric θ, a molecule 30 Å from the origin and points close to nuclei."""
    n = 40
    sites = rng.normal(size=(n, 3)) * 3.0 + np.array([30.0, -20.0, 10.0])
    q, p, t = rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=(n, 3, 3))
    pts = sites[rng.integers(0, n, 500)] + rng.normal(size=(500, 3)) * 0.8
    s = pts[:, None, :] - sites[None]
    d = np.linalg.norm(s, axis=2)
    pair = (q / d + np.einsum("pna,na->pn", s, p) / d ** 3
            + np.einsum("pna,nab,pnb->pn", s, t, s) / d ** 5).sum(1) * KE
    np.testing.assert_allclose(multipole_potential(pts, sites, q, p, t), pair, rtol=1e-9, atol=1e-9)
    for args, terms in (((q, None, None), q / d), ((None, p, None), np.einsum("pna,na->pn", s, p) / d ** 3)):
        np.testing.assert_allclose(multipole_potential(pts, sites, *args), KE * terms.sum(1), rtol=1e-9, atol=1e-9)
