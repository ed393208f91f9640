"""Molecule pools beyond QM9: drug-like molecules, their fragments, ions, SPICE monomers.

    python -m train.pools build --moses-wheel molsets-0.3.1-py3-none-any.whl [--out data/pools]

Reads MOSES SMILES straight out of the PyPI wheel `molsets` (MIT; never imported, never a
runtime dependency) and the SPICE DES monomers (data/spice/des-monomers.hdf5), and writes
plain CSV files (`id,smiles,charge,source,...`) to data/pools/:

- test sets, never trained or tuned on (their canonical SMILES are excluded from every
  training pool): ``test_drugs.csv`` (MOSES *test* split, 15–35 heavy atoms),
  ``test_spice.csv`` (SPICE monomers with P/S/Cl/Br/I, conformation 0), ``test_ions.csv``
  (SPICE ions + ionised fragments of MOSES test molecules), ``sigma_hole.csv`` (CF3X, PhX);
- ``train_dft.csv``: the DFT labelling queue, in priority order (capped BRICS fragments of
  MOSES train molecules ≤ 12 heavy atoms, their ions, the SPICE monomers outside the test set,
  whole MOSES train molecules), interleaved so any prefix is a mixed sample;
- ``xtb_pool.csv.gz``: ≥ 100,000 pool molecules (fragments, ions, drugs) for GFN2-xTB labels;
- ``train_spice.csv``: the SPICE monomers outside every test set that already have seed DFT
  labels (data/spice/des_monomers_dft_seed.npz), i.e. free training labels
  (``python -m train.pools spice-train`` rewrites it alone, without the MOSES wheel);
- ``train_halogen.csv``: halogen swaps (every Cl/Br → Cl, Br or I) of the small halogenated
  fragments of the DFT queue and of the SPICE training monomers, smallest first: MOSES has no iodine and few
  halogens, yet σ-holes are the classic MEP lesson (``python -m train.pools halogen-train``).

Everything is deterministic (one seed). Ions come from RDKit atom edits on acid/base sites
(carboxylic, sulfonic and phosphoric acids, phenols → anions; aliphatic amines, amidines,
guanidines, imidazoles/pyridines → cations), total charge −2…+2.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import os
import re
import sys
import zipfile

import numpy as np

SEED = 0
MAX_FRAGMENT_HEAVY = 12
MIN_FRAGMENT_HEAVY = 3
DRUG_TEST_HEAVY = (15, 35)
POOL_ELEMENTS = {"H", "C", "N", "O", "F", "P", "S", "Cl", "Br", "I"}
SIGMA_HOLE = (("CF3Cl", "FC(F)(F)Cl"), ("CF3Br", "FC(F)(F)Br"), ("CF3I", "FC(F)(F)I"),
              ("chlorobenzene", "Clc1ccccc1"), ("bromobenzene", "Brc1ccccc1"), ("iodobenzene", "Ic1ccccc1"))
SPICE_HDF5 = os.path.join("data", "spice", "des-monomers.hdf5")
FIELDS = ("id", "smiles", "charge", "heavy_atoms", "source")

# acid sites: the atom that loses a proton (becomes −1); base sites: the atom that gains one (+1)
ACID_SMARTS = ("[OX2H1][CX3]=O", "[OX2H1]S(=O)=O", "[OX2H1]P=O", "[OX2H1]c")
BASE_SMARTS = (
    # aliphatic amines (not amides, anilines, sulfonamides, hydrazines, hydroxylamines)
    "[NX3;H2,H1,H0;!$(N-[C,S,P]=[O,S,N]);!$(N-a);!$(N-[#7,#8]);!$(N-C#N)]([CX4])",
    "[NX2;H0,H1;$(N=C(-[NX3]))]",            # amidines, guanidines (imine N)
    "[nX2;r5;$(n:c:[nX3;r5]);!$(n:n);!$(n:c:[o,s])]",   # imidazoles
    "[nX2;r6;!$(n:n);!$(n:c:n);!$(n:c=O)]",              # pyridines
)


def canonical(smiles: str) -> str | None:
    from rdkit import Chem
    m = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(m) if m is not None else None


def heavy_atoms(smiles: str) -> int:
    from rdkit import Chem
    return Chem.MolFromSmiles(smiles).GetNumHeavyAtoms()


def formal_charge(smiles: str) -> int:
    from rdkit import Chem
    return Chem.GetFormalCharge(Chem.MolFromSmiles(smiles))


def moses_smiles(wheel: str, split: str) -> list[str]:
    """The SMILES column of moses/dataset/data/<split>.csv.gz inside the molsets wheel."""
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(f"moses/dataset/data/{split}.csv.gz")
    lines = gzip.decompress(raw).decode().splitlines()
    assert lines[0].strip() == "SMILES", lines[0]
    return [s.strip() for s in lines[1:] if s.strip()]


def capped_fragments(smiles: str) -> set[str]:
    """Canonical SMILES of the BRICS fragments of `smiles` (leaves and larger combinations),
    each broken bond capped with H, with MIN…MAX_FRAGMENT_HEAVY heavy atoms."""
    from rdkit import Chem
    from rdkit.Chem import BRICS
    m = Chem.MolFromSmiles(smiles)
    if m is None:
        return set()
    out = set()
    for frag in BRICS.BRICSDecompose(m, keepNonLeafNodes=True):
        fm = Chem.MolFromSmiles(frag)
        if fm is None:
            continue
        rw = Chem.RWMol(fm)
        for a in rw.GetAtoms():
            if a.GetAtomicNum() == 0:
                a.SetAtomicNum(1)
                a.SetIsotope(0)
        try:
            capped = Chem.RemoveHs(rw.GetMol())
            Chem.SanitizeMol(capped)
        except Exception:   # noqa: BLE001 - an odd fragment is simply skipped
            continue
        if MIN_FRAGMENT_HEAVY <= capped.GetNumHeavyAtoms() <= MAX_FRAGMENT_HEAVY:
            out.add(Chem.MolToSmiles(capped))
    return out


def _sites(mol, patterns) -> list[int]:
    from rdkit import Chem
    found = []
    for smarts in patterns:
        for match in mol.GetSubstructMatches(Chem.MolFromSmarts(smarts)):
            if match[0] not in found:
                found.append(match[0])
    return found


def ionised_states(smiles: str, max_abs_charge: int = 2) -> list[tuple[str, int]]:
    """Protonation/deprotonation states of a neutral molecule: each single site charged,
    and all acid sites + all base sites together (zwitterions included), |charge| ≤ 2."""
    from rdkit import Chem
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or Chem.GetFormalCharge(mol) != 0:
        return []
    acids, bases = _sites(mol, ACID_SMARTS), _sites(mol, BASE_SMARTS)
    dist = Chem.GetDistanceMatrix(mol)
    edits = [[(i, -1)] for i in acids] + [[(i, +1)] for i in bases]
    if acids and bases:                                         # zwitterion
        edits.append([(acids[0], -1), (bases[0], +1)])
    for sites, c in ((acids, -1), (bases, +1)):                 # di-anion / di-cation, sites apart
        far = [(i, j) for k, i in enumerate(sites) for j in sites[k + 1:] if dist[i, j] >= 4]
        if far:
            edits.append([(far[0][0], c), (far[0][1], c)])
    out = {}
    for edit in edits:
        q = sum(c for _, c in edit)
        if abs(q) > max_abs_charge or (q == 0 and len(edit) < 2):
            continue
        rw = Chem.RWMol(mol)
        for i, c in edit:
            a = rw.GetAtomWithIdx(i)
            a.SetFormalCharge(c)
            a.SetNumExplicitHs(0)
            a.SetNoImplicit(False)
        try:
            m2 = rw.GetMol()
            Chem.SanitizeMol(m2)
        except Exception:   # noqa: BLE001
            continue
        s = Chem.MolToSmiles(m2)
        if Chem.MolFromSmiles(s) is not None:
            out[s] = Chem.GetFormalCharge(m2)
    return sorted(out.items())


def _elements_ok(smiles: str) -> bool:
    from rdkit import Chem
    m = Chem.MolFromSmiles(smiles)
    return m is not None and {a.GetSymbol() for a in m.GetAtoms()} <= POOL_ELEMENTS


def _has_any(smiles: str, symbols) -> bool:
    from rdkit import Chem
    return any(a.GetSymbol() in symbols for a in Chem.MolFromSmiles(smiles).GetAtoms())


def _stable_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def spice_names() -> list[tuple[str, str]]:
    """(SPICE group name, canonical SMILES) for the 378 DES monomers."""
    import h5py
    from rdkit import Chem
    out = []
    with h5py.File(SPICE_HDF5, "r") as f:
        for name in f:
            mapped = f[name]["smiles"][0].decode()
            m = Chem.MolFromSmiles(mapped)
            for a in m.GetAtoms():
                a.SetAtomMapNum(0)
            out.append((name, Chem.MolToSmiles(Chem.RemoveHs(m))))
    return out


def seed_smiles() -> set[str]:
    """Canonical SMILES of the SPICE monomers with seed DFT labels (conformation 0)."""
    with np.load(os.path.join("data", "spice", "des_monomers_dft_seed.npz"), allow_pickle=False) as d:
        return {canonical(str(s)) for s in d["smiles"]}


def _row(id_, smiles, source, charge=None):
    return {"id": id_, "smiles": smiles, "charge": formal_charge(smiles) if charge is None else charge,
            "heavy_atoms": heavy_atoms(smiles), "source": source}


def _interleave(*lists):
    """Round-robin merge of several lists (so any prefix mixes every source)."""
    out, its = [], [iter(x) for x in lists]
    while its:
        for it in list(its):
            try:
                out.append(next(it))
            except StopIteration:
                its.remove(it)
    return out


def build(wheel: str, out_dir: str, n_train_molecules: int = 36000, n_drug_test: int = 48,
          n_ion_test_extra: int = 20, n_spice_test: int = 64, log=print) -> dict:
    rng = np.random.default_rng(SEED)
    os.makedirs(out_dir, exist_ok=True)
    train_all = moses_smiles(wheel, "train")
    test_all = moses_smiles(wheel, "test")
    log(f"MOSES: {len(train_all)} train, {len(test_all)} test SMILES")

    # --- test sets ---------------------------------------------------------------------
    lo, hi = DRUG_TEST_HEAVY
    drug_test = []
    for i in rng.permutation(len(test_all)):
        s = canonical(test_all[i])
        if s and lo <= heavy_atoms(s) <= hi and _elements_ok(s):
            drug_test.append(_row(f"moses_test_{i}", s, "MOSES test split"))
        if len(drug_test) == n_drug_test:
            break
    sigma = [_row(name, canonical(s), "sigma-hole set") for name, s in SIGMA_HOLE]
    spice = spice_names()
    sigma_smiles = {r["smiles"] for r in sigma}
    with_heavy = sorted(((n, s) for n, s in spice if _has_any(s, ("P", "S", "Cl", "Br", "I"))
                         and formal_charge(s) == 0 and s not in sigma_smiles),
                        key=lambda ns: _stable_hash(ns[0]))
    spice_test = [_row(n, s, "SPICE DES monomer (conformation 0)") for n, s in with_heavy[:n_spice_test]]
    spice_ions = [_row(n, s, "SPICE DES monomer (conformation 0)") for n, s in spice if formal_charge(s) != 0]
    test_frag_ions = []
    for i in rng.permutation(len(test_all))[:4000]:
        for f in sorted(capped_fragments(test_all[i])):
            for s, q in ionised_states(f):
                if heavy_atoms(s) <= 10:
                    test_frag_ions.append(_row(f"moses_test_{i}_ion{len(test_frag_ions)}", s,
                                               "ionised fragment of a MOSES test molecule", q))
        if len(test_frag_ions) >= 10 * n_ion_test_extra:
            break
    picked = {}
    for r in test_frag_ions:
        picked.setdefault(r["smiles"], r)
    extra = [picked[k] for k in sorted(picked)]
    extra = [extra[i] for i in sorted(rng.choice(len(extra), min(n_ion_test_extra, len(extra)), replace=False))]
    ion_test = spice_ions + extra
    test_smiles = {r["smiles"] for r in drug_test + sigma + spice_test + ion_test}

    # --- training pools ----------------------------------------------------------------
    train_idx = rng.permutation(len(train_all))[:n_train_molecules]
    frags, drugs = {}, []
    for k, i in enumerate(train_idx):
        s = canonical(train_all[i])
        if not s or not _elements_ok(s):
            continue
        drugs.append(s)
        for f in capped_fragments(s):
            frags.setdefault(f, i)
        if (k + 1) % 5000 == 0:
            log(f"  {k + 1}/{len(train_idx)} MOSES train molecules → {len(frags)} unique fragments")
    frag_list = [f for f in sorted(frags) if f not in test_smiles and _elements_ok(f)]
    frag_list = [frag_list[i] for i in rng.permutation(len(frag_list))]
    ions = {}
    for f in frag_list:
        for s, q in ionised_states(f):
            if s not in test_smiles:
                ions.setdefault(s, q)
    ion_list = sorted(ions)
    ion_list = [ion_list[i] for i in rng.permutation(len(ion_list))]
    drug_list = [d for d in drugs if d not in test_smiles]
    spice_train = [(n, s) for n, s in spice if s not in test_smiles]

    frag_rows = [_row(f"frag_{k}", s, "capped BRICS fragment of MOSES train") for k, s in enumerate(frag_list)]
    ion_rows = [_row(f"ion_{k}", s, "ionised MOSES train fragment", ions[s]) for k, s in enumerate(ion_list)]
    drug_rows = [_row(f"moses_train_{k}", s, "MOSES train split") for k, s in enumerate(drug_list)]
    spice_rows = [_row(n, s, "SPICE DES monomer (conformation 0)") for n, s in spice_train]
    # DFT queue: SPICE monomers without seed labels (Br, I), then blocks of 8 neutral
    # fragments + 2 cations + 2 anions/zwitterions, a whole drug-like molecule every 3 blocks
    seeded = seed_smiles()
    spice_rows = [r for r in spice_rows if r["smiles"] not in seeded]
    cations = [r for r in ion_rows if r["charge"] > 0]
    others = [r for r in ion_rows if r["charge"] <= 0]
    dft = list(spice_rows)
    fi = ci = ai = di = 0
    for block in range(6000 // 8):
        dft += frag_rows[fi:fi + 8] + cations[ci:ci + 2] + others[ai:ai + 2]
        fi, ci, ai = fi + 8, ci + 2, ai + 2
        if block % 3 == 2:
            dft += drug_rows[di:di + 1]
            di += 1
    xtb = _interleave(frag_rows, ion_rows, drug_rows)[:max(XTB_POOL_SIZE, len(frag_rows) + len(ion_rows))]
    xtb = top_up(xtb, train_all, test_smiles)

    files = {"test_drugs.csv": drug_test, "test_spice.csv": spice_test, "test_ions.csv": ion_test,
             "sigma_hole.csv": sigma, "train_dft.csv": dft, "xtb_pool.csv.gz": xtb,
             "train_spice.csv": (spice_train_rows := seeded_spice_train(spice, test_smiles)),
             "train_halogen.csv": halogen_train_rows(dft + spice_train_rows, test_smiles | {r["smiles"] for r in dft + spice_train_rows})}
    for name, rows in files.items():
        write_rows(os.path.join(out_dir, name), rows)
        log(f"{name}: {len(rows)} molecules")
    overlap = test_smiles & {r["smiles"] for r in dft + xtb + files["train_spice.csv"] + files["train_halogen.csv"]}
    assert not overlap, f"test molecules in a training pool: {sorted(overlap)[:5]}"
    return {k: len(v) for k, v in files.items()}


XTB_POOL_SIZE = 100_000
TEST_POOLS = ("test_drugs.csv", "test_spice.csv", "test_ions.csv", "sigma_hole.csv")


def seeded_spice_train(spice: list[tuple[str, str]], test_smiles: set[str]) -> list[dict]:
    """SPICE monomers (name, canonical SMILES) outside `test_smiles` that have a seed DFT
    label: training molecules whose labels cost nothing."""
    seeded = seed_smiles()
    return [_row(n, s, "SPICE DES monomer (conformation 0)") for n, s in spice
            if s in seeded and s not in test_smiles]


HALOGENS = ("I", "Br", "Cl")
MAX_HALOGEN_SWAP_HEAVY = 10


def halogen_swaps(smiles: str) -> dict[str, str]:
    """{X: canonical SMILES with every Cl and Br of `smiles` replaced by X} for X in I, Br, Cl."""
    from rdkit import Chem
    out = {}
    for x in HALOGENS:
        m = Chem.RWMol(Chem.MolFromSmiles(smiles))
        for a in m.GetAtoms():
            if a.GetSymbol() in ("Cl", "Br"):
                a.SetAtomicNum(Chem.GetPeriodicTable().GetAtomicNumber(x))
        out[x] = Chem.MolToSmiles(m.GetMol())
    return out


def halogen_train_rows(queue: list[dict], exclude: set[str], limit: int = 600) -> list[dict]:
    """Halogen swaps of the neutral capped fragments and SPICE monomers in `queue` that hold Cl or Br
    (≤ MAX_HALOGEN_SWAP_HEAVY heavy atoms), minus `exclude` (test sets, the queue itself);
    by size, and within a parent I, Br, Cl: any prefix covers iodine."""
    parents = sorted((r for r in queue if r["source"].startswith(("capped BRICS", "SPICE")) and r["charge"] == 0
                      and r["heavy_atoms"] <= MAX_HALOGEN_SWAP_HEAVY and _has_any(r["smiles"], ("Cl", "Br"))),
                     key=lambda r: (r["heavy_atoms"], r["id"]))
    rows, seen = [], set(exclude)
    for r in parents:
        for x, smi in halogen_swaps(r["smiles"]).items():
            if smi not in seen:
                seen.add(smi)
                what = "a SPICE monomer" if r["source"].startswith("SPICE") else "a capped BRICS fragment"
                rows.append(_row(f"{r['id']}_{x}", smi, f"halogen swap ({x}) of {what}"))
    return rows[:limit]


def write_halogen_train(out_dir: str) -> int:
    """(Re)write ``train_halogen.csv`` from the DFT queue and test CSVs in `out_dir`."""
    test_smiles = {r["smiles"] for r in read_pools(out_dir, TEST_POOLS)}
    queue = read_pools(out_dir, ("train_dft.csv", "train_spice.csv"))
    rows = halogen_train_rows(queue, test_smiles | {r["smiles"] for r in queue})
    write_rows(os.path.join(out_dir, "train_halogen.csv"), rows)
    return len(rows)


def ion_train_rows(parents: list[dict], exclude: set[str]) -> list[dict]:
    """Ionised states (:func:`ionised_states`) of the neutral SPICE monomers in `parents`, minus
    `exclude`: phosphate, sulfonate, carboxylate, phenolate anions and ammonium, amidinium,
    imidazolium cations of the SPICE chemistry, in the order of their parents."""
    rows, seen = [], set(exclude)
    for r in parents:
        if not r["source"].startswith("SPICE") or r["charge"] != 0:
            continue
        for k, (smi, q) in enumerate(ionised_states(r["smiles"])):
            if smi not in seen and _elements_ok(smi):
                seen.add(smi)
                rows.append(_row(f"{r['id']}_ion{k}", smi, "ionised SPICE monomer", q))
    return rows


#: substituents R and charged groups of the scaffold ions ({R} marks where R attaches)
ION_SUBSTITUENTS = ("C", "CC", "CCC", "CC(C)", "C=C", "c1ccccc1", "Cc1ccccc1", "FC(F)(F)", "ClCC", "OCC")
ION_HEADS = ("{R}OP(=O)(O)[O-]", "{R}OP(=O)([O-])OC", "{R}P(=O)(O)[O-]", "{R}OS(=O)(=O)[O-]",
             "{R}S(=O)(=O)[O-]", "{R}C(=O)[O-]", "{R}[S-]", "{R}[NH3+]", "{R}NC(=[NH2+])N",
             "{R}C(=[NH2+])N", "{R}c1c[nH]c[nH+]1", "{R}[n+]1ccccc1", "{R}[N+](C)(C)C", "{R}[P+](C)(C)C",
             "{R}[S+](C)C", "{R}OP(=O)([O-])[O-]", "{R}OP(=O)([O-])OP(=O)(O)O", "{R}OP(=O)(O)OP(=O)(O)[O-]")


def scaffold_ion_rows(exclude: set[str]) -> list[dict]:
    """Every charged group of ION_HEADS on every substituent of ION_SUBSTITUENTS (phosphates,
    diphosphates, phosphonates, sulfates, sulfonates, carboxylates, thiolates; ammonium, guanidinium,
    amidinium, imidazolium, pyridinium, tetraalkyl-ammonium/-phosphonium, sulfonium), minus
    `exclude`; ordered so that any prefix covers every head."""
    rows, seen = [], set(exclude)
    for i, r in enumerate(ION_SUBSTITUENTS):
        for j, head in enumerate(ION_HEADS):
            smi = canonical(head.replace("{R}", r))
            if smi and smi not in seen and _elements_ok(smi):
                seen.add(smi)
                rows.append(_row(f"scaffold_ion_{j}_{i}", smi, "charged group on a substituent (scaffold ion)"))
    return rows


def write_ion_train(out_dir: str) -> int:
    """(Re)write ``train_ions.csv``: scaffold ions (:func:`scaffold_ion_rows`) interleaved with the
    ionised SPICE training monomers (the SPICE ions themselves are all test molecules), outside
    every test set and the other training pools."""
    test_smiles = {r["smiles"] for r in read_pools(out_dir, TEST_POOLS)}
    queue = read_pools(out_dir, ("train_spice.csv", "train_dft.csv", "train_halogen.csv"))
    exclude = test_smiles | {r["smiles"] for r in queue}
    scaffolds = scaffold_ion_rows(exclude)
    rows = _interleave(scaffolds, ion_train_rows(queue, exclude | {r["smiles"] for r in scaffolds}))
    write_rows(os.path.join(out_dir, "train_ions.csv"), rows)
    return len(rows)


#: sp³ C–X scaffolds ({X} marks each halogen): mono-, gem- and vicinal halides on alkyl chains,
#: rings and next to the groups drugs put beside them; the weak σ-hole of an sp³ C–Cl is where
#: the mep model's caps were still wrong (7 sp³ chlorides among its training labels)
HALIDE_SCAFFOLDS = (
    "C{X}", "CC{X}", "CCC{X}", "CC(C){X}", "CCCC{X}", "CC(C)C{X}", "CCC(C){X}", "CC(C)(C){X}",
    "CCCCC{X}", "{X}C1CCCC1", "{X}C1CCCCC1", "C=CC{X}", "C#CC{X}", "OCC{X}", "COCC{X}", "NCC{X}",
    "N#CC{X}", "O=CC{X}", "CC(=O)C{X}", "OC(=O)C{X}", "{X}Cc1ccccc1", "CSCC{X}", "FC(F)C{X}",
    "{X}C{X}", "CC({X}){X}", "CCC({X}){X}", "CC(C)({X}){X}", "{X}CC{X}", "CC({X})C{X}", "{X}CCC{X}",
    "{X}C({X}){X}", "CC({X})({X}){X}", "OCC({X})({X}){X}", "{X}C1CCCCC1{X}")


def halide_train_rows(exclude: set[str]) -> list[dict]:
    """Every HALIDE_SCAFFOLDS entry with X = Cl, then Br, then I (any prefix favours the chlorides),
    minus `exclude`."""
    rows, seen = [], set(exclude)
    for x in ("Cl", "Br", "I"):
        for j, scaffold in enumerate(HALIDE_SCAFFOLDS):
            smi = canonical(scaffold.replace("{X}", x))
            if smi and smi not in seen:
                seen.add(smi)
                rows.append(_row(f"halide_{j}_{x}", smi, f"sp3 C-{x} scaffold"))
    return rows


def write_halide_train(out_dir: str) -> int:
    """(Re)write ``train_halides.csv``: sp³ halide scaffolds (:func:`halide_train_rows`) outside
    every test set and the other training pools."""
    exclude = {r["smiles"] for r in read_pools(out_dir, TEST_POOLS + ("train_spice.csv", "train_dft.csv",
                                                                     "train_halogen.csv", "train_ions.csv"))}
    rows = halide_train_rows(exclude)
    write_rows(os.path.join(out_dir, "train_halides.csv"), rows)
    return len(rows)


#: thermal snapshots labelled per sp³ halide scaffold besides its MMFF minimum (train/thermal.py)
HALIDE_SNAPSHOTS = 4

#: the `source` of a thermal-snapshot row names its snapshot
_SNAPSHOT = re.compile(r"^thermal snapshot (\d+) \(MMFF94, 500 K\) of an sp3 C-[A-Za-z]+ scaffold$")


def thermal_snapshot(row: dict) -> int | None:
    """The thermal snapshot k ≥ 1 a row is labelled at (train/thermal.py), or None."""
    m = _SNAPSHOT.match(row["source"])
    return int(m.group(1)) if m else None


def halide_thermal_rows(halides: list[dict], n: int = HALIDE_SNAPSHOTS) -> list[dict]:
    """Snapshots 1…n of every sp³ halide scaffold row in `halides` (train_halides.csv), snapshot k
    of every scaffold before k + 1: SPICE's test monomers are thermal samples, C–X bonds spread
    ±0.1 Å about the minimum where the SMILES labels sit."""
    return [_row(f"{r['id']}_t{k}", r["smiles"],
                 f"thermal snapshot {k} (MMFF94, 500 K) of an {r['source']}", r["charge"])
            for k in range(1, n + 1) for r in halides]


def write_halide_thermal(out_dir: str) -> int:
    """(Re)write ``train_halide_thermal.csv`` from ``train_halides.csv``."""
    rows = halide_thermal_rows(read_rows(os.path.join(out_dir, "train_halides.csv")))
    write_rows(os.path.join(out_dir, "train_halide_thermal.csv"), rows)
    return len(rows)


#: the `source` of a SPICE row names its conformation
_CONFORMATION = re.compile(r"^SPICE DES monomer \(conformation (\d+)\)$")


def spice_conformation(row: dict) -> int | None:
    """The SPICE conformation a row is labelled at (``source`` "SPICE DES monomer (conformation
    k)"), or None for a row whose geometry comes from its SMILES."""
    m = _CONFORMATION.match(row["source"])
    return int(m.group(1)) if m else None


