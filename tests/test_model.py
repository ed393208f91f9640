"""Equivariant multipole network: symmetry, charge conservation, moments, I/O (float64)."""
import json
import os

import numpy as np
import pytest
import torch
from e3nn import o3

from mepviz import electrostatics as es
from mepviz.model import (MultipoleNet, load_model, neighbour_pairs, save_model,
                          tensor_basis)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-10
KEYS_ATOM = ("charges", "atomic_dipoles", "atomic_quadrupoles")


def _molecules(n=4, start=0):
    d = np.load(os.path.join(ROOT, "data", "qm9", "train.npz"), allow_pickle=False)
    counts = d["atom_count"]
    offs = np.concatenate([[0], np.cumsum(counts)])
    # pick a mix of sizes incl. N/O/F containing ones
    idx = list(range(start, start + n))
    z = np.concatenate([d["z"][offs[k]:offs[k + 1]] for k in idx])
    pos = np.concatenate([d["pos"][offs[k]:offs[k + 1]] for k in idx])
    batch = np.repeat(np.arange(n), counts[idx])
    return (torch.as_tensor(z), torch.as_tensor(pos, dtype=torch.float64),
            torch.as_tensor(batch))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = MultipoleNet(features=16, layers=2, rbf=8).double().eval()
    # make the (zero-initialised) charge bias non-trivial
    with torch.no_grad():
        m.charge_bias.weight.normal_(0, 0.3)
    return m


@pytest.fixture(scope="module")
def batch():
    return _molecules(4)


def _run(model, z, pos, b, q=None):
    with torch.no_grad():
        return model(z, pos, b, q)


def test_output_shapes_and_types(model, batch):
    z, pos, b = batch
    out = _run(model, z, pos, b)
    a, m = len(z), 4
    assert out["charges"].shape == (a,)
    assert out["atomic_dipoles"].shape == (a, 3)
    assert out["atomic_quadrupoles"].shape == (a, 3, 3)
    assert out["dipole"].shape == (m, 3)
    assert out["quadrupole"].shape == (m, 3, 3)
    assert all(v.dtype == torch.float64 for v in out.values())
    th = out["atomic_quadrupoles"]
    assert torch.allclose(th, th.transpose(1, 2), atol=TOL)
    assert torch.einsum("aii->a", th).abs().max() < TOL
    assert out["atomic_dipoles"].abs().max() > 1e-6 and th.abs().max() > 1e-6  # not trivially zero


@pytest.mark.parametrize("improper", [False, True])
def test_rotation_reflection_translation(model, batch, improper):
    z, pos, b = batch
    torch.manual_seed(1 + improper)
    rot = o3.rand_matrix(dtype=torch.float64)
    if improper:
        rot = -rot                                   # rotation-inversion, det = −1
    shift = torch.tensor([1.3, -2.2, 0.7], dtype=torch.float64)
    ref = _run(model, z, pos, b, torch.tensor([0.0, 1.0, -1.0, 0.0], dtype=torch.float64))
    out = _run(model, z, pos @ rot.T + shift, b, torch.tensor([0.0, 1.0, -1.0, 0.0], dtype=torch.float64))
    assert torch.allclose(out["charges"], ref["charges"], atol=TOL, rtol=0)
    # atomic dipoles are polar vectors: p -> R p (so inversion flips them)
    assert torch.allclose(out["atomic_dipoles"], ref["atomic_dipoles"] @ rot.T, atol=TOL, rtol=0)
    # quadrupoles: θ -> R θ Rᵀ (even under inversion)
    assert torch.allclose(out["atomic_quadrupoles"], rot @ ref["atomic_quadrupoles"] @ rot.T, atol=TOL, rtol=0)
    # molecular moments about the COM are translation invariant, rotate covariantly
    assert torch.allclose(out["dipole"], ref["dipole"] @ rot.T, atol=TOL, rtol=0)
    assert torch.allclose(out["quadrupole"], rot @ ref["quadrupole"] @ rot.T, atol=TOL, rtol=0)


def test_pure_inversion_flips_dipoles_only(model, batch):
    z, pos, b = batch
    ref = _run(model, z, pos, b)
    out = _run(model, z, -pos, b)
    assert torch.allclose(out["charges"], ref["charges"], atol=TOL, rtol=0)
    assert torch.allclose(out["atomic_dipoles"], -ref["atomic_dipoles"], atol=TOL, rtol=0)
    assert torch.allclose(out["atomic_quadrupoles"], ref["atomic_quadrupoles"], atol=TOL, rtol=0)


def test_permutation_equivariance(model, batch):
    z, pos, b = batch
    ref = _run(model, z, pos, b)
    g = torch.Generator().manual_seed(3)
    perm = torch.randperm(len(z), generator=g)            # mixes atoms of all molecules
    out = _run(model, z[perm], pos[perm], b[perm])
    for k in KEYS_ATOM:
        assert torch.allclose(out[k], ref[k][perm], atol=TOL, rtol=0), k
    assert torch.allclose(out["dipole"], ref["dipole"], atol=TOL, rtol=0)
    assert torch.allclose(out["quadrupole"], ref["quadrupole"], atol=TOL, rtol=0)
    # relabelling the molecules permutes the molecular outputs
    mol_perm = torch.tensor([2, 0, 3, 1])
    out2 = _run(model, z, pos, mol_perm[b])
    assert torch.allclose(out2["dipole"][mol_perm], ref["dipole"], atol=TOL, rtol=0)
    assert torch.allclose(out2["charges"], ref["charges"], atol=TOL, rtol=0)


