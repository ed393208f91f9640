"""GFN2-xTB (tblite) conventions, agreement with the PySCF reference data, and the labeller."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from mepviz.baselines import _xtb_raw, unpack_quadrupoles, xtb_multipoles
from mepviz.electrostatics import (center_of_mass, molecular_dipole, molecular_quadrupole,
                                   shift_second_moment, traceless)
from mepviz.molecule import Molecule
from mepviz.units import BOHR_ANGSTROM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WATER = Molecule([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])


def _rotation(seed=0):
    from scipy.spatial.transform import Rotation
    return Rotation.random(random_state=seed).as_matrix()


def _load(name):
    return np.load(os.path.join(ROOT, "data", "qm9", name), allow_pickle=False)


def _molecules(d):
    off = np.r_[0, np.cumsum(d["atom_count"])]
    return [Molecule(d["z"][off[i]:off[i + 1]], d["pos"][off[i]:off[i + 1]]) for i in range(len(off) - 1)]


@pytest.fixture(scope="module")
def test_set():
    d = _load("test.npz")
    mols = _molecules(d)
    res = [xtb_multipoles(m) for m in mols]
    return d, mols, res


@pytest.fixture(scope="module")
def asym():
    """An asymmetric QM9 molecule from the training split (no symmetry hides errors)."""
    d = _load("train.npz")
    return _molecules(d)[5]


# ----------------------------------------------------------------- tblite's raw conventions

def test_tblite_packing_order_and_units_water():
    """6 components ordered (xx, xy, yy, xz, yz, zz), atomic units, traceless.

    Water lies in the yz plane with C2 along z: only the diagonal survives, and xy, xz, yz
    (indices 1, 3, 4) vanish; the dipole points along −z (O at +z carries negative charge).
    """
    res = _xtb_raw(WATER.numbers, WATER.positions)
    qp = res.get("quadrupole")
    assert np.allclose(qp[[1, 3, 4]], 0.0, atol=1e-10)
    assert abs(qp[0] + qp[2] + qp[5]) < 1e-10                    # traceless
    mu = res.get("dipole")
    assert np.allclose(mu[:2], 0.0, atol=1e-10) and mu[2] < 0
    # e·bohr: |μ| of water in GFN2-xTB ≈ 2.3 D ≈ 0.89 e·bohr
    assert 0.8 < np.linalg.norm(mu) < 1.0
    assert np.isclose(np.linalg.norm(mu) * BOHR_ANGSTROM * 4.80320, 2.27, atol=0.1)


def test_tblite_molecular_quadrupole_origin_and_offdiagonal_factor(asym):
    """tblite's own molecular quadrupole refers to (0,0,0) and is not a consistent tensor.

    It equals Σθᵢ (atomic Buckingham quadrupoles) + the charge/atomic-dipole part, whose
    diagonal is Buckingham ½(3M − tr M) but whose off-diagonal elements are 3·M_ab, twice
    the Buckingham 3/2·M_ab. The rebuilt tensor must reproduce exactly that, and the raw
    tblite tensor must fail rotation covariance (if a tblite update fixes it, this flags it).
    """
    pos_b = asym.positions / BOHR_ANGSTROM
    res = _xtb_raw(asym.numbers, asym.positions)
    d = res.get("post-processing-dict")
    q = res.get("charges")
    p = np.stack([d[f"dipm_A_{a}"] for a in "xyz"], 1)
    t = unpack_quadrupoles(np.stack([d[f"qm_A_{k}"] for k in ("xx", "xy", "yy", "xz", "yz", "zz")], 1))
    assert np.allclose(np.trace(t, axis1=1, axis2=2), 0.0, atol=1e-10)  # atomic θ traceless
    assert np.allclose(molecular_dipole(pos_b, q, p), res.get("dipole"), atol=1e-10)
    qp_part = molecular_quadrupole(pos_b, q, p)                     # Buckingham, origin 0
    tblite_model = qp_part * np.where(np.eye(3) > 0, 1.0, 2.0) + t.sum(0)
    raw = unpack_quadrupoles(res.get("quadrupole"))
    assert np.allclose(raw, tblite_model, atol=1e-9)

    # origin: translating the molecule changes tblite's quadrupole (origin-fixed at 0) ...
    shift = np.array([1.0, -2.0, 3.0])
    res2 = _xtb_raw(asym.numbers, asym.positions + shift)
    raw2 = unpack_quadrupoles(res2.get("quadrupole"))
    mu = res.get("dipole")
    s_b = shift / BOHR_ANGSTROM
    dm = np.outer(s_b, mu) + np.outer(mu, s_b)                      # ΔM for a neutral molecule
    d_buck = traceless(dm)
    expected = d_buck * np.where(np.eye(3) > 0, 1.0, 2.0)           # tblite's factors
    assert np.allclose(raw2 - raw, expected, atol=1e-7)
    assert not np.allclose(raw2 - raw, d_buck, atol=1e-3)

    # ... and the raw tensor does not rotate as a tensor
    rot = _rotation(1)
    raw_r = unpack_quadrupoles(_xtb_raw(asym.numbers, asym.positions @ rot.T).get("quadrupole"))
    assert np.abs(rot @ raw @ rot.T - raw_r).max() > 1e-2


def test_rebuilt_quadrupole_is_a_proper_tensor(asym):
    """MEPviz's xTB moments: traceless, COM quadrupole translation invariant, rotation covariant."""
    r0 = xtb_multipoles(asym)
    assert abs(np.trace(r0.quadrupole_com)) < 1e-10
    assert np.allclose(r0.quadrupole_com, r0.quadrupole_com.T)
    assert np.isclose(r0.charges.sum(), 0.0, atol=1e-6)

    moved = Molecule(asym.numbers, asym.positions + np.array([3.0, -1.5, 7.0]))
    r1 = xtb_multipoles(moved)
    assert np.allclose(r1.quadrupole_com, r0.quadrupole_com, atol=1e-6)
    assert np.allclose(r1.dipole, r0.dipole, atol=1e-6)

    rot = _rotation(2)
    r2 = xtb_multipoles(Molecule(asym.numbers, asym.positions @ rot.T))
    assert np.allclose(r2.dipole, rot @ r0.dipole, atol=1e-6)
    assert np.allclose(r2.quadrupole_com, rot @ r0.quadrupole_com @ rot.T, atol=1e-6)
    assert np.allclose(r2.dipoles, r0.dipoles @ rot.T, atol=1e-6)
    assert np.allclose(r2.quadrupoles, np.einsum("ab,nbc,dc->nad", rot, r0.quadrupoles, rot), atol=1e-6)

    # second_moment: traceless part and origin shift reproduce quadrupole_com exactly
    m_com = shift_second_moment(r0.second_moment, r0.dipole, r0.center_of_mass)
    assert np.allclose(traceless(m_com), r0.quadrupole_com, atol=1e-10)
    assert np.allclose(r0.center_of_mass, center_of_mass(asym.numbers, asym.positions))


