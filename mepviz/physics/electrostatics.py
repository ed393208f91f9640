"""Electrostatics of atomic multipoles: molecular moments and potentials (numpy, float64).

Conventions (docs/physics.md): lengths Å, charges e, dipoles e·Å, quadrupoles are traceless
Buckingham tensors Θ = ½ Σ q (3 r rᵀ − r² I) in e·Å², potentials in kcal/mol/e.
"""
from __future__ import annotations

import numpy as np

from ..core.units import COULOMB_KCAL_ANGSTROM


def _as_multipoles(n, charges, dipoles, quadrupoles):
    q = np.zeros(n) if charges is None else np.asarray(charges, float).reshape(n)
    p = np.zeros((n, 3)) if dipoles is None else np.asarray(dipoles, float).reshape(n, 3)
    t = np.zeros((n, 3, 3)) if quadrupoles is None else np.asarray(quadrupoles, float).reshape(n, 3, 3)
    return q, p, t


def molecular_dipole(positions, charges=None, dipoles=None, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """μ = Σ qᵢ dᵢ + Σ pᵢ about `origin` (e·Å); dᵢ = rᵢ − origin."""
    pos = np.asarray(positions, float)
    q, p, _ = _as_multipoles(len(pos), charges, dipoles, None)
    d = pos - np.asarray(origin, float)
    return (q[:, None] * d).sum(0) + p.sum(0)


def molecular_quadrupole(positions, charges=None, dipoles=None, quadrupoles=None,
                         origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Traceless Buckingham quadrupole (e·Å²) about `origin`.

    Θ = Σ ½ qᵢ (3 dᵢdᵢᵀ − |dᵢ|² I) + Σ ½ (3 (pᵢdᵢᵀ + dᵢpᵢᵀ) − 2 (pᵢ·dᵢ) I) + Σ θᵢ
    """
    pos = np.asarray(positions, float)
    q, p, t = _as_multipoles(len(pos), charges, dipoles, quadrupoles)
    d = pos - np.asarray(origin, float)
    eye = np.eye(3)
    dd = np.einsum("ia,ib->iab", d, d)
    r2 = np.einsum("ia,ia->i", d, d)
    theta = 0.5 * np.einsum("i,iab->ab", q, 3 * dd - r2[:, None, None] * eye)
    pd = np.einsum("ia,ib->iab", p, d)
    pdot = np.einsum("ia,ia->i", p, d)
    theta += 0.5 * (3 * (pd + pd.transpose(0, 2, 1)).sum(0) - 2 * pdot.sum() * eye)
    return theta + t.sum(0)


def traceless(second_moment) -> np.ndarray:
    """Raw second moment M = Σ q r rᵀ -> traceless Buckingham Θ = ½ (3M − tr M I)."""
    m = np.asarray(second_moment, float)
    return 0.5 * (3 * m - np.trace(m, axis1=-2, axis2=-1)[..., None, None] * np.eye(3))


def principal_values(tensor) -> np.ndarray:
    """Eigenvalues (ascending) of the symmetrised 3×3 `tensor` (e.g. Θ in e·Å²; they sum to 0
    for a traceless quadrupole)."""
    t = np.asarray(tensor, float)
    return np.linalg.eigvalsh(0.5 * (t + t.T))


def shift_second_moment(second_moment, dipole, origin, total_charge=0.0,
                        old_origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Raw second moment about `origin` from the one about `old_origin`.

    M(o) = M(a) − (o−a) μ(a)ᵀ − μ(a) (o−a)ᵀ + Q (o−a)(o−a)ᵀ, with μ(a) the dipole about a.
    """
    s = np.asarray(origin, float) - np.asarray(old_origin, float)
    mu = np.asarray(dipole, float)
    return (np.asarray(second_moment, float) - np.outer(s, mu) - np.outer(mu, s)
            + total_charge * np.outer(s, s))


#: the six independent products RαRβ of a point (xx, yy, zz, xy, xz, yz) and their weights in
#: R·θ·R for a symmetric θ (off-diagonal pairs count twice)
_PAIRS = (np.array([0, 1, 2, 0, 0, 1]), np.array([0, 1, 2, 1, 2, 2]))
_PAIR_WEIGHTS = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])


_NOBLE_GAS_CORES = (0, 2, 10, 18, 36, 54, 86)


def valence_electrons(numbers) -> np.ndarray:
    """Valence electrons of the neutral atoms (main-group count: electrons beyond the noble-gas
    core, less a filled d shell from period 4 on): H 1, C 4, N 5, O 6, F 7, P 5, S 6, Cl 7, Br 7, I 7."""
    z = np.asarray(numbers, dtype=int)
    core = np.array([max(c for c in _NOBLE_GAS_CORES if c < k) if k > 0 else 0 for k in z.ravel()]).reshape(z.shape)
    v = z - core
    return np.where((v > 10) & (core >= 18), v - 10, v)


