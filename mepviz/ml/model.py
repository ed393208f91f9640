"""Equivariant atomic-multipole network (PiNet2/PaiNN-style) in PyTorch + e3nn.

Per-atom features of order l = 0, 1, 2:

- scalars ``s``  (A, F)      — invariant (0e)
- vectors ``v``  (A, 3, F)   — Cartesian polar vectors (1o)
- tensors ``t``  (A, 5, F)   — traceless symmetric rank-2 tensors (2e), stored in the
  orthonormal basis ``B_m`` (m = 0..4) of 3×3 symmetric traceless matrices given by
  e3nn's real Clebsch–Gordan coefficients, ``B[m] = √5 · wigner_3j(1, 1, 2)[:, :, m]``.
  A 3×3 tensor T has components ``c_m = Σ_ab B[m]_ab T_ab``; ``T = Σ_m c_m B[m]``; the
  five components transform with e3nn's ``Irrep("2e").D_from_matrix``.

All couplings are channel-wise products with the fixed tensor ``B`` (PaiNN-like; no
per-edge weighted Clebsch–Gordan tensor products on wide irreps), so the hot path is a
handful of einsums on (edges, F, ≤5) arrays. Every feature is built from edge unit vectors
and their products (no cross products), so the network is equivariant under the full
orthogonal group O(3): under inversion r → −r the atomic dipoles flip, charges and
quadrupoles do not.

Heads: atomic charge qᵢ (with exact charge conservation qᵢ = q̃ᵢ + (Q − Σ q̃)/n per
molecule), atomic dipole pᵢ (e·Å) and atomic traceless quadrupole θᵢ (e·Å², returned as
(A, 3, 3)). Molecular moments about each molecule's centre of mass use exactly the
formulas of docs/physics.md (same as :mod:`mepviz.electrostatics`):

    μ = Σ qᵢ dᵢ + Σ pᵢ
    Θ = Σ ½ qᵢ (3 dᵢdᵢᵀ − |dᵢ|² I) + Σ ½ (3 (pᵢdᵢᵀ + dᵢpᵢᵀ) − 2 (pᵢ·dᵢ) I) + Σ θᵢ

The network is a chain of blocks (as in MACE's ``modules/blocks.py``): each ``nn.Module`` is
built from the e3nn irreps given to its constructor, which set its layer sizes, and states
them as ``irreps_in`` / ``irreps_out``. The hidden features are ``hidden_irreps(F)`` =
``F×0e + F×1o + F×2e``; :func:`features_to_irreps` gives their e3nn layout (used with
``e3nn.util.test.assert_equivariant`` in the tests). An int F stands for ``hidden_irreps(F)``.

- ``Embedding(n_elements, irreps_out)``: element (one of ``config["elements"]``, by default
  ``registry.MODEL_ELEMENTS``) and the molecule's total charge Q → scalars; v = t = 0;
- ``Interaction(irreps, n_rbf)`` (message passing j → i) and ``Update(irreps)`` (per atom),
  ``layers`` times;
- ``ChargeReadout(n_elements, irreps_in, scale)`` (→ 0e), ``DipoleReadout(irreps_in, scale)``
  (→ 1o), ``QuadrupoleReadout(irreps_in, scale)`` (→ 2e).

Molecular μ, Θ and the centre of mass are computed here once (:func:`molecular_moments`), in
the dtype of the positions given: float64 positions give float64 moments from a float32
network (what :mod:`mepviz.ml.predict` passes), as docs/physics.md's numpy formulas would.

Batching: flat atom arrays plus a molecule index ``batch`` (A,), values 0..M−1.
Weights saved before the blocks existed (flat parameter names, five elements) load through
:func:`convert_state_dict` with identical predictions.
"""
from __future__ import annotations

import math
import os
from typing import Any, NamedTuple

import numpy as np
import torch
from e3nn import o3
from torch import nn

from ..core.elements import masses, symbol
from ..core.registry import MODEL_ELEMENTS
from ..physics.electrostatics import valence_electrons
from . import cards