def test_batch_independence(model, batch):
    """A molecule's outputs don't depend on what else is in the batch."""
    z, pos, b = batch
    ref = _run(model, z, pos, b)
    sel = b == 2
    out = _run(model, z[sel], pos[sel], None)
    for k in KEYS_ATOM:
        assert torch.allclose(out[k], ref[k][sel], atol=TOL, rtol=0)
    assert torch.allclose(out["dipole"][0], ref["dipole"][2], atol=TOL, rtol=0)


def test_exact_charge_conservation(model, batch):
    z, pos, b = batch
    total = torch.tensor([0.0, 1.0, -1.0, 0.0], dtype=torch.float64)
    out = _run(model, z, pos, b, total)
    sums = torch.zeros(4, dtype=torch.float64).index_add_(0, b, out["charges"])
    assert torch.allclose(sums, total, atol=1e-12, rtol=0)
    # charges differ from the neutral prediction only by a uniform shift per molecule
    neutral = _run(model, z, pos, b)
    diff = out["charges"] - neutral["charges"]
    for m, qm in enumerate(total.tolist()):
        dm = diff[b == m]
        assert torch.allclose(dm, torch.full_like(dm, qm / len(dm)), atol=1e-12)


def test_molecular_moments_match_electrostatics(model, batch):
    z, pos, b = batch
    total = torch.tensor([0.0, 1.0, -1.0, 0.0], dtype=torch.float64)
    out = _run(model, z, pos, b, total)
    for m in range(4):
        sel = (b == m).numpy()
        zz, rr = z.numpy()[sel], pos.numpy()[sel]
        q = out["charges"].numpy()[sel]
        p = out["atomic_dipoles"].numpy()[sel]
        th = out["atomic_quadrupoles"].numpy()[sel]
        com = es.center_of_mass(zz, rr)
        np.testing.assert_allclose(out["center_of_mass"][m].numpy(), com, atol=1e-12)
        np.testing.assert_allclose(out["dipole"][m].numpy(),
                                   es.molecular_dipole(rr, q, p, origin=com), atol=1e-12)
        np.testing.assert_allclose(out["quadrupole"][m].numpy(),
                                   es.molecular_quadrupole(rr, q, p, th, origin=com), atol=1e-12)


def test_neighbour_pairs_match_brute_force():
    z, pos, b = _molecules(3, start=10)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(z), generator=g)
    pos, b = pos[perm], b[perm]
    i, j = neighbour_pairs(pos, b, 3.0)
    got = set(zip(i.tolist(), j.tolist()))
    d = torch.cdist(pos, pos)
    want = {(a, c) for a in range(len(z)) for c in range(len(z))
            if a != c and b[a] == b[c] and d[a, c] < 3.0}
    assert got == want


def test_tensor_basis_is_orthonormal_and_e3nn_2e():
    bas = tensor_basis()
    assert torch.allclose(torch.einsum("mab,nab->mn", bas, bas), torch.eye(5, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(bas, bas.transpose(1, 2)) and torch.einsum("maa->m", bas).abs().max() < 1e-12
    rot = o3.rand_matrix(dtype=torch.float64)
    d2 = o3.Irrep(2, 1).D_from_matrix(rot)
    lhs = rot @ bas @ rot.T
    rhs = torch.einsum("nm,nab->mab", d2, bas)
    assert torch.allclose(lhs, rhs, atol=1e-6)


def test_unsupported_elements_raise(model):
    z = torch.tensor([6, 14, 1, 11])
    pos = torch.randn(4, 3, dtype=torch.float64) * 2
    with pytest.raises(ValueError, match=r"Na \(Z=11\).*Si \(Z=14\)"):
        model(z, pos)
    with pytest.raises(ValueError, match="Z=0"):
        model(torch.tensor([0, 1]), pos[:2])


def test_float32_and_single_molecule(model, batch):
    z, pos, b = batch
    m32 = MultipoleNet(**model.config)
    m32.load_state_dict(model.state_dict())
    m32 = m32.float().eval()
    sel = b == 0
    with torch.no_grad():
        out32 = m32(z[sel], pos[sel].float())
    ref = _run(model, z, pos, b)
    assert out32["dipole"].dtype == torch.float32
    assert torch.allclose(out32["dipole"][0].double(), ref["dipole"][0], atol=1e-4)
    assert torch.allclose(out32["charges"].double(), ref["charges"][sel], atol=1e-5)


def test_save_load_roundtrip(model, batch, tmp_path):
    z, pos, b = batch
    stem = str(tmp_path / "m")
    save_model(model, stem, {"variant": "test", "metrics": {"x": np.float64(1.5)}})
    card = json.load(open(stem + ".json"))
    assert card["config"] == json.loads(json.dumps(model.config)) and card["variant"] == "test"
    # plain state dict, loadable with weights_only=True
    state = torch.load(stem + ".pt", weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    m2 = load_model(stem, dtype=torch.float64)
    assert next(m2.parameters()).dtype == torch.float64 and not m2.training
    out = _run(m2, z, pos, b)
    ref = _run(model, z, pos, b)
    # saved as float32, so agreement to float32 precision
    assert torch.allclose(out["dipole"], ref["dipole"], atol=1e-5)
    assert torch.allclose(load_model(stem + ".pt")(z, pos.float(), b)["charges"].double(),
                          ref["charges"], atol=1e-4)
