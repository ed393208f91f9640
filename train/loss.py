"""Training losses of the multipole network: one weighted sum of named terms.

Terms (each a mean squared error over the entries the batch has a reference for; NaN marks a
missing reference):

- ``dipole``       MSE of the molecular μ components, (e·Å)²
- ``quadrupole``   MSE of the traceless Θ components about the centre of mass, (e·Å²)²
- ``mep``          MSE of the potential at the batch's sampled surface points, (kcal/mol/e)²,
                   computed from the predicted atomic multipoles with the formula of
                   docs/physics.md (plus the charge-penetration term when the model predicts
                   one), :func:`multipole_potential_torch`
- ``magnitude``    MSE of |μ| against QM9's own |μ| (|μ|-only molecules), (e·Å)²
- ``charges``, ``atomic_dipoles``  MSE against reference atomic charges (e²) and dipoles
                   ((e·Å)²) of GFN2-xTB files (pre-training only)

A variant's protocol is the set of terms with a nonzero weight: ``dipole`` = {dipole};
``quadrupole`` = {dipole, quadrupole}; ``mep`` = {dipole, quadrupole, mep}.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch

from mepviz.units import COULOMB_KCAL_ANGSTROM

#: the loss terms of each variant's protocol (docs and cards; a weight outside it must be 0)
PROTOCOL_TERMS = {"dipole": ("dipole",), "quadrupole": ("dipole", "quadrupole"),
                  "mep": ("dipole", "quadrupole", "mep")}
#: terms any protocol may add (QM9 |μ|; xTB atomic priors, pre-training only)
EXTRA_TERMS = ("magnitude", "charges", "atomic_dipoles")


@dataclass(frozen=True)
class LossWeights:
    """Weight of each term (see the module docstring for units); 0 switches a term off."""

    dipole: float = 1.0
    quadrupole: float = 0.0
    mep: float = 0.0
    magnitude: float = 0.0
    charges: float = 0.0
    atomic_dipoles: float = 0.0

    def active(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v}

    def describe(self) -> str:
        """The loss in words for the model card, e.g. ``1·MSE(μ) [e·Å]² + 1·MSE(Θ) [e·Å²]²``."""
        unit = {"dipole": "MSE(μ) [e·Å]²", "quadrupole": "MSE(Θ) [e·Å²]²",
                "mep": "MSE(V on surface points) [kcal/mol/e]²", "magnitude": "MSE(|μ|) [e·Å]²",
                "charges": "MSE(qᵢ − qᵢ(xTB)) [e²]", "atomic_dipoles": "MSE(pᵢ − pᵢ(xTB)) [e·Å]²"}
        return " + ".join(f"{w:g}·{unit[k]}" for k, w in self.active().items())

    @classmethod
    def for_protocol(cls, protocol: str, **weights) -> "LossWeights":
        """The weights of a variant's protocol: its terms at the given weights (dipole 1 by
        default), every other protocol term 0; ValueError for a term outside the protocol."""
        if protocol not in PROTOCOL_TERMS:
            raise ValueError(f"unknown loss protocol {protocol!r}; known: {', '.join(PROTOCOL_TERMS)}")
        allowed = set(PROTOCOL_TERMS[protocol]) | set(EXTRA_TERMS)
        known = {f.name for f in fields(cls)}
        bad = {k for k, v in weights.items() if k not in known or (v and k not in allowed)}
        if bad:
            raise ValueError(f"loss terms {sorted(bad)} are not part of the {protocol!r} protocol "
                             f"(its terms: {', '.join(PROTOCOL_TERMS[protocol])}; extras: {', '.join(EXTRA_TERMS)})")
        base = {k: (1.0 if k == "dipole" else 0.0) for k in PROTOCOL_TERMS[protocol]}
        return cls(**{**base, **{k: float(v) for k, v in weights.items()}})


def masked_mse(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries whose reference is finite; 0 if none."""
    known = torch.isfinite(ref)
    if bool(known.all()):
        return ((pred - ref) ** 2).mean() if ref.numel() else pred.new_zeros(())
    return ((pred[known] - ref[known]) ** 2).mean() if bool(known.any()) else pred.new_zeros(())


