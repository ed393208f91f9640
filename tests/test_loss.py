"""Training losses (train/loss.py): the torch potential against the library's formula and an
analytic Slater charge cloud, surface-point batches, and each variant's protocol."""
import numpy as np
import pytest
import torch
from scipy.integrate import quad

from mepviz.electrostatics import multipole_potential
from train import dataset as ds
from train.loss import LossWeights, loss_terms, multipole_potential_torch, point_atom_pairs


def _random_molecules(rng, sizes):
    pos, q, p, th, batch = [], [], [], [], []
    for m, n in enumerate(sizes):
        pos.append(rng.normal(size=(n, 3)) * 1.3)
        q.append(rng.normal(size=n) * 0.3)
        p.append(rng.normal(size=(n, 3)) * 0.05)
        t = rng.normal(size=(n, 3, 3)) * 0.05
        t = 0.5 * (t + t.transpose(0, 2, 1))
        th.append(t - np.trace(t, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3)
        batch.append(np.full(n, m))
    return [np.concatenate(x) for x in (pos, q, p, th, batch)]


def test_torch_potential_equals_the_library_formula_per_molecule():
    rng = np.random.default_rng(1)
    sizes = [3, 5, 2]
    pos, q, p, th, batch = _random_molecules(rng, sizes)
    pts = rng.normal(size=(40, 3)) * 4 + 6.0
    pmol = rng.integers(0, 3, size=40)
    got = multipole_potential_torch(*(torch.from_numpy(x) for x in (pts, pmol, pos, batch, q, p, th))).numpy()
    from mepviz.units import COULOMB_KCAL_ANGSTROM
    for m in range(3):
        a, k = batch == m, pmol == m
        want = multipole_potential(pts[k], pos[a], q[a], p[a], th[a]) / COULOMB_KCAL_ANGSTROM
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-12)


def test_point_atom_pairs_cover_each_molecule_once():
    batch = torch.tensor([0, 0, 1, 1, 1, 2])
    pmol = torch.tensor([2, 0, 1, 1])
    p, a = point_atom_pairs(pmol, batch)
    pairs = sorted(zip(p.tolist(), a.tolist()))
    assert pairs == [(0, 5), (1, 0), (1, 1), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)]


def _slater_cloud_potential(s, a):
    """Potential (e/Å) of a unit charge spread as ρ(r) = e^(−r/a) / (8π a³), by the shell theorem."""
    rho = lambda r: np.exp(-r / a) / (8 * np.pi * a ** 3)                      # noqa: E731
    inner = quad(lambda r: rho(r) * 4 * np.pi * r * r, 0, s)[0] / s
    outer = quad(lambda r: rho(r) * 4 * np.pi * r, s, np.inf)[0]
    return inner + outer


@pytest.mark.parametrize("s,a", [(0.4, 0.3), (1.2, 0.25), (1.8, 0.35), (3.0, 0.5)])
def test_penetration_term_is_the_potential_of_a_slater_valence_cloud(s, a):
    """Nucleus (charge Z) + valence cloud (−N electrons, Slater density of width a): the
    potential is q/s (q = Z − N) plus the penetration term N (1/s + 1/(2a)) e^(−s/a)."""
    z_val, n_val = 6.0, 6.3
    q = z_val - n_val
    want = z_val / s - n_val * _slater_cloud_potential(s, a)
    f64 = torch.float64
    args = [torch.tensor([[s, 0.0, 0.0]], dtype=f64), torch.tensor([0]), torch.zeros(1, 3, dtype=f64), torch.tensor([0]),
            torch.tensor([q], dtype=f64), torch.zeros(1, 3, dtype=f64), torch.zeros(1, 3, 3, dtype=f64)]
    point = multipole_potential_torch(*args)
    smeared = multipole_potential_torch(*args, torch.tensor([[n_val, a]], dtype=f64))
    assert float(point) == pytest.approx(q / s, rel=1e-12)
    assert float(smeared) == pytest.approx(want, rel=1e-7)
    assert float(smeared) > float(point)          # a penetrated cloud screens the nucleus less


