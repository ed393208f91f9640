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

Batching: flat atom arrays plus a molecule index ``batch`` (A,), values 0..M−1.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import torch
from e3nn import o3
from torch import nn

from .elements import masses, symbol
from .registry import MODEL_ELEMENTS

__all__ = [
    "MultipoleNet", "save_model", "load_model", "DEFAULT_CONFIG", "tensor_basis",
    "neighbour_pairs", "molecular_moments", "check_elements",
]

DEFAULT_CONFIG: dict[str, Any] = {
    "elements": list(MODEL_ELEMENTS),
    "features": 64,
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


def _mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out))


def _cosine_cutoff(r: torch.Tensor, rc: float) -> torch.Tensor:
    return torch.where(r < rc, 0.5 * (torch.cos(math.pi * r / rc) + 1.0), torch.zeros_like(r))


def _safe_norm(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.sqrt((x * x).sum(dim) + 1e-8)


class _Interaction(nn.Module):
    """Message passing j → i: channel-wise filters × fixed CG couplings (l ≤ 2).

    Layout: s (A, F), v (A, 3, F), t (A, 5, F) — channels last, so every product is a
    contiguous broadcast over F.
    """

    N_SPLIT = 9

    def __init__(self, f: int, n_rbf: int):
        super().__init__()
        self.f = f
        self.phi = _mlp(f, f, self.N_SPLIT * f)
        self.filt = nn.Linear(n_rbf, self.N_SPLIT * f)

    def forward(self, s, v, t, i, j, u, y2, bu, rbf, fcut):
        n_e = i.shape[0]
        x = self.phi(s)[j] * (self.filt(rbf) * fcut[:, None])          # (E, 9F)
        x = x.view(n_e, self.N_SPLIT, self.f)
        a_s, a_sv, a_st = x[:, 0], x[:, 1], x[:, 2]
        a_v, a_t = x[:, 3:6, None, :], x[:, 6:9, None, :]              # (E,3,1,F)
        vj, tj = v[j], t[j]                                           # (E,3,F), (E,5,F)
        # scalar messages: filters, v_j·u, t_j:Y2(u)
        ds = a_s + a_sv * torch.einsum("ecf,ec->ef", vj, u) + a_st * torch.einsum("emf,em->ef", tj, y2)
        # vector messages: v_j, u, T_j u
        tu = torch.bmm(bu.transpose(1, 2), tj)                          # (E,3,F)  T_j u
        dv = a_v[:, 0] * vj + a_v[:, 1] * u[:, :, None] + a_v[:, 2] * tu
        # tensor messages: t_j, Y2(u), (v_j ⊗ u)₂
        vu2 = torch.bmm(bu, vj)                                         # (E,5,F)
        dt = a_t[:, 0] * tj + a_t[:, 1] * y2[:, :, None] + a_t[:, 2] * vu2
        s = s + torch.zeros_like(s).index_add_(0, i, ds)
        v = v + torch.zeros_like(v).index_add_(0, i, dv)
        t = t + torch.zeros_like(t).index_add_(0, i, dt)
        return s, v, t


class _Update(nn.Module):
    """Per-atom PaiNN-style update with channel mixing and l-coupling gates."""

    N_SPLIT = 7

    def __init__(self, f: int):
        super().__init__()
        self.f = f
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


class MultipoleNet(nn.Module):
    """Equivariant network predicting atomic charges, dipoles and quadrupoles.

    ``MultipoleNet(**config)``; ``model.config`` is a JSON-able dict that rebuilds it.
    ``forward(z, pos, batch=None, total_charge=None)`` → dict with ``charges`` (A,),
    ``atomic_dipoles`` (A, 3) e·Å, ``atomic_quadrupoles`` (A, 3, 3) e·Å² (traceless,
    symmetric), ``dipole`` (M, 3) e·Å and ``quadrupole`` (M, 3, 3) e·Å² about each
    molecule's centre of mass (isotope-averaged masses), plus ``center_of_mass`` (M, 3).
    ``config["max_order"]`` (2 by default) is the highest atomic multipole predicted; the
    dipole variant uses 1, so its atomic quadrupoles are exactly zero.
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
        f, n_rbf = int(cfg["features"]), int(cfg["rbf"])
        self.cutoff = float(cfg["cutoff"])
        lookup = torch.full((119,), -1, dtype=torch.long)
        lookup[torch.tensor(cfg["elements"])] = torch.arange(len(cfg["elements"]))
        self.register_buffer("species_index", lookup, persistent=False)
        self.register_buffer("masses", torch.as_tensor(masses(np.arange(119)), dtype=torch.float64),
                             persistent=False)
        self.register_buffer("basis", tensor_basis(torch.float64), persistent=False)
        self.register_buffer("rbf_centers", torch.linspace(0.0, self.cutoff, n_rbf, dtype=torch.float64),
                             persistent=False)
        self.rbf_width = self.cutoff / (n_rbf - 1)
        self.embedding = nn.Embedding(len(cfg["elements"]), f)
        self.interactions = nn.ModuleList([_Interaction(f, n_rbf) for _ in range(int(cfg["layers"]))])
        self.updates = nn.ModuleList([_Update(f) for _ in range(int(cfg["layers"]))])
        self.charge_head = _mlp(f, f, 1)
        self.charge_bias = nn.Embedding(len(cfg["elements"]), 1)
        nn.init.zeros_(self.charge_bias.weight)
        self.dipole_gate = _mlp(f, f, f)
        self.dipole_mix = nn.Linear(f, f, bias=False)
        self.quad_gate = _mlp(f, f, f)
        self.quad_mix = nn.Linear(f, f, bias=False)

    # -- helpers -------------------------------------------------------------------------
    def _species(self, z: torch.Tensor) -> torch.Tensor:
        if z.numel() and (int(z.min()) < 1 or int(z.max()) > 118):
            check_elements(z, self.config["elements"])
        idx = self.species_index[z]
        if z.numel() and bool((idx < 0).any()):
            check_elements(z, self.config["elements"])
        return idx

    def _gated_channel_sum(self, s, x, gate, mix):
        return (gate(s)[:, None, :] * mix(x)).sum(-1)        # (A,k,F) -> (A,k)

    # -- forward -------------------------------------------------------------------------
    def forward(self, z, pos, batch=None, total_charge=None) -> dict[str, torch.Tensor]:
        z = torch.as_tensor(z, dtype=torch.long, device=pos.device)
        dtype, dev = pos.dtype, pos.device
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
        basis = self.basis.to(dtype)

        i, j = neighbour_pairs(pos, batch, self.cutoff)
        rij = pos[j] - pos[i]
        r = torch.sqrt((rij * rij).sum(-1))
        u = rij / r[:, None]
        bu = torch.einsum("mab,eb->ema", basis, u)          # (E,5,3)  B_m u
        y2 = torch.einsum("ema,ea->em", bu, u)              # (E,5)    Y2(u)_m = uᵀ B_m u
        rbf = torch.exp(-0.5 * ((r[:, None] - self.rbf_centers.to(dtype)) / self.rbf_width) ** 2)
        fcut = _cosine_cutoff(r, self.cutoff)

        f = self.embedding.embedding_dim
        s = self.embedding(species)
        v = torch.zeros(a, 3, f, dtype=dtype, device=dev)
        t = torch.zeros(a, 5, f, dtype=dtype, device=dev)
        for inter, upd in zip(self.interactions, self.updates):
            s, v, t = inter(s, v, t, i, j, u, y2, bu, rbf, fcut)
            s, v, t = upd(s, v, t, basis)

        cfg = self.config
        q_raw = cfg["charge_scale"] * (self.charge_head(s)[:, 0] + self.charge_bias(species)[:, 0])
        counts = torch.bincount(batch, minlength=n_mol).to(dtype)
        excess = total_charge - torch.zeros(n_mol, dtype=dtype, device=dev).index_add_(0, batch, q_raw)
        charges = q_raw + (excess / counts)[batch]
        order = int(cfg["max_order"])
        if order >= 1:
            p = cfg["dipole_scale"] * self._gated_channel_sum(s, v, self.dipole_gate, self.dipole_mix)
        else:
            p = torch.zeros(a, 3, dtype=dtype, device=dev)
        if order >= 2:
            c = cfg["quadrupole_scale"] * self._gated_channel_sum(s, t, self.quad_gate, self.quad_mix)
            theta = torch.einsum("am,mbc->abc", c, basis)
        else:
            theta = torch.zeros(a, 3, 3, dtype=dtype, device=dev)

        m = self.masses.to(dtype)[z]
        msum = torch.zeros(n_mol, dtype=dtype, device=dev).index_add_(0, batch, m)
        com = torch.zeros(n_mol, 3, dtype=dtype, device=dev).index_add_(0, batch, m[:, None] * pos)
        com = com / msum[:, None]
        mu, th = molecular_moments(pos, batch, n_mol, charges, p, theta, com)
        return {"charges": charges, "atomic_dipoles": p, "atomic_quadrupoles": theta,
                "dipole": mu, "quadrupole": th, "center_of_mass": com}


def save_model(model: MultipoleNet, stem, card: dict | None = None) -> None:
    """Write ``stem.pt`` (plain float32 state dict) and ``stem.json`` (model card with "config")."""
    stem = str(stem)
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    torch.save(state, stem + ".pt")
    card = dict(card or {})
    card["config"] = model.config
    with open(stem + ".json", "w") as fh:
        json.dump(card, fh, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x)}")


def load_card(stem) -> dict:
    with open(str(stem) + ".json") as fh:
        return json.load(fh)


def load_model(stem, dtype=torch.float32, device="cpu") -> MultipoleNet:
    """Rebuild a model from ``stem.json``'s config and load ``stem.pt`` (weights_only=True)."""
    stem = str(stem)
    if stem.endswith(".pt") or stem.endswith(".json"):
        stem = os.path.splitext(stem)[0]
    card = load_card(stem)
    model = MultipoleNet(**card["config"])
    state = torch.load(stem + ".pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.card = card
    return model.to(device=device, dtype=dtype).eval()
