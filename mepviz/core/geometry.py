"""Bonds guessed from distances, fragments, and the bond-length scale of a geometry (Å).

One tolerance for every guess: two atoms are bonded when their distance is below
``BOND_TOLERANCE`` × the sum of their covalent radii (RDKit's table).
"""
from __future__ import annotations

import numpy as np
from rdkit import Chem
from scipy.spatial import cKDTree

#: bonded when d < BOND_TOLERANCE × (r_cov,i + r_cov,j)
BOND_TOLERANCE = 1.3


def covalent_radii(numbers) -> np.ndarray:
    """Covalent radii (Å) from RDKit's periodic table."""
    pt = Chem.GetPeriodicTable()
    return np.array([pt.GetRcovalent(int(z)) for z in np.asarray(numbers).reshape(-1)], float)


def guess_bonds(numbers, positions) -> tuple:
    """Bonds ((i, j, 1.0), …), i < j, from distances (BOND_TOLERANCE × covalent radii)."""
    pos = np.asarray(positions, float).reshape(-1, 3)
    if len(pos) < 2:
        return ()
    r = covalent_radii(numbers)
    pairs = cKDTree(pos).query_pairs(BOND_TOLERANCE * 2 * float(r.max()), output_type="ndarray")
    out = []
    for i, j in sorted(map(tuple, pairs)):
        if np.linalg.norm(pos[i] - pos[j]) < BOND_TOLERANCE * (r[i] + r[j]):
            out.append((int(i), int(j), 1.0))
    return tuple(out)


def components(n: int, edges) -> list[list[int]]:
    """Connected components (sorted lists of atom indices, ordered by first atom)."""
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for e in edges:
        ri, rj = find(int(e[0])), find(int(e[1]))
        if ri != rj:
            parent[ri] = rj
    groups: dict[int, list[int]] = {}
    for a in range(n):
        groups.setdefault(find(a), []).append(a)
    return sorted(groups.values(), key=lambda g: g[0])


def bonds_of(mol) -> tuple:
    """The molecule's bonds when known (``mol.bonds``, or none at all when its SMILES has no
    bond, e.g. '[Na+].[Cl-]'), else guessed from distances."""
    if mol.bonds:
        return tuple(mol.bonds)
    if mol.smiles and _smiles_without_bonds(mol.smiles):
        return ()
    return guess_bonds(mol.numbers, mol.positions)


def _smiles_without_bonds(smiles: str) -> bool:
    m = Chem.MolFromSmiles(smiles)
    return m is not None and Chem.AddHs(m).GetNumBonds() == 0


def fragments(mol) -> list[list[int]]:
    """Connected components of a Molecule (see :func:`bonds_of`)."""
    return components(mol.n_atoms, bonds_of(mol))


def nearest_neighbours(positions) -> tuple[np.ndarray, np.ndarray]:
    """(index, distance Å) of each atom's nearest other atom (needs ≥ 2 atoms)."""
    pos = np.asarray(positions, float).reshape(-1, 3)
    d, j = cKDTree(pos).query(pos, k=2)
    return j[:, 1], d[:, 1]


def bond_length_scale(numbers, positions) -> float:
    """Median over atoms of (nearest-neighbour distance) / (sum of covalent radii).

    About 1 for a molecule in Å; about 100 in picometres, 1000 for coordinates × 1000,
    1.9 in bohr. NaN for a single atom.
    """
    pos = np.asarray(positions, float).reshape(-1, 3)
    if len(pos) < 2:
        return float("nan")
    r = covalent_radii(numbers)
    j, d = nearest_neighbours(pos)
    return float(np.median(d / (r + r[j])))


def unit_hint(numbers, positions) -> str:
    """'' or a sentence naming a likely unit mistake (picometres, ×1000, bohr)."""
    s = bond_length_scale(numbers, positions)
    if not np.isfinite(s):
        return ""
    if s > 30:
        return (f"bond lengths look like picometres or another unit, not Å (typical bonds are "
                f"{s:.0f}× too long)")
    if 1.7 < s < 2.1:
        return "bond lengths are about 1.9× typical: are the coordinates in bohr instead of Å?"
    return ""
