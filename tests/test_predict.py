"""The prediction API (mepviz.predict) on small untrained models written to a temp folder.

The shipped weights are checked separately (tests/test_weights.py); here the physics and
the plumbing are tested: units, origins, batching, the MEP orders, error messages.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mepviz import registry
from mepviz.electrostatics import multipole_potential
from mepviz.molecule import Molecule, MoleculeInputError
from mepviz.units import COULOMB_KCAL_ANGSTROM, DEBYE_PER_E_ANGSTROM

#: small and fast; large head scales so the untrained atomic multipoles are sizeable
TINY = {"features": 16, "layers": 2, "rbf": 8, "charge_scale": 3.0, "dipole_scale": 1.0,
        "quadrupole_scale": 1.0}


def make_weights(folder, seed: int = 0, **config):
    """Write small random-weight dipole/quadrupole/mep models into `folder` (as weights/ would be;
    the mep one with its charge-penetration head)."""
    from mepviz.model import MultipoleNet, save_model

    cfg = {**TINY, **config}
    for k, name in enumerate(("dipole", "quadrupole", "mep")):
        torch.manual_seed(seed + k)
        net = MultipoleNet(**cfg, **({"penetration": True} if name == "mep" else {}))
        save_model(net, str(folder / name), {"name": name, "description": f"test {name} model"})
    return folder


def qm9_molecules(n=3):
    d = np.load("data/qm9/test.npz", allow_pickle=False)
    off = np.concatenate([[0], np.cumsum(d["atom_count"])])
    return [Molecule(d["z"][off[i]:off[i + 1]], d["pos"][off[i]:off[i + 1]], smiles=str(d["smiles"][i]),
                     name=f"qm9_{int(d['qm9_index'][i])}") for i in range(n)]


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return make_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def pred64(weights_dir):
    from mepviz.predict import Predictor
    return Predictor("quadrupole", weights_dir, dtype=torch.float64)


@pytest.fixture(scope="module")
def mols():
    return qm9_molecules(3)


def rotation(seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_prediction_fields_and_units(pred64, mols):
    p = pred64.predict(mols[0])
    n = mols[0].n_atoms
    assert p.charges.shape == (n,) and p.atomic_dipoles.shape == (n, 3) and p.atomic_quadrupoles.shape == (n, 3, 3)
    assert abs(p.charges.sum()) < 1e-10
    assert np.allclose(np.trace(p.atomic_quadrupoles, axis1=1, axis2=2), 0, atol=1e-10)
    assert abs(np.trace(p.quadrupole)) < 1e-10
    assert np.allclose(p.quadrupole, p.quadrupole.T, atol=1e-12)
    # μ and Θ about the centre of mass agree with the network's own assembly (float64)
    with torch.no_grad():
        out = pred64.model(torch.tensor(mols[0].numbers), torch.tensor(mols[0].positions))
    assert np.allclose(p.dipole, out["dipole"][0].numpy(), atol=1e-10)
    assert np.allclose(p.quadrupole, out["quadrupole"][0].numpy(), atol=1e-10)
    assert np.allclose(p.origin, mols[0].center_of_mass)
    assert np.allclose(p.dipole_debye, p.dipole * DEBYE_PER_E_ANGSTROM)
    ev = p.quadrupole_eigenvalues()
    assert np.allclose(ev, np.linalg.eigvalsh(p.quadrupole)) and abs(ev.sum()) < 1e-10
    assert np.allclose(p.quadrupole_eigenvalues(debye=True), ev * DEBYE_PER_E_ANGSTROM)


def test_to_dict_is_json(pred64, mols):
    p = pred64.predict(mols[1])
    d = json.loads(json.dumps(p.to_dict()))
    for key in ("charges", "dipole_debye", "dipole_magnitude_debye", "quadrupole_debye_angstrom",
                "atomic_dipoles", "atomic_quadrupoles", "units"):
        assert key in d
    assert len(d["dipole_debye"]) == 3 and np.array(d["quadrupole_debye_angstrom"]).shape == (3, 3)
    assert d["dipole_magnitude_debye"] == pytest.approx(np.linalg.norm(p.dipole) * DEBYE_PER_E_ANGSTROM)
    assert np.allclose(d["quadrupole_debye_angstrom"], p.quadrupole * DEBYE_PER_E_ANGSTROM)
    assert d["units"]["dipole_debye"] == "debye" and "centre of mass" in d["units"]["quadrupole"]


def test_mep_orders(pred64, mols):
    p = pred64.predict(mols[0])
    pts = mols[0].positions.mean(0) + np.random.default_rng(0).normal(size=(50, 3)) * 4 + 3
    s = pts[:, None, :] - mols[0].positions[None]
    r = np.linalg.norm(s, axis=2)
    v0 = COULOMB_KCAL_ANGSTROM * (p.charges / r).sum(1)
    v1 = v0 + COULOMB_KCAL_ANGSTROM * np.einsum("pna,na,pn->p", s, p.atomic_dipoles, r ** -3)
    v2 = v1 + COULOMB_KCAL_ANGSTROM * np.einsum("pna,nab,pnb,pn->p", s, p.atomic_quadrupoles, s, r ** -5)
    assert np.allclose(p.mep(pts, order=0), v0, rtol=1e-10, atol=1e-10)
    assert np.allclose(p.mep(pts, order=1), v1, rtol=1e-10, atol=1e-10)
    assert np.allclose(p.mep(pts), v2, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError):
        p.mep(pts, order=3)


def test_far_field_matches_molecular_moments(pred64, mols):
    """Far away the atomic-multipole MEP is the molecular μ + Θ expansion about the COM."""
    p = pred64.predict(mols[2])
    u = np.random.default_rng(3).normal(size=(20, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    R = 200.0
    pts = p.origin + R * u
    d = pts - p.origin
    far = COULOMB_KCAL_ANGSTROM * (d @ p.dipole / R ** 3 + np.einsum("pa,ab,pb->p", d, p.quadrupole, d) / R ** 5)
    exact = p.mep(pts)
    # next term (octupole) is O(1/R^4): relative error ~ size/R
    assert np.max(np.abs(exact - far)) < 0.05 * np.max(np.abs(far))


def test_rotation_and_translation_through_api(pred64, mols):
    m = mols[0]
    rot, shift = rotation(), np.array([1.0, -2.0, 0.5])
    m2 = Molecule(m.numbers, m.positions @ rot.T + shift)
    a, b = pred64.predict(m), pred64.predict(m2)
    assert np.allclose(b.charges, a.charges, atol=1e-9)
    assert np.allclose(b.dipole, rot @ a.dipole, atol=1e-9)
    assert np.allclose(b.quadrupole, rot @ a.quadrupole @ rot.T, atol=1e-9)
    pts = np.random.default_rng(5).normal(size=(10, 3)) * 5
    assert np.allclose(b.mep(pts @ rot.T + shift), a.mep(pts), atol=1e-7)


def test_predict_many_matches_single(weights_dir, mols):
    from mepviz.predict import Predictor
    pr = Predictor("dipole", weights_dir)                 # float32, the default
    many = pr.predict_many(mols + mols[:1], batch_size=2)
    assert len(many) == 4
    for m, p in zip(mols + mols[:1], many):
        single = pr.predict(m)
        assert p.molecule is m and p.model_name == "dipole"
        assert np.allclose(p.charges, single.charges, atol=1e-5)
        assert np.allclose(p.atomic_quadrupoles, single.atomic_quadrupoles, atol=1e-5)
        assert abs(p.charges.sum()) < 1e-5


def test_total_charge_is_conserved(pred64):
    cation = Molecule([7, 1, 1, 1, 1], [[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                                        [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]], charge=1)
    p = pred64.predict(cation)
    assert p.charges.sum() == pytest.approx(1.0, abs=1e-10)
    assert p.to_dict()["total_charge"] == 1


CHLOROMETHANE = Molecule([6, 17, 1, 1, 1], [[0, 0, 0], [1.78, 0, 0], [-0.36, 1.03, 0], [-0.36, -0.51, 0.89],
                                             [-0.36, -0.51, -0.89]])


def test_unsupported_elements_are_named(pred64):
    silane = Molecule([14, 1, 1, 1, 1], [[0, 0, 0], [0.86, 0.86, 0.86], [-0.86, -0.86, 0.86],
                                         [-0.86, 0.86, -0.86], [0.86, -0.86, -0.86]])
    with pytest.raises(MoleculeInputError) as exc:
        pred64.predict(silane)
    assert str(exc.value) == ("The ML models do not support Si: supported elements are "
                              "H, C, N, O, F, P, S, Cl, Br, I.")
    with pytest.raises(MoleculeInputError):
        pred64.predict_many([Molecule([1, 1], [[0, 0, 0], [0.74, 0, 0]]), silane])
    assert pred64.predict(CHLOROMETHANE).charges.shape == (5,)     # all registry elements run


def test_weights_decide_the_elements_they_know(tmp_path):
    """Weights embedding only QM9's elements refuse Cl; a card listing its training elements
    turns an embedded element seen in training but not in the final DFT stage into a note, and
    refuses an embedded element no training stage saw (``seen_elements``: untrained embedding)."""
    from mepviz.applicability import assess
    from mepviz.predict import Predictor
    old = Predictor("dipole", make_weights(tmp_path / "old", elements=[1, 6, 7, 8, 9]))
    with pytest.raises(MoleculeInputError, match="The dipole model's weights do not support Cl: "
                                                 "supported elements are H, C, N, O, F."):
        old.predict(CHLOROMETHANE)
    card = dict(old.card, config={"elements": list(registry.MODEL_ELEMENTS)}, training_elements=[1, 6, 7, 8, 9],
                training_charges=[-1, 0, 1], training_max_heavy_atoms=20)
    verdict = assess(CHLOROMETHANE, "dipole", card=card)
    assert verdict.ok and any("Cl lie outside what the dipole model was trained on" in n for n in verdict.notes)
    never = assess(CHLOROMETHANE, "dipole", card=dict(card, seen_elements=[1, 6, 7, 8, 9]))
    assert never.refusal == "The dipole model's weights do not support Cl: supported elements are H, C, N, O, F."
    assert assess(CHLOROMETHANE, "dipole", card=dict(card, seen_elements=[1, 6, 17])).ok
    anion = Molecule([8, 1], [[0, 0, 0], [0.97, 0, 0]], charge=-1)
    assert not assess(anion, "dipole", card=card).notes
    assert "Charge -1 is outside what the dipole model was trained on (neutral molecules only)" in \
        assess(anion, "dipole", card=old.card).notes[0]


def test_model_names_and_missing_weights(tmp_path, weights_dir):
    from mepviz.predict import AVAILABLE_MODELS, Predictor, get_predictor
    assert AVAILABLE_MODELS == registry.MODEL_NAMES
    with pytest.raises(ValueError, match="quadrupole, dipole, dipole-xtb"):
        Predictor("octupole", weights_dir)
    with pytest.raises(FileNotFoundError):
        Predictor("dipole", tmp_path)
    a = get_predictor("quadrupole", weights_dir)
    assert get_predictor("quadrupole", weights_dir) is a
    assert get_predictor("dipole", weights_dir) is not a


def test_predict_mep_map(weights_dir, mols):
    from mepviz.predict import get_predictor, predict_mep_map
    pr = get_predictor("quadrupole", weights_dir)
    mm = predict_mep_map(mols[0], predictor=pr)
    v = mm.surface.vertices
    assert mm.values.shape == (len(v),)
    assert np.allclose(mm.values, multipole_potential(v, mols[0].positions, mm.prediction.charges,
                                                      mm.prediction.atomic_dipoles,
                                                      mm.prediction.atomic_quadrupoles))
    st = mm.statistics
    assert st["v_min"] == pytest.approx(mm.values.min()) and st["v_max"] == pytest.approx(mm.values.max())
    assert st["n_points"] == len(v)
    # surface is closed and encloses the molecule at ~1.1–2.5 Å from the nuclei
    dmin = np.linalg.norm(v[:, None] - mols[0].positions[None], axis=2).min(1)
    assert 0.8 < dmin.min() and dmin.max() < 3.0
    vdw = predict_mep_map(mols[0], surface="vdw1.4", predictor=pr, order=0)
    assert "1.4" in vdw.surface.kind and vdw.order == 0
    assert np.allclose(vdw.values, mm.prediction.mep(vdw.surface.vertices, order=0))
    with pytest.raises(ValueError):
        predict_mep_map(mols[0], surface="bogus", predictor=pr)