__all__ = [
    "MultipoleNet", "save_model", "load_model", "DEFAULT_CONFIG", "tensor_basis",
    "neighbour_pairs", "molecular_moments", "check_elements", "hidden_irreps", "features_to_irreps",
    "irreps_to_features", "Embedding", "Interaction", "Update", "ChargeReadout", "DipoleReadout",
    "QuadrupoleReadout", "PenetrationReadout", "convert_state_dict", "load_card",
]

#: architecture defaults; the committed training configs (train/configs/*.yaml) use the same
#: sizes (tests/test_training.py checks it), and train.train's command-line defaults read them
DEFAULT_CONFIG: dict[str, Any] = {
    "elements": list(MODEL_ELEMENTS),
    "features": 32,
    "layers": 3,
    "rbf": 20,
    "cutoff": 5.0,
    "charge_scale": 0.3,     # e
    "dipole_scale": 0.05,    # e·Å
    "quadrupole_scale": 0.05,  # e·Å²
    # highest atomic multipole order predicted: 2 = q, p, θ; 1 = q, p (θ ≡ 0); 0 = q only.
    # A model fitted to dipoles alone cannot determine atomic quadrupoles, so the dipole
    # variant is trained with max_order = 1 (its θᵢ are exactly zero, not untrained noise).
    "max_order": 2,
    # also predict each atom's valence-cloud width for the charge-penetration term of the MEP
    # (PenetrationReadout; docs/physics.md): the mep variant
    "penetration": False,
}


def tensor_basis(dtype=torch.float64) -> torch.Tensor:
    """(5, 3, 3) orthonormal basis of symmetric traceless matrices (e3nn 2e ordering)."""
    c = o3.wigner_3j(1, 1, 2, dtype=torch.float64)      # (3, 3, 5), l=1 in x, y, z order
    return (math.sqrt(5.0) * c.permute(2, 0, 1)).contiguous().to(dtype)


def check_elements(z: torch.Tensor, elements) -> None:
    bad = sorted(set(int(x) for x in torch.unique(z).tolist()) - set(int(e) for e in elements))
    if bad:
        names = ", ".join(f"{symbol(b) if 0 < b < 119 else '?'} (Z={b})" for b in bad)
        ok = ", ".join(symbol(e) for e in elements)
        raise ValueError(f"unsupported element(s) for the ML model: {names}; supported: {ok}")


def neighbour_pairs(pos: torch.Tensor, batch: torch.Tensor, cutoff: float):
    """All ordered pairs (i, j), i ≠ j, in the same molecule with |r_j − r_i| < cutoff.

    Vectorised: enumerates every same-molecule pair (Σ nₘ² candidates), then filters by
    distance. Atoms need not be sorted by molecule. Returns (i, j) LongTensors.
    """
    a = pos.shape[0]
    dev = pos.device
    if a == 0:
        e = torch.zeros(0, dtype=torch.long, device=dev)
        return e, e
    order = torch.argsort(batch, stable=True)
    b_sorted = batch[order]
    n_mol = int(b_sorted[-1].item()) + 1
    counts = torch.bincount(b_sorted, minlength=n_mol)
    start = torch.cumsum(counts, 0) - counts                  # first sorted index per molecule
    reps = counts[b_sorted]                                   # partners per (sorted) atom
    i_s = torch.repeat_interleave(torch.arange(a, device=dev), reps)
    first = torch.cumsum(reps, 0) - reps
    offs = torch.arange(int(reps.sum().item()), device=dev) - torch.repeat_interleave(first, reps)
    j_s = start[b_sorted[i_s]] + offs
    i, j = order[i_s], order[j_s]
    keep = i != j
    i, j = i[keep], j[keep]
    d = pos[j] - pos[i]
    keep = (d * d).sum(-1) < cutoff * cutoff
    return i[keep], j[keep]