def spice_group(row: dict) -> str:
    """The SPICE HDF5 group of a SPICE row: its id, less the ``_conf<k>`` suffix of k > 0."""
    k = spice_conformation(row)
    return row["id"][: -len(f"_conf{k}")] if k else row["id"]


#: SPICE conformations 1…N of the training monomers with an sp³ C–X bond (X = Cl, Br, I)
SPICE_CONFORMERS = 24


def spice_conformer_rows(training: list[dict], n: int = SPICE_CONFORMERS) -> list[dict]:
    """Conformations 1…n (SPICE's thermal samples; the test sets use conformation 0 of other
    monomers) of the conformation-0 SPICE rows in `training` that hold an sp³ C–X bond, one
    conformation of every monomer before the next (any prefix covers every monomer). Bond
    lengths there spread over ±0.1 Å (C–Cl 1.67–1.92 Å in the test monomers); the labels made
    from SMILES all sit at the MMFF minimum."""
    from rdkit import Chem
    sp3_halide = Chem.MolFromSmarts("[CX4][Cl,Br,I]")
    parents = [r for r in training if spice_conformation(r) == 0
               and Chem.MolFromSmiles(r["smiles"]).HasSubstructMatch(sp3_halide)]
    return [_row(f"{r['id']}_conf{k}", r["smiles"], f"SPICE DES monomer (conformation {k})", r["charge"])
            for k in range(1, n + 1) for r in parents]


