"""Equivariant multipole network: symmetry, charge conservation, moments, I/O (float64)."""
import json
import os

import numpy as np
import pytest
import torch
from e3nn import o3

from mepviz import electrostatics as es
from e3nn.util.test import assert_equivariant

from mepviz import registry
from mepviz.model import (ChargeReadout, DipoleReadout, Embedding, Interaction, MultipoleNet,
                          QuadrupoleReadout, Update, convert_state_dict, edge_geometry,
                          features_to_irreps, hidden_irreps, irreps_to_features, load_model,
                          neighbour_pairs, save_model, tensor_basis)

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
        m.charge.bias.weight.normal_(0, 0.3)
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
    # the total charge is an input: an ion's charges are not just a shifted neutral prediction
    neutral = _run(model, z, pos, b)
    assert (out["charges"] - neutral["charges"])[b == 1].std() > 1e-6
    # conservation spreads the excess uniformly: without the charge embedding, the charges
    # differ from the neutral prediction by exactly Q/n on every atom
    blind = MultipoleNet(**model.config).double().eval()
    blind.load_state_dict(model.state_dict())
    with torch.no_grad():
        blind.embedding.charge.weight.zero_()
    diff = _run(blind, z, pos, b, total)["charges"] - _run(blind, z, pos, b)["charges"]
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
    assert model.config["elements"] == list(registry.MODEL_ELEMENTS)
    z = torch.tensor([6, 14, 1, 34])
    pos = torch.randn(4, 3, dtype=torch.float64) * 2
    with pytest.raises(ValueError, match=r"Si \(Z=14\).*Se \(Z=34\)"):
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


# ------------------------------------------------------------------ blocks with declared irreps
F_BLOCK = 6


def _irreps_check(func, args, irreps_in, irreps_out):
    """e3nn's check. Its l = 2 Wigner matrices (D_from_matrix) are accurate to ~2e-7 even in
    float64 (see test_tensor_basis_is_orthonormal_and_e3nn_2e), hence 1e-5; the Cartesian
    tests above check the same symmetries exactly (1e-10)."""
    assert_equivariant(func, args_in=args, irreps_in=irreps_in, irreps_out=irreps_out, tolerance=1e-5)


def test_message_passing_blocks_are_equivariant_e3nn():
    """Interaction and Update map hidden_irreps → hidden_irreps equivariantly under O(3) and
    translations (e3nn's assert_equivariant with random rotations, with and without parity)."""
    torch.manual_seed(4)
    inter, upd = Interaction(F_BLOCK, 8).double(), Update(F_BLOCK).double()
    irreps = hidden_irreps(F_BLOCK)
    assert inter.irreps_in == inter.irreps_out == upd.irreps_in == upd.irreps_out == irreps
    z, pos, b = _molecules(2)
    basis = tensor_basis()
    centers = torch.linspace(0.0, 5.0, 8, dtype=torch.float64)

    def block(pos, x):
        e = edge_geometry(pos, b, 5.0, centers, 5.0 / 7, basis)
        s, v, t = inter(*irreps_to_features(x, F_BLOCK), e)
        return features_to_irreps(*upd(s, v, t, basis))

    x = irreps.randn(len(z), -1, dtype=torch.float64)
    _irreps_check(block, [pos, x], ["cartesian_points", irreps], [irreps])


def test_readouts_and_embedding_declare_irreps_and_are_equivariant():
    torch.manual_seed(5)
    n_el = len(registry.MODEL_ELEMENTS)
    emb = Embedding(n_el, F_BLOCK).double()
    assert emb.irreps_out == hidden_irreps(F_BLOCK)
    q, p, th = ChargeReadout(n_el, F_BLOCK, 0.3).double(), DipoleReadout(F_BLOCK, 0.05).double(), \
        QuadrupoleReadout(F_BLOCK, 0.05).double()
    assert (str(q.irreps_out), str(p.irreps_out), str(th.irreps_out)) == ("1x0e", "1x1o", "1x2e")
    irreps = hidden_irreps(F_BLOCK)
    species = torch.randint(0, n_el, (7,))

    def readouts(x):
        s, v, t = irreps_to_features(x, F_BLOCK)
        return q(s, species)[:, None], p(s, v), th(s, t)

    _irreps_check(readouts, [irreps.randn(7, -1, dtype=torch.float64)], [irreps],
                  [q.irreps_out, p.irreps_out, th.irreps_out])
    s, v, t = emb(species, torch.ones(7, dtype=torch.float64))
    assert v.abs().max() == 0 and t.abs().max() == 0 and s.shape == (7, F_BLOCK)


def test_whole_network_is_equivariant_e3nn(model, batch):
    """Positions (cartesian points) → atomic q (0e), p (1o), θ (2e components), molecular μ (1o)."""
    z, pos, b = batch
    basis = tensor_basis()
    total = torch.tensor([0.0, 1.0, -2.0, 2.0], dtype=torch.float64)

    def net(pos):
        out = model(z, pos, b, total)
        theta = torch.einsum("mab,nab->nm", basis, out["atomic_quadrupoles"])
        return out["charges"][:, None], out["atomic_dipoles"], theta, out["dipole"]

    _irreps_check(net, [pos], ["cartesian_points"], ["1x0e", "1x1o", "1x2e", "1x1o"])


def test_every_model_charge_is_conserved_exactly(model, batch):
    z, pos, b = batch
    for charge in registry.MODEL_CHARGES:
        total = torch.full((4,), float(charge), dtype=torch.float64)
        out = _run(model, z, pos, b, total)
        sums = torch.zeros(4, dtype=torch.float64).index_add_(0, b, out["charges"])
        assert torch.allclose(sums, total, atol=1e-12, rtol=0)


def test_convert_state_dict_from_the_flat_layout(model, batch):
    """A state dict in the layout before the blocks (flat names, 5 elements, no charge
    embedding) converts to the block layout with identical neutral predictions."""
    z, pos, b = batch
    five = [1, 6, 7, 8, 9]
    rows = [registry.MODEL_ELEMENTS.index(e) for e in five]
    inverse = {"embedding.species.weight": "embedding.weight", "charge.mlp.": "charge_head.",
               "charge.bias.weight": "charge_bias.weight", "dipole.gate.": "dipole_gate.",
               "dipole.mix.": "dipole_mix.", "quadrupole.gate.": "quad_gate.", "quadrupole.mix.": "quad_mix."}
    old = {}
    for k, v in model.state_dict().items():
        if k == "embedding.charge.weight":
            continue
        if k in ("embedding.species.weight", "charge.bias.weight"):
            v = v[rows]
        for new, o in inverse.items():
            if k == new or (new.endswith(".") and k.startswith(new)):
                k = o + k[len(new):] if new.endswith(".") else o
                break
        old[k] = v
    state, config = convert_state_dict(old, {**model.config, "elements": five})
    assert config["elements"][:5] == five and set(config["elements"]) == set(registry.MODEL_ELEMENTS)
    m2 = MultipoleNet(**config).double().eval()
    m2.load_state_dict(state)
    with torch.no_grad():
        model_blind = MultipoleNet(**model.config).double().eval()
        model_blind.load_state_dict(model.state_dict())
        model_blind.embedding.charge.weight.zero_()
    ref, got = _run(model_blind, z, pos, b), _run(m2, z, pos, b)
    for k in (*KEYS_ATOM, "dipole", "quadrupole"):
        assert torch.allclose(got[k], ref[k], atol=1e-12, rtol=0), k