def molecular_moments(pos, batch, n_mol, charges, dipoles, quadrupoles, origin):
    """Molecular μ (M, 3) and traceless Θ (M, 3, 3) about per-molecule `origin` (M, 3)."""
    d = pos - origin[batch]
    q, p = charges, dipoles
    eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
    mu_at = q[:, None] * d + p
    dd = d[:, :, None] * d[:, None, :]
    r2 = (d * d).sum(-1)
    pd = p[:, :, None] * d[:, None, :]
    pdot = (p * d).sum(-1)
    th_at = (0.5 * q[:, None, None] * (3 * dd - r2[:, None, None] * eye)
             + 0.5 * (3 * (pd + pd.transpose(1, 2)) - 2 * pdot[:, None, None] * eye)
             + quadrupoles)
    mu = torch.zeros(n_mol, 3, dtype=pos.dtype, device=pos.device).index_add_(0, batch, mu_at)
    th = torch.zeros(n_mol, 3, 3, dtype=pos.dtype, device=pos.device).index_add_(0, batch, th_at)
    return mu, th


def hidden_irreps(f: int) -> o3.Irreps:
    """Irreps of the hidden per-atom features: F scalars, F polar vectors, F rank-2 tensors."""
    return o3.Irreps(f"{f}x0e + {f}x1o + {f}x2e")


#: the irreps of the per-atom features, in the (s, v, t) order of the blocks
SCALAR, VECTOR, TENSOR = o3.Irrep("0e"), o3.Irrep("1o"), o3.Irrep("2e")


def as_irreps(irreps) -> o3.Irreps:
    """`irreps` as e3nn Irreps; an int F stands for :func:`hidden_irreps` (F)."""
    if isinstance(irreps, (int, np.integer)):
        return hidden_irreps(int(irreps))
    return o3.Irreps(irreps).simplify()


def multiplicity(irreps: o3.Irreps, ir: o3.Irrep) -> int:
    """Channels of irrep `ir` in `irreps` (0 when absent)."""
    return sum(mul for mul, i in irreps if i == ir)


def hidden_channels(irreps) -> int:
    """F of hidden irreps ``F×0e + F×1o + F×2e`` (ValueError for any other shape: the
    channel-wise couplings need one F for all three orders)."""
    irreps = as_irreps(irreps)
    f = multiplicity(irreps, SCALAR)
    if f < 1 or irreps != hidden_irreps(f):
        raise ValueError(f"hidden irreps must be F×0e + F×1o + F×2e, got {irreps}")
    return f


def features_to_irreps(s, v, t) -> torch.Tensor:
    """(s (A,F), v (A,3,F), t (A,5,F)) → one (A, 9F) tensor in e3nn's ``hidden_irreps(F)`` layout."""
    a = s.shape[0]
    return torch.cat([s, v.transpose(1, 2).reshape(a, -1), t.transpose(1, 2).reshape(a, -1)], -1)


def irreps_to_features(x: torch.Tensor, f: int):
    """Inverse of :func:`features_to_irreps`."""
    a = x.shape[0]
    return (x[:, :f], x[:, f:4 * f].reshape(a, f, 3).transpose(1, 2),
            x[:, 4 * f:].reshape(a, f, 5).transpose(1, 2))


def _mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out))


def _cosine_cutoff(r: torch.Tensor, rc: float) -> torch.Tensor:
    return torch.where(r < rc, 0.5 * (torch.cos(math.pi * r / rc) + 1.0), torch.zeros_like(r))