def write_spice_conformers(out_dir: str) -> int:
    """(Re)write ``train_spice_conformers.csv`` from the SPICE rows of the training pools."""
    training = read_pools(out_dir, ("train_spice.csv", "train_dft.csv"))
    rows = spice_conformer_rows(training)
    write_rows(os.path.join(out_dir, "train_spice_conformers.csv"), rows)
    return len(rows)


def write_spice_train(out_dir: str) -> int:
    """(Re)write ``train_spice.csv`` from the test CSVs already in `out_dir`."""
    test_smiles = {r["smiles"] for r in read_pools(out_dir, TEST_POOLS)}
    rows = seeded_spice_train(spice_names(), test_smiles)
    write_rows(os.path.join(out_dir, "train_spice.csv"), rows)
    return len(rows)


def top_up(rows: list[dict], train_all: list[str], exclude: set[str], size: int = XTB_POOL_SIZE) -> list[dict]:
    """`rows` extended to `size` with whole MOSES train molecules not yet in it (nor in
    `exclude`), taken in the order of an independent permutation (seed SEED + 1)."""
    have = {r["smiles"] for r in rows} | set(exclude)
    out = list(rows)
    for i in np.random.default_rng(SEED + 1).permutation(len(train_all)):
        if len(out) >= size:
            break
        s = canonical(train_all[i])
        if s and s not in have and _elements_ok(s):
            have.add(s)
            out.append(_row(f"moses_train_extra_{i}", s, "MOSES train split"))
    return out