def point_atom_pairs(point_molecule: torch.Tensor, batch: torch.Tensor):
    """Every (point, atom) pair of the same molecule: (point index, atom index) LongTensors.
    Atoms must be grouped by molecule in `batch` order (as :meth:`MoleculeSet.batch` makes them)."""
    n_mol = int(max(int(batch.max()) + 1 if batch.numel() else 0,
                    int(point_molecule.max()) + 1 if point_molecule.numel() else 0))
    counts = torch.bincount(batch, minlength=n_mol)
    starts = torch.cumsum(counts, 0) - counts
    per_point = counts[point_molecule]
    p_idx = torch.repeat_interleave(torch.arange(point_molecule.shape[0]), per_point)
    first = torch.cumsum(per_point, 0) - per_point
    local = torch.arange(int(per_point.sum())) - torch.repeat_interleave(first, per_point)
    return p_idx, starts[point_molecule][p_idx] + local


def multipole_potential_torch(points, point_molecule, pos, batch, charges, dipoles, quadrupoles,
                              penetration=None) -> torch.Tensor:
    """Potential (e/Å; × k_e for kcal/mol/e) of each molecule's atomic multipoles at its points.

    V(R) = Σᵢ qᵢ/s + pᵢ·s/s³ + Σ_αβ θᵢ,αβ s_α s_β/s⁵ (s = R − rᵢ), the formula of
    docs/physics.md and :func:`mepviz.electrostatics.multipole_potential`; `penetration`
    (A, 2) = (valence electron population Nᵢ in e, Slater width aᵢ in Å) adds the
    charge-penetration term Nᵢ (1/s + 1/(2aᵢ)) e^(−s/aᵢ) of each atom's smeared electron cloud.
    """
    p_i, a_i = point_atom_pairs(point_molecule, batch)
    s = points[p_i] - pos[a_i]
    r2 = (s * s).sum(-1)
    r = torch.sqrt(r2)
    inv = 1.0 / r
    inv3 = inv / r2
    term = charges[a_i] * inv + (dipoles[a_i] * s).sum(-1) * inv3
    term = term + torch.einsum("ea,eab,eb->e", s, quadrupoles[a_i], s) * inv3 / r2
    if penetration is not None:
        n_val, width = penetration[a_i, 0], penetration[a_i, 1]
        term = term + n_val * (inv + 0.5 / width) * torch.exp(-r / width)
    return term.new_zeros(points.shape[0]).index_add(0, p_i, term)


def surface_potential(out: dict, batch: dict) -> torch.Tensor:
    """Predicted potential (kcal/mol/e) at the batch's surface points ``mep_points``."""
    return COULOMB_KCAL_ANGSTROM * multipole_potential_torch(
        batch["mep_points"], batch["mep_molecule"], batch["pos"], batch["batch"], out["charges"],
        out["atomic_dipoles"], out["atomic_quadrupoles"], out.get("penetration"))


def atomic_error(out: dict, batch: dict, key: str):
    """Model − reference of the per-atom quantity `key` over the entries the batch knows; None
    when the batch has no such reference."""
    if key not in batch:
        return None
    known = torch.isfinite(batch[key])
    return out[key][known] - batch[key][known]


def loss_terms(out: dict, batch: dict, weights: LossWeights) -> dict[str, torch.Tensor]:
    """Every active term's unweighted value, plus ``total`` = Σ weight·term."""
    terms: dict[str, torch.Tensor] = {}
    zero = out["dipole"].new_zeros(())
    if weights.dipole:
        terms["dipole"] = masked_mse(out["dipole"], batch["dipole"])
    if weights.quadrupole:
        terms["quadrupole"] = masked_mse(out["quadrupole"], batch["quadrupole"])
    if weights.mep:
        has = "mep_points" in batch and batch["mep_points"].shape[0] > 0
        terms["mep"] = masked_mse(surface_potential(out, batch), batch["mep_ref"]) if has else zero
    if weights.magnitude and "dipole_norm" in batch:
        norm = torch.sqrt((out["dipole"] ** 2).sum(-1) + 1e-12)
        terms["magnitude"] = masked_mse(norm, batch["dipole_norm"])
    for key in ("charges", "atomic_dipoles"):
        err = atomic_error(out, batch, key) if getattr(weights, key) else None
        if err is not None and err.numel():
            terms[key] = (err ** 2).mean()
    terms["total"] = sum((getattr(weights, k) * v for k, v in terms.items()), zero)
    return terms