def _safe_norm(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.sqrt((x * x).sum(dim) + 1e-8)


class Edges(NamedTuple):
    """Edge geometry j → i: unit vectors u (E,3, 1o), Y2(u) (E,5, 2e), B_m u (E,5,3),
    radial basis (E,n_rbf) and cosine cutoff (E,), both invariant."""

    i: torch.Tensor
    j: torch.Tensor
    u: torch.Tensor
    y2: torch.Tensor
    bu: torch.Tensor
    rbf: torch.Tensor
    fcut: torch.Tensor


def edge_geometry(pos, batch, cutoff: float, rbf_centers, rbf_width: float, basis) -> Edges:
    """Neighbour pairs within `cutoff` (Å) and their geometric features (see :class:`Edges`)."""
    i, j = neighbour_pairs(pos, batch, cutoff)
    rij = pos[j] - pos[i]
    r = torch.sqrt((rij * rij).sum(-1))
    u = rij / r[:, None]
    bu = torch.einsum("mab,eb->ema", basis, u)          # (E,5,3)  B_m u
    y2 = torch.einsum("ema,ea->em", bu, u)              # (E,5)    Y2(u)_m = uᵀ B_m u
    rbf = torch.exp(-0.5 * ((r[:, None] - rbf_centers) / rbf_width) ** 2)
    return Edges(i, j, u, y2, bu, rbf, _cosine_cutoff(r, cutoff))


class Embedding(nn.Module):
    """Element one-hot and total molecular charge Q (e) → hidden scalars; v = t = 0.

    ``irreps_in``: n_elements×0e (one-hot) + 1×0e (Q); ``irreps_out``: the hidden irreps
    given (their F×0e are filled)."""

    def __init__(self, n_elements: int, irreps_out):
        super().__init__()
        self.irreps_in = o3.Irreps(f"{n_elements}x0e + 1x0e")
        self.irreps_out = as_irreps(irreps_out)
        f = hidden_channels(self.irreps_out)
        self.species = nn.Embedding(n_elements, f)
        self.charge = nn.Linear(1, f, bias=False)

    def forward(self, species, atom_charge):
        """`species` (A,) indices, `atom_charge` (A,) the total charge of each atom's molecule."""
        a, f = species.shape[0], self.species.embedding_dim
        s = self.species(species) + self.charge(atom_charge[:, None].to(self.charge.weight.dtype))
        z = s.new_zeros
        return s, z(a, 3, f), z(a, 5, f)


class Interaction(nn.Module):
    """Message passing j → i: channel-wise filters × fixed CG couplings (l ≤ 2).

    Layout: s (A, F), v (A, 3, F), t (A, 5, F) — channels last, so every product is a
    contiguous broadcast over F. ``irreps_in`` = ``irreps_out`` = the hidden irreps given;
    F of them sizes the filters (9F per edge: 3 per output order).
    """

    N_SPLIT = 9

    def __init__(self, irreps, n_rbf: int):
        super().__init__()
        self.irreps_in = self.irreps_out = as_irreps(irreps)
        f = self.f = hidden_channels(self.irreps_in)
        self.phi = _mlp(f, f, self.N_SPLIT * f)
        self.filt = nn.Linear(n_rbf, self.N_SPLIT * f)

    def forward(self, s, v, t, e: Edges):
        i, j, u, y2, bu = e.i, e.j, e.u, e.y2, e.bu
        n_e = i.shape[0]
        x = self.phi(s)[j] * (self.filt(e.rbf) * e.fcut[:, None])      # (E, 9F)
        x = x.view(n_e, self.N_SPLIT, self.f)
        a_s, a_sv, a_st = x[:, 0], x[:, 1], x[:, 2]
        a_v, a_t = x[:, 3:6, None, :], x[:, 6:9, None, :]              # (E,3,1,F)
        vj, tj = v[j], t[j]                                           # (E,3,F), (E,5,F)
        # scalar messages: filters, v_j·u, t_j:Y2(u)   (addcmul: fewer (E, ·, F) temporaries)
        ds = torch.addcmul(a_s, a_sv, torch.einsum("ecf,ec->ef", vj, u))
        ds.addcmul_(a_st, torch.einsum("emf,em->ef", tj, y2))
        # vector messages: v_j, u, T_j u
        tu = torch.bmm(bu.transpose(1, 2), tj)                          # (E,3,F)  T_j u
        dv = torch.addcmul(a_v[:, 1] * u[:, :, None], a_v[:, 0], vj).addcmul_(a_v[:, 2], tu)
        # tensor messages: t_j, Y2(u), (v_j ⊗ u)₂
        vu2 = torch.bmm(bu, vj)                                         # (E,5,F)
        dt = torch.addcmul(a_t[:, 1] * y2[:, :, None], a_t[:, 0], tj).addcmul_(a_t[:, 2], vu2)
        return s.index_add(0, i, ds), v.index_add(0, i, dv), t.index_add(0, i, dt)


class Update(nn.Module):
    """Per-atom PaiNN-style update with channel mixing and l-coupling gates.
    ``irreps_in`` = ``irreps_out`` = the hidden irreps given (F of them sizes every layer)."""

    N_SPLIT = 7

    def __init__(self, irreps):
        super().__init__()
        self.irreps_in = self.irreps_out = as_irreps(irreps)
        f = self.f = hidden_channels(self.irreps_in)
        self.uv = nn.Linear(f, f, bias=False)
        self.vv = nn.Linear(f, f, bias=False)
        self.ut = nn.Linear(f, f, bias=False)
        self.vt = nn.Linear(f, f, bias=False)
        self.mlp = _mlp(3 * f, f, self.N_SPLIT * f)

    def forward(self, s, v, t, basis):
        uv, vv = self.uv(v), self.vv(v)           # (A,3,F)
        ut, vt = self.ut(t), self.vt(t)           # (A,5,F)
        x = self.mlp(torch.cat([s, _safe_norm(vv, 1), _safe_norm(vt, 1)], -1))
        x = x.view(s.shape[0], self.N_SPLIT, self.f)
        a_ss, a_sv, a_st, a_vv, a_vt, a_tt, a_tv = x.unbind(1)
        bv = torch.einsum("mcd,adf->amcf", basis, vv)                   # (A,5,3,F)  B_m Vv
        tv = (ut[:, :, None, :] * bv).sum(1)                             # T(Ut) Vv   (A,3,F)
        vv2 = (uv[:, None, :, :] * bv).sum(2)                            # (Uv ⊗ Vv)₂ (A,5,F)
        ds = a_ss + a_sv * (uv * vv).sum(1) + a_st * (ut * vt).sum(1)
        dv = a_vv[:, None] * uv + a_vt[:, None] * tv
        dt = a_tt[:, None] * ut + a_tv[:, None] * vv2
        return s + ds, v + dv, t + dt


class ChargeReadout(nn.Module):
    """Scalars (+ an element bias) → raw atomic charge q̃ᵢ (e), before charge conservation.
    ``irreps_in`` = the F×0e of the irreps given, ``irreps_out`` = 1×0e."""

    def __init__(self, n_elements: int, irreps_in, scale: float):
        super().__init__()
        f = multiplicity(as_irreps(irreps_in), SCALAR)
        self.irreps_in, self.irreps_out = o3.Irreps(f"{f}x0e"), o3.Irreps("1x0e")
        self.scale = float(scale)
        self.mlp = _mlp(f, f, 1)
        self.bias = nn.Embedding(n_elements, 1)
        nn.init.zeros_(self.bias.weight)

    def forward(self, s, species):
        return self.scale * (self.mlp(s)[:, 0] + self.bias(species)[:, 0])


class _GatedReadout(nn.Module):
    """Σ_f gate_f(s) · (W x)_{·f}: one `irrep` per atom from the channels of it in the irreps
    given, gated by their F×0e (channel-wise)."""

    IRREP = ""        # "1o" or "2e"

    def __init__(self, irreps_in, scale: float):
        super().__init__()
        irreps, ir = as_irreps(irreps_in), o3.Irrep(self.IRREP)
        f_s, f_x = multiplicity(irreps, SCALAR), multiplicity(irreps, ir)
        self.irreps_in = o3.Irreps(f"{f_s}x0e + {f_x}x{ir}")
        self.irreps_out = o3.Irreps(f"1x{ir}")
        self.scale = float(scale)
        self.gate = _mlp(f_s, f_s, f_x)
        self.mix = nn.Linear(f_x, f_x, bias=False)

    def forward(self, s, x):
        return self.scale * (self.gate(s)[:, None, :] * self.mix(x)).sum(-1)     # (A,k,F) -> (A,k)


class DipoleReadout(_GatedReadout):
    """Scalars and vectors → atomic dipole pᵢ (e·Å). ``irreps_out`` = 1×1o."""

    IRREP = "1o"


class QuadrupoleReadout(_GatedReadout):
    """Scalars and rank-2 features → the five 2e components of θᵢ (e·Å²). ``irreps_out`` = 1×2e."""

    IRREP = "2e"


class PenetrationReadout(nn.Module):
    """Scalars (+ an element bias) → Slater width aᵢ (Å) of atom i's valence electron cloud,
    in WIDTHS (a sigmoid), for the charge-penetration term
    (:func:`mepviz.physics.electrostatics.penetration_potential`). ``irreps_in`` = the F×0e of
    the irreps given, ``irreps_out`` = 1×0e. Starts at 0.25 Å for every atom."""

    WIDTHS = (0.1, 0.6)

    def __init__(self, n_elements: int, irreps_in):
        super().__init__()
        f = multiplicity(as_irreps(irreps_in), SCALAR)
        self.irreps_in, self.irreps_out = o3.Irreps(f"{f}x0e"), o3.Irreps("1x0e")
        self.mlp = _mlp(f, f, 1)
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)
        self.bias = nn.Embedding(n_elements, 1)
        nn.init.constant_(self.bias.weight, -0.85)        # sigmoid(−0.85) = 0.3 → 0.25 Å

    def forward(self, s, species):
        lo, hi = self.WIDTHS
        return lo + (hi - lo) * torch.sigmoid(self.mlp(s)[:, 0] + self.bias(species)[:, 0])