def penetration_potential(points, positions, penetration, chunk_size: int = 2000) -> np.ndarray:
    """Charge-penetration correction (kcal/mol/e) at `points` (Å) of smeared valence clouds.

    Atom i is a nucleus + core of charge Zᵢ (its valence electrons) and a valence cloud of Nᵢ
    electrons with the Slater density ρ(r) = Nᵢ e^(−r/aᵢ) / (8π aᵢ³); its net charge is
    qᵢ = Zᵢ − Nᵢ. The potential is qᵢ/s (the point charge) plus
    ΔVᵢ(s) = k_e Nᵢ (1/s + 1/(2aᵢ)) e^(−s/aᵢ), which vanishes far from the atom (the moments do
    not change) and grows where the surface penetrates the cloud. `penetration` (N, 2) holds
    (Nᵢ in e, aᵢ in Å) per atom (docs/physics.md).
    """
    n = len(np.asarray(positions, float).reshape(-1, 3))
    return multipole_potential(points, positions, np.zeros(n), penetration=penetration, chunk_size=chunk_size)


def multipole_potential(points, positions, charges=None, dipoles=None, quadrupoles=None,
                        penetration=None, chunk_size: int = 2000) -> np.ndarray:
    """MEP (kcal/mol/e) of atomic multipoles at `points` (Å).

    V(R) = k_e Σᵢ [ qᵢ/s + pᵢ·s/s³ + Σ_αβ θᵢ,αβ s_α s_β / s⁵ ],  s = R − rᵢ,
    plus :func:`penetration_potential` when `penetration` (N, 2) is given.

    With s = R − r, every numerator is a polynomial in R whose coefficients depend only on the
    atom: |s|² = |R|² − 2R·r + |r|², p·s = p·R − p·r, s·θ·s = R·θR − 2R·θr + r·θr (θ
    symmetrised, which s·θ·s cannot tell apart). Those become matrix products over all
    point–atom pairs (BLAS), leaving a few elementwise operations per pair. Coordinates are
    taken about the atoms' centroid to keep the expansion well conditioned (relative error
    ~1e-14 on surfaces). Evaluated in chunks of points that fit in cache.
    """
    pts = np.asarray(points, float).reshape(-1, 3)
    pos = np.asarray(positions, float).reshape(-1, 3)
    q, p, t = _as_multipoles(len(pos), charges, dipoles, quadrupoles)
    with_p = dipoles is not None and np.any(p)
    with_t = quadrupoles is not None and np.any(t)
    centre = pos.mean(0) if len(pos) else np.zeros(3)
    pts, pos = pts - centre, pos - centre
    dist_lin, dist_const = -2.0 * pos.T, np.einsum("na,na->n", pos, pos)
    if with_p:
        dip_lin, dip_const = p.T, -np.einsum("na,na->n", p, pos)
    if with_t:
        ts = 0.5 * (t + np.swapaxes(t, 1, 2))
        tr = np.einsum("nab,nb->na", ts, pos)
        quad_sq, quad_lin = (ts[:, _PAIRS[0], _PAIRS[1]] * _PAIR_WEIGHTS).T, -2.0 * tr.T
        quad_const = np.einsum("na,na->n", pos, tr)
    if penetration is not None:
        pen = np.asarray(penetration, float).reshape(len(pos), 2)
        n_val, inv_width = pen[:, 0], 1.0 / pen[:, 1]
    out = np.empty(len(pts))
    for start in range(0, len(pts), chunk_size):
        r = pts[start:start + chunk_size]
        inv = 1.0 / np.sqrt(np.einsum("pa,pa->p", r, r)[:, None] + r @ dist_lin + dist_const)   # (P, N)
        smeared = 0.0
        if penetration is not None:          # Nᵢ (1/s + 1/(2aᵢ)) e^(−s/aᵢ)
            smeared = (n_val * (inv + 0.5 * inv_width) * np.exp(-inv_width / inv)).sum(1)
        if with_p or with_t:
            inv2 = inv * inv
            acc = (r[:, _PAIRS[0]] * r[:, _PAIRS[1]]) @ quad_sq + r @ quad_lin + quad_const if with_t else 0.0
            if with_t:
                acc *= inv2
            if with_p:
                acc = acc + (r @ dip_lin + dip_const)
            acc *= inv2
            acc += q
            acc *= inv
        else:
            acc = inv * q
        out[start:start + chunk_size] = acc.sum(1) + smeared
    return COULOMB_KCAL_ANGSTROM * out