def write_rows(path: str, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    data = buf.getvalue().encode()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as fh:
        fh.write(data)


def read_rows(path: str) -> list[dict]:
    """Rows of a pool CSV (``charge`` and ``heavy_atoms`` as int)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["charge"] = int(r["charge"])
        r["heavy_atoms"] = int(r["heavy_atoms"])
    return rows


#: subcommands that rewrite one training pool from the files already in --out (no MOSES wheel)
REWRITERS = {
    "spice-train": ("train_spice.csv", write_spice_train, "SPICE monomers with seed labels"),
    "halogen-train": ("train_halogen.csv", write_halogen_train, "halogen swaps"),
    "ion-train": ("train_ions.csv", write_ion_train, "scaffold and ionised SPICE training monomers"),
    "halide-train": ("train_halides.csv", write_halide_train, "sp3 C-X scaffolds"),
    "spice-conformers": ("train_spice_conformers.csv", write_spice_conformers,
                         "SPICE thermal conformations of the sp3 halides"),
    "halide-thermal": ("train_halide_thermal.csv", write_halide_thermal,
                       "thermal snapshots of the sp3 halide scaffolds"),
}


def read_pools(out_dir: str, names) -> list[dict]:
    """Rows of the pool CSVs `names` in `out_dir`, in that order."""
    return [r for name in names for r in read_rows(os.path.join(out_dir, name))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.pools", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--moses-wheel", required=True, help="path to molsets-0.3.1-py3-none-any.whl")
    b.add_argument("--out", default=os.path.join("data", "pools"))
    b.add_argument("--train-molecules", type=int, default=36000)
    for cmd, (fname, _, what) in REWRITERS.items():
        sub.add_parser(cmd, help=f"rewrite {fname} only ({what})").add_argument(
            "--out", default=os.path.join("data", "pools"))
    a = ap.parse_args(argv)
    if a.cmd in REWRITERS:
        fname, write, _ = REWRITERS[a.cmd]
        print(f"{fname}: {write(a.out)} molecules")
        return 0
    build(a.moses_wheel, a.out, n_train_molecules=a.train_molecules, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