class MultipoleNet(nn.Module):
    """Equivariant network predicting atomic charges, dipoles and quadrupoles.

    ``MultipoleNet(**config)``; ``model.config`` is a JSON-able dict that rebuilds it.
    ``forward(z, pos, batch=None, total_charge=None)`` → dict with ``charges`` (A,),
    ``atomic_dipoles`` (A, 3) e·Å, ``atomic_quadrupoles`` (A, 3, 3) e·Å² (traceless,
    symmetric), ``dipole`` (M, 3) e·Å and ``quadrupole`` (M, 3, 3) e·Å² about each
    molecule's centre of mass (isotope-averaged masses), plus ``center_of_mass`` (M, 3).
    ``total_charge`` (M,) in e (0 by default) enters the embedding and is conserved exactly.
    ``config["max_order"]`` (2 by default) is the highest atomic multipole predicted; the
    dipole variants use 1, so their atomic quadrupoles are exactly zero. With
    ``config["penetration"]`` the output also has ``penetration`` (A, 2): each atom's valence
    electron population Nᵢ = Zᵢ(valence) − qᵢ (e) and Slater width aᵢ (Å) (invariant).
    Unsupported atomic numbers raise ValueError naming them.
    """

    def __init__(self, **config):
        super().__init__()
        unknown = set(config) - set(DEFAULT_CONFIG)
        if unknown:
            raise TypeError(f"unknown MultipoleNet config keys: {sorted(unknown)}")
        cfg = {**DEFAULT_CONFIG, **config}
        cfg["elements"] = [int(e) for e in cfg["elements"]]
        self.config = cfg
        f, n_rbf, n_el = int(cfg["features"]), int(cfg["rbf"]), len(cfg["elements"])
        self.cutoff = float(cfg["cutoff"])
        lookup = torch.full((119,), -1, dtype=torch.long)
        lookup[torch.tensor(cfg["elements"])] = torch.arange(n_el)
        self.register_buffer("species_index", lookup, persistent=False)
        self.register_buffer("masses", torch.as_tensor(masses(np.arange(119)), dtype=torch.float64),
                             persistent=False)
        self.register_buffer("basis", tensor_basis(torch.float64), persistent=False)
        self.register_buffer("rbf_centers", torch.linspace(0.0, self.cutoff, n_rbf, dtype=torch.float64),
                             persistent=False)
        self.rbf_width = self.cutoff / (n_rbf - 1)
        self.irreps_hidden = hidden_irreps(f)
        self.embedding = Embedding(n_el, self.irreps_hidden)
        self.interactions = nn.ModuleList([Interaction(self.irreps_hidden, n_rbf) for _ in range(int(cfg["layers"]))])
        self.updates = nn.ModuleList([Update(self.irreps_hidden) for _ in range(int(cfg["layers"]))])
        self.charge = ChargeReadout(n_el, self.irreps_hidden, cfg["charge_scale"])
        self.dipole = DipoleReadout(self.irreps_hidden, cfg["dipole_scale"])
        self.quadrupole = QuadrupoleReadout(self.irreps_hidden, cfg["quadrupole_scale"])
        self.irreps_out = o3.Irreps("1x0e + 1x1o + 1x2e")   # per atom: q, p, θ
        if cfg["penetration"]:
            self.penetration = PenetrationReadout(n_el, self.irreps_hidden)
            self.register_buffer("valence", torch.as_tensor(valence_electrons(np.arange(119)), dtype=torch.float64),
                                 persistent=False)
            self.irreps_out = o3.Irreps("1x0e + 1x1o + 1x2e + 2x0e")   # + (Nᵢ, aᵢ)

    def _species(self, z: torch.Tensor) -> torch.Tensor:
        if z.numel() and (int(z.min()) < 1 or int(z.max()) > 118):
            check_elements(z, self.config["elements"])
        idx = self.species_index[z]
        if z.numel() and bool((idx < 0).any()):
            check_elements(z, self.config["elements"])
        return idx

    def features(self, species, pos, batch, atom_charge):
        """Hidden features (s, v, t) after the last Update block."""
        basis = self.basis.to(pos.dtype)
        e = edge_geometry(pos, batch, self.cutoff, self.rbf_centers.to(pos.dtype), self.rbf_width, basis)
        s, v, t = self.embedding(species, atom_charge)
        for inter, upd in zip(self.interactions, self.updates):
            s, v, t = inter(s, v, t, e)
            s, v, t = upd(s, v, t, basis)
        return s, v, t

    def forward(self, z, pos, batch=None, total_charge=None) -> dict[str, torch.Tensor]:
        dev = pos.device
        z = torch.as_tensor(z, dtype=torch.long, device=dev)
        dtype = self.embedding.species.weight.dtype     # the network's dtype
        pos_in, pos = pos, pos.to(dtype)                 # moments in the dtype of the positions given
        a = pos.shape[0]
        if batch is None:
            batch = torch.zeros(a, dtype=torch.long, device=dev)
        batch = torch.as_tensor(batch, dtype=torch.long, device=dev)
        n_mol = int(batch.max().item()) + 1 if a else 0
        if total_charge is None:
            total_charge = torch.zeros(n_mol, dtype=dtype, device=dev)
        total_charge = torch.as_tensor(total_charge, dtype=dtype, device=dev).reshape(-1)
        if total_charge.numel() == 1 and n_mol > 1:
            total_charge = total_charge.expand(n_mol)
        species = self._species(z)
        s, v, t = self.features(species, pos, batch, total_charge[batch])

        q_raw = self.charge(s, species)
        counts = torch.bincount(batch, minlength=n_mol).to(dtype)
        excess = total_charge - torch.zeros(n_mol, dtype=dtype, device=dev).index_add_(0, batch, q_raw)
        charges = q_raw + (excess / counts)[batch]
        order = int(self.config["max_order"])
        p = self.dipole(s, v) if order >= 1 else torch.zeros(a, 3, dtype=dtype, device=dev)
        if order >= 2:
            theta = torch.einsum("am,mbc->abc", self.quadrupole(s, t), self.basis.to(dtype))
        else:
            theta = torch.zeros(a, 3, 3, dtype=dtype, device=dev)

        mdt = pos_in.dtype
        m = self.masses.to(mdt)[z]
        msum = torch.zeros(n_mol, dtype=mdt, device=dev).index_add_(0, batch, m)
        com = torch.zeros(n_mol, 3, dtype=mdt, device=dev).index_add_(0, batch, m[:, None] * pos_in)
        com = com / msum[:, None]
        mu, th = molecular_moments(pos_in, batch, n_mol, charges.to(mdt), p.to(mdt), theta.to(mdt), com)
        out = {"charges": charges, "atomic_dipoles": p, "atomic_quadrupoles": theta,
               "dipole": mu, "quadrupole": th, "center_of_mass": com}
        if self.config["penetration"]:
            out["penetration"] = torch.stack([self.valence.to(dtype)[z] - charges, self.penetration(s, species)], -1)
        return out