# ----------------------------------------------------------------- against the PySCF data

def test_xtb_moments_agree_with_pyscf_reference(test_set):
    """xTB vs B3LYP/6-31G(2df,p) (PySCF, data/qm9/test.npz), 100 molecules, component-wise.

    Measured (tblite 0.8.0): dipole MAE 0.045 e·Å, r = 0.992; quadrupole (COM) MAE 0.17 e·Å²,
    r = 0.984. A Buckingham factor error (×1.5, ×2, ×3), the raw tblite tensor or a wrong
    origin would give quadrupole MAEs of 0.5–2 e·Å² — checked below so the test can tell.
    """
    d, mols, res = test_set
    mu = np.array([r.dipole for r in res])
    th = np.array([r.quadrupole_com for r in res])
    mu_ref, th_ref = d["dipole"], d["quadrupole_com"]
    mae_mu = np.abs(mu - mu_ref).mean()
    mae_th = np.abs(th - th_ref).mean()
    assert mae_mu < 0.1, mae_mu
    assert mae_th < 0.3, mae_th
    assert np.corrcoef(mu.ravel(), mu_ref.ravel())[0, 1] > 0.98
    assert np.corrcoef(th.ravel(), th_ref.ravel())[0, 1] > 0.97
    # the conventions are what makes the agreement: wrong ones are clearly worse
    for factor in (1.5, 2.0, 3.0, 0.5):
        assert np.abs(factor * th - th_ref).mean() > 1.5 * mae_th
    origin0 = np.array([molecular_quadrupole(m.positions, r.charges, r.dipoles, r.quadrupoles)
                        for m, r in zip(mols, res)])                 # about (0,0,0), not the COM
    assert np.abs(origin0 - th_ref).mean() > 1.5 * mae_th
    raw = np.array([unpack_quadrupoles(_xtb_raw(m.numbers, m.positions).get("quadrupole"))
                    for m in mols[:30]]) * BOHR_ANGSTROM ** 2
    ref0 = traceless(d["second_moment"][:30])                       # DFT about (0,0,0)
    assert np.abs(raw - ref0).mean() > 1.5 * np.abs(origin0[:30] - ref0).mean()


