"""3D structures from RDKit molecules: canonical atom order, ETKDGv3 embedding of every
fragment (``N_CONFORMERS`` conformers, lowest MMFF94/UFF energy kept, deterministic for a
seed), bonds, canonical SMILES and radical multiplicity. Positions Å."""
from __future__ import annotations

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, rdDistGeom
from rdkit.Geometry import Point3D

from .validate import _err, _int_value

RDLogger.DisableLog("rdApp.*")      # RDKit's own stderr logging: problems are reported by us

def _bonds_of(rdmol) -> tuple:
    return tuple((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), float(b.GetBondTypeAsDouble()))
                 for b in rdmol.GetBonds())


def _canonical_smiles(rdmol) -> str:
    try:
        return Chem.MolToSmiles(Chem.RemoveHs(rdmol))
    except Exception:  # noqa: BLE001
        try:
            return Chem.MolToSmiles(rdmol)
        except Exception:  # noqa: BLE001
            return ""


#: the d and f blocks, where counting valence electrons does not bound a formal charge
_TRANSITION = set(range(21, 31)) | set(range(39, 49)) | set(range(57, 81)) | set(range(89, 113))


def _formal_charge_refusal(rdmol) -> str | None:
    """A formal charge no atom can carry, or None: a main-group atom holds at most a full
    valence shell (2 electrons for H and He, else 8) and cannot give away more electrons than
    its valence shell has (so O lies in −2…+6; ``M  CHG -6`` on an O is refused)."""
    pt = Chem.GetPeriodicTable()
    for a in rdmol.GetAtoms():
        z, f = a.GetAtomicNum(), a.GetFormalCharge()
        if z < 1 or z in _TRANSITION or not f:
            continue
        valence, shell = pt.GetNOuterElecs(z), 2 if z <= 2 else 8
        lo, hi = valence - shell, valence
        if not lo <= f <= hi:
            return (f"atom {a.GetIdx() + 1} ({a.GetSymbol()}) has a formal charge of {f:+d}, which no "
                    f"{a.GetSymbol()} atom can carry (its formal charge lies between {lo:+d} and {hi:+d}: "
                    f"{valence} valence electrons, at most {shell} in its valence shell). Check the charges.")
    return None


def _radical_multiplicity(rdmol) -> int:
    return sum(a.GetNumRadicalElectrons() for a in rdmol.GetAtoms()) + 1


#: conformers embedded per connected fragment; the one with the lowest MMFF94 energy is kept
N_CONFORMERS = 8
#: force-field iterations of every conformer before the lowest one is relaxed to convergence
PRE_RELAX_ITERATIONS = 200


def _canonical_order(rdmol):
    """`rdmol` renumbered in RDKit's canonical atom ranking (so the 3D result is independent of
    the atom order of the input SMILES)."""

    ranks = list(Chem.CanonicalRankAtoms(rdmol, breakTies=True))
    order = sorted(range(rdmol.GetNumAtoms()), key=lambda i: ranks[i])
    return Chem.RenumberAtoms(rdmol, order)


def _embed_one(frag, seed: int, notes: list[str], label: str) -> np.ndarray:
    """Lowest-energy of `N_CONFORMERS` ETKDGv3 embeddings, each relaxed with MMFF94 (UFF when
    MMFF lacks parameters), for one connected RDKit molecule; returns positions (Å).

    Deterministic for a seed; ties in energy are broken by conformer number."""

    if frag.GetNumAtoms() == 1:
        return np.zeros((1, 3))
    params = rdDistGeom.ETKDGv3()
    params.randomSeed = int(seed)
    params.numThreads = 1
    n_conf = N_CONFORMERS if frag.GetNumAtoms() > 3 else 1
    cids = list(rdDistGeom.EmbedMultipleConfs(frag, n_conf, params))
    if not cids:
        params.useRandomCoords = True
        cids = list(rdDistGeom.EmbedMultipleConfs(frag, n_conf, params))
    if not cids:
        raise _err(f"Could not generate 3D coordinates for {label} (very strained or unusual structure).")
    # every conformer is pre-relaxed (PRE_RELAX_ITERATIONS), the lowest one is relaxed to convergence
    if AllChem.MMFFHasAllMoleculeParams(frag):
        res = AllChem.MMFFOptimizeMoleculeConfs(frag, numThreads=1, maxIters=PRE_RELAX_ITERATIONS,
                                                mmffVariant="MMFF94")
        best = cids[int(np.argmin([e for _, e in res]))]
        AllChem.MMFFOptimizeMolecule(frag, mmffVariant="MMFF94", maxIters=2000, confId=best)
    elif AllChem.UFFHasAllMoleculeParams(frag):
        res = AllChem.UFFOptimizeMoleculeConfs(frag, numThreads=1, maxIters=PRE_RELAX_ITERATIONS)
        best = cids[int(np.argmin([e for _, e in res]))]
        AllChem.UFFOptimizeMolecule(frag, maxIters=2000, confId=best)
        notes.append("MMFF94 has no parameters for this molecule; the geometry was relaxed with UFF instead "
                     f"(lowest-energy of {len(cids)} conformers).")
    else:
        best = cids[0]
        notes.append("Neither MMFF94 nor UFF has parameters for this molecule; "
                     "the geometry is the unrelaxed ETKDG embedding.")
    return np.array(frag.GetConformer(best).GetPositions(), dtype=float)


def _embed(molH, seed: int, notes: list[str], label: str) -> np.ndarray:
    """3D coordinates for an RDKit molecule with explicit H. Fragments are embedded separately
    and placed side by side along x with ≥ 4 Å between their atoms."""

    frag_atoms = Chem.GetMolFrags(molH, asMols=False, sanitizeFrags=False)
    if len(frag_atoms) == 1:
        return _embed_one(molH, seed, notes, label)
    mapping: list = []
    frag_mols = Chem.GetMolFrags(molH, asMols=True, sanitizeFrags=False, fragsMolAtomMapping=mapping)
    pos = np.zeros((molH.GetNumAtoms(), 3))
    x_edge = None
    for fm, idx in zip(frag_mols, mapping):
        try:
            Chem.SanitizeMol(fm)
        except Exception:  # noqa: BLE001 - parent was sanitized; only ring info is essential
            fm.UpdatePropertyCache(strict=False)
            Chem.FastFindRings(fm)
        p = _embed_one(fm, seed, notes, label)
        p = p - p.mean(axis=0)
        if x_edge is None:
            shift = 0.0
        else:
            shift = x_edge + 4.0 - p[:, 0].min()
        p[:, 0] += shift
        x_edge = float(p[:, 0].max())
        pos[list(idx)] = p
    # centre the whole set
    return pos - pos.mean(axis=0)


def _set_positions(rdmol, pos: np.ndarray) -> None:
    conf = Chem.Conformer(rdmol.GetNumAtoms())
    for i, (x, y, z) in enumerate(pos):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    conf.Set3D(True)
    rdmol.RemoveAllConformers()
    rdmol.AddConformer(conf, assignId=True)


def _resolve(value_given, value_found, what: str, source: str) -> int:
    if value_given is None:
        return value_found
    v = _int_value(value_given, what)
    if v != value_found:
        raise _err(f"{source} has {what} {value_found}, but {what}={v} was requested.")
    return v
