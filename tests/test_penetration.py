"""Charge penetration (docs/physics.md): Slater valence clouds against the analytic potential,
the library formula against the training loss's, the network head (invariant widths, exact
valence bookkeeping) and the prediction path."""
import numpy as np
import pytest
import torch
from scipy.integrate import quad

from mepviz.core.molecule import Molecule
from mepviz.ml.model import MultipoleNet
from mepviz.ml.predict import Prediction
from mepviz.physics.electrostatics import multipole_potential, penetration_potential, valence_electrons
from mepviz.core.units import COULOMB_KCAL_ANGSTROM as K
from train.loss import multipole_potential_torch


def test_valence_electrons_of_the_model_elements():
    z = [1, 6, 7, 8, 9, 15, 16, 17, 35, 53]
    assert valence_electrons(z).tolist() == [1, 4, 5, 6, 7, 5, 6, 7, 7, 7]


def _slater_cloud(s, a):
    """Potential (e/Å) at distance s of one electron spread as e^(−r/a)/(8π a³) (shell theorem)."""
    rho = lambda r: np.exp(-r / a) / (8 * np.pi * a ** 3)                      # noqa: E731
    return (quad(lambda r: rho(r) * 4 * np.pi * r * r, 0, s)[0] / s
            + quad(lambda r: rho(r) * 4 * np.pi * r, s, np.inf)[0])


def test_library_penetration_is_the_analytic_slater_cloud():
    """A carbon with 4.2 valence electrons (q = −0.2 e) of width 0.3 Å: point charge + term =
    nucleus(+4) + cloud(−4.2), at distances inside, on and beyond the isodensity surface."""
    pos = np.zeros((1, 3))
    pen = np.array([[4.2, 0.3]])
    for s in (0.5, 1.0, 1.7, 2.5, 4.0):
        point = np.array([[0.0, 0.0, s]])
        got = multipole_potential(point, pos, [-0.2], penetration=pen)[0]
        want = K * (4.0 / s - 4.2 * _slater_cloud(s, 0.3))
        assert got == pytest.approx(want, rel=1e-7)
    # far away the term vanishes (the moments are those of the point multipoles)
    assert penetration_potential([[0, 0, 12.0]], pos, pen)[0] < 1e-12


def test_library_and_training_potentials_agree_with_penetration():
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(6, 3))
    q, p = rng.normal(size=6) * 0.3, rng.normal(size=(6, 3)) * 0.05
    th = rng.normal(size=(6, 3, 3)) * 0.05
    th = 0.5 * (th + th.transpose(0, 2, 1))
    pen = np.c_[rng.uniform(1, 7, 6), rng.uniform(0.15, 0.5, 6)]
    pts = rng.normal(size=(50, 3)) * 2.5
    want = multipole_potential(pts, pos, q, p, th, pen)
    t = lambda x: torch.from_numpy(np.asarray(x))                                # noqa: E731
    got = K * multipole_potential_torch(t(pts), torch.zeros(50, dtype=torch.long), t(pos),
                                        torch.zeros(6, dtype=torch.long), t(q), t(p), t(th), t(pen))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-9)


def test_penetration_head_is_invariant_and_counts_valence_electrons():
    torch.manual_seed(0)
    net = MultipoleNet(features=8, layers=1, rbf=6, penetration=True).double().eval()
    with torch.no_grad():                            # give the head a non-trivial response
        for prm in net.penetration.parameters():
            prm.normal_(0, 0.3)
    z = torch.tensor([8, 1, 1, 6, 17])
    pos = torch.randn(5, 3, dtype=torch.float64)
    out = net(z, pos, total_charge=torch.tensor([-1.0], dtype=torch.float64))
    n_val, width = out["penetration"].unbind(-1)
    assert torch.allclose(n_val, torch.tensor([6.0, 1, 1, 4, 7], dtype=torch.float64) - out["charges"])
    assert float(n_val.sum()) == pytest.approx(19.0 + 1.0)          # every valence electron, + the extra one
    lo, hi = net.penetration.WIDTHS
    assert bool(((width > lo) & (width < hi)).all()) and float(width.std()) > 0
    from e3nn import o3
    for rot in (o3.rand_matrix(dtype=torch.float64), -o3.rand_matrix(dtype=torch.float64)):   # + reflections
        out2 = net(z, pos @ rot.T + 1.5, total_charge=torch.tensor([-1.0], dtype=torch.float64))
        assert torch.allclose(out2["penetration"], out["penetration"], atol=1e-10)
    # permuting the atoms permutes the widths
    perm = torch.tensor([3, 0, 4, 1, 2])
    out3 = net(z[perm], pos[perm], total_charge=torch.tensor([-1.0], dtype=torch.float64))
    assert torch.allclose(out3["penetration"], out["penetration"][perm], atol=1e-10)


def test_prediction_includes_the_term_and_can_leave_it_out():
    mol = Molecule([8, 1, 1], [[0, 0, 0.0], [0.96, 0, 0], [-0.24, 0.93, 0]], name="water")
    q = np.array([-0.7, 0.35, 0.35])
    pen = np.c_[valence_electrons(mol.numbers) - q, [0.3, 0.25, 0.25]]
    base = Prediction(mol, "x", q, np.zeros((3, 3)), np.zeros((3, 3, 3)))
    smeared = Prediction(mol, "x", q, np.zeros((3, 3)), np.zeros((3, 3, 3)), penetration=pen)
    pts = np.array([[0, 0, 1.6], [0, 0, 6.0]])
    assert np.allclose(smeared.mep(pts, penetration=False), base.mep(pts))
    diff = smeared.mep(pts) - base.mep(pts)
    assert diff[0] > 0.5 and abs(diff[1]) < 1e-4           # raises V inside the clouds only
    assert np.allclose(smeared.dipole, base.dipole) and np.allclose(smeared.quadrupole, base.quadrupole)
    d = smeared.to_dict()
    assert d["penetration_widths"] == [0.3, 0.25, 0.25] and "penetration_widths" in d["units"]