def test_surface_points_are_sampled_per_molecule_with_the_iso_share():
    ms = ds.load_npz(f"{ds.ROOT}/data/newchem/train_spice.npz")
    assert ms.surface is not None and ms.has_mep().all()
    idx = [0, 3, 7]
    b = ms.batch(idx, mep_points=40, iso_share=0.25, rng=np.random.default_rng(0))
    assert b["mep_points"].shape == (120, 3)
    for k in range(3):
        sel = b["mep_molecule"] == k
        assert int(sel.sum()) == 40 and int(b["mep_iso"][sel].sum()) == 10
    # the sampled values are the stored ones (hartree/e → kcal/mol/e) at the stored points
    sub = ms.subset([3])
    every = sub.batch([0], mep_points=0)
    assert len(every["mep_ref"]) == sub.surface.count[0]
    with np.load(f"{ds.ROOT}/data/newchem/train_spice.npz") as f:
        iso0 = int(f["iso_count"][:3].sum())
        np.testing.assert_allclose(every["mep_ref"][0].item(), f["iso_esp"][iso0] * 627.5095, rtol=1e-5)
    # the subset/concat/thin bookkeeping keeps points with their molecules
    both = ds.concat([ms.subset([0]), sub])
    np.testing.assert_array_equal(both.surface.count, [ms.surface.count[0], sub.surface.count[0]])
    thinned = ds.thin_mep(both, {"organic": 0.0, "halogen": 0.0, "sulfur_phosphorus": 0.0})
    assert not thinned.has_mep().any() and len(thinned) == 2


def test_loss_terms_follow_the_variant_protocols():
    assert set(LossWeights.for_protocol("dipole").active()) == {"dipole"}
    assert set(LossWeights.for_protocol("quadrupole", quadrupole=1.0).active()) == {"dipole", "quadrupole"}
    assert set(LossWeights.for_protocol("mep", quadrupole=1.0, mep=1e-3).active()) == {"dipole", "quadrupole", "mep"}
    with pytest.raises(ValueError, match="not part of the 'quadrupole' protocol"):
        LossWeights.for_protocol("quadrupole", mep=1e-3)
    with pytest.raises(ValueError, match="not part of the 'dipole' protocol"):
        LossWeights.for_protocol("dipole", quadrupole=1.0)
    # the MEP term: zero error when the reference is the model's own potential
    out = {"dipole": torch.zeros(1, 3), "quadrupole": torch.zeros(1, 3, 3), "charges": torch.tensor([0.5, -0.5]),
           "atomic_dipoles": torch.zeros(2, 3), "atomic_quadrupoles": torch.zeros(2, 3, 3)}
    batch = {"dipole": torch.zeros(1, 3), "quadrupole": torch.zeros(1, 3, 3), "pos": torch.tensor([[0., 0, 0], [1., 0, 0]]),
             "batch": torch.tensor([0, 0]), "mep_points": torch.tensor([[3.0, 0, 0], [0, 3.0, 0]]),
             "mep_molecule": torch.tensor([0, 0])}
    from mepviz.units import COULOMB_KCAL_ANGSTROM as K
    exact = K * torch.tensor([0.5 / 3 - 0.5 / 2, 0.5 / 3 - 0.5 / 10 ** 0.5])
    t = loss_terms(out, {**batch, "mep_ref": exact}, LossWeights(mep=1.0))
    assert float(t["mep"]) == pytest.approx(0.0, abs=1e-10)
    t = loss_terms(out, {**batch, "mep_ref": exact + 2.0}, LossWeights(dipole=1.0, mep=0.5))
    assert float(t["mep"]) == pytest.approx(4.0, rel=1e-5) and float(t["total"]) == pytest.approx(2.0, rel=1e-5)