#: parameter names before the blocks existed → names now
_RENAMED = {"embedding.weight": "embedding.species.weight", "charge_head.": "charge.mlp.",
            "charge_bias.weight": "charge.bias.weight", "dipole_gate.": "dipole.gate.",
            "dipole_mix.": "dipole.mix.", "quad_gate.": "quadrupole.gate.", "quad_mix.": "quadrupole.mix."}


def convert_state_dict(state: dict, config: dict) -> tuple[dict, dict]:
    """(state, config) of weights saved before the block layout → the current layout.

    Renames the flat parameters (``_RENAMED``), adds the total-charge embedding as zeros (the
    old network ignored Q except through charge conservation), and widens the element tables
    to ``registry.MODEL_ELEMENTS`` with zero rows for elements the weights never saw (their
    original rows are copied by atomic number). New-layout state dicts pass through unchanged."""
    if "embedding.species.weight" in state:
        return state, config
    out = {}
    for k, v in state.items():
        for old, new in _RENAMED.items():
            if k == old or (old.endswith(".") and k.startswith(old)):
                k = new + k[len(old):] if old.endswith(".") else new
                break
        out[k] = v
    old_el = [int(e) for e in config["elements"]]
    new_el = list(dict.fromkeys([*old_el, *MODEL_ELEMENTS]))
    rows = torch.tensor([new_el.index(e) for e in old_el])
    for key in ("embedding.species.weight", "charge.bias.weight"):
        w = out[key]
        wide = w.new_zeros(len(new_el), w.shape[1])
        wide[rows] = w
        out[key] = wide
    out["embedding.charge.weight"] = out["embedding.species.weight"].new_zeros(
        out["embedding.species.weight"].shape[1], 1)
    return out, {**config, "elements": new_el}