def test_xtb_charges_sum_and_dipole_reference(test_set):
    d, mols, res = test_set
    for m, r in zip(mols, res):
        assert abs(r.charges.sum()) < 1e-6
        assert r.charges.shape == (m.n_atoms,)
    # |μ| against QM9's own column (debye): xTB overestimates QM9 dipoles a bit
    mu_d = np.linalg.norm([r.dipole for r in res], axis=1) * 4.80320
    assert np.abs(mu_d - d["qm9_dipole_debye"]).mean() < 0.6


# ----------------------------------------------------------------- the labeller

def test_labeller_rows_match_the_data_format(tmp_path):
    from train import xtb_label
    out = tmp_path / "x.npz"
    summary = xtb_label.run(433, 6, str(out), chunk=4, quiet=True)
    assert summary["labelled"] == 6 and not summary["failed"]
    ref = _load("train.npz")
    with np.load(out, allow_pickle=False) as d:
        assert set(d.files) == set(ref.files) | {"position", "charges", "atomic_dipoles"}
        assert d["atomic_dipoles"].shape == d["pos"].shape
        for k in ref.files:
            assert d[k].dtype.kind == ref[k].dtype.kind, k
            assert d[k].shape[1:] == ref[k].shape[1:], k
        assert np.all(np.diff(d["qm9_index"]) > 0)                   # sorted by qm9_index
        assert sorted(d["position"]) == list(range(433, 439))
        assert d["charges"].shape == d["z"].shape == (d["atom_count"].sum(),)
        off = np.r_[0, np.cumsum(d["atom_count"])]
        from train.qm9 import entry
        for i, p in enumerate(d["position"]):
            e = entry(int(p))
            assert e.index == d["qm9_index"][i] and e.smiles == d["smiles"][i]
            assert np.array_equal(d["pos"][off[i]:off[i + 1]], e.positions)
            q = d["charges"][off[i]:off[i + 1]]
            assert abs(q.sum()) < 1e-6
            m = shift_second_moment(d["second_moment"][i], d["dipole"][i], d["center_of_mass"][i])
            assert np.allclose(traceless(m), d["quadrupole_com"][i], atol=1e-10)
    # resumable: a second run reuses the chunks and writes the same file
    again = xtb_label.run(433, 6, str(out), chunk=4, quiet=True)
    assert again["ms_per_molecule"] is None and again["labelled"] == 6


def test_labeller_refuses_reserved_and_test_positions(tmp_path):
    from train import xtb_label
    for start in (0, 99, 150, 199):
        with pytest.raises(SystemExit):
            xtb_label.run(start, 5, str(tmp_path / "bad.npz"), quiet=True)
    assert not (tmp_path / "bad.npz").exists()


def test_committed_xtb_shards():
    """data/xtb/*.npz: training positions only, disjoint shards, self-consistent labels."""
    files = sorted(f for f in glob.glob(os.path.join(ROOT, "data", "xtb", "*.npz")) if ".tmp" not in f)
    if not files:
        pytest.skip("no xTB shards committed")
    test_index = set(_load("test.npz")["qm9_index"].tolist())
    seen = set()
    for f in files:
        with np.load(f, allow_pickle=False) as d:
            pos = d["position"]
            assert pos.min() >= 200
            assert not seen & set(pos.tolist())
            seen |= set(pos.tolist())
            assert not test_index & set(d["qm9_index"].tolist())
            assert np.all(np.diff(d["qm9_index"]) > 0)
            assert d["atom_count"].sum() == len(d["z"]) == len(d["pos"]) == len(d["charges"])
            off = np.r_[0, np.cumsum(d["atom_count"])]
            sums = np.add.reduceat(d["charges"], off[:-1])
            assert np.abs(sums).max() < 1e-5
            q = d["quadrupole_com"]
            assert np.abs(np.trace(q, axis1=1, axis2=2)).max() < 1e-8
            for i in np.linspace(0, len(pos) - 1, 5).astype(int):   # spot check
                m = shift_second_moment(d["second_moment"][i], d["dipole"][i], d["center_of_mass"][i])
                assert np.allclose(traceless(m), q[i], atol=1e-8)
    readme = os.path.join(ROOT, "data", "xtb", "README.md")
    assert os.path.exists(readme)
    with open(readme) as fh:
        text = fh.read()
    assert "tblite" in text and "Buckingham" in text