def save_model(model: MultipoleNet, stem, card: dict | None = None) -> None:
    """Write ``stem.pt`` (plain float32 state dict) and ``stem.json`` (its model card, with
    "config", through :func:`mepviz.ml.cards.write_card`)."""
    stem = cards.stem_of(stem)
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    torch.save(state, stem + ".pt")
    cards.write_card(stem, {**(card or {}), "config": model.config})


#: the card of a saved model (``stem.json``): :func:`mepviz.ml.cards.read_card`
load_card = cards.read_card


def load_model(stem, dtype=torch.float32, device="cpu") -> MultipoleNet:
    """Rebuild a model from ``stem.json``'s config and load ``stem.pt`` (weights_only=True);
    weights in the pre-block layout are converted (:func:`convert_state_dict`)."""
    stem = cards.stem_of(stem)
    card = cards.read_card(stem)
    state = torch.load(stem + ".pt", map_location="cpu", weights_only=True)
    state, config = convert_state_dict(state, card["config"])
    model = MultipoleNet(**config)
    model.load_state_dict(state)
    model.card = card
    return model.to(device=device, dtype=dtype).eval()


def predict_arrays(net: MultipoleNet, numbers, positions, counts, total_charge) -> dict[str, np.ndarray]:
    """One forward pass of `net` (in inference mode) on NumPy input: `numbers` (A,), `positions`
    (A, 3) Å, `counts` atoms per molecule, `total_charge` (M,) e. The positions go in as
    float64, so the molecular moments come out in float64 whatever the network's dtype.
    Returns the keys of :meth:`MultipoleNet.forward` as float64 arrays."""
    counts = np.asarray(counts)
    z = torch.from_numpy(np.asarray(numbers).astype(np.int64))
    pos = torch.from_numpy(np.asarray(positions, np.float64))
    batch = torch.from_numpy(np.repeat(np.arange(len(counts)), counts))
    q = torch.tensor([float(c) for c in total_charge], dtype=net.embedding.species.weight.dtype)
    with torch.inference_mode():
        out = net(z, pos, batch, q)
    return {k: v.detach().to(torch.float64).numpy() for k, v in out.items() if isinstance(v, torch.Tensor)}
