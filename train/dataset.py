"""Data loading and batching for training the multipole network.

Reads the repository's reference-data format (../shared/data/README.md): flat ``.npz``
files with per-molecule arrays (qm9_index, atom_count, dipole, quadrupole_com, ...) and
concatenated per-atom arrays (z, pos). DFT labels: ``data/qm9/train.npz`` and any
``data/qm9/train_dft_*.npz`` shards; GFN2-xTB labels: ``data/xtb/*.npz`` (same format).
``data/qm9/test.npz`` is never loaded for training — its molecules (and the reserved
positions 0–99) are actively excluded from everything this module returns for training.

Molecules beyond QM9 (``data/newchem/train_*.npz``, ``data/xtb_pool/*.npz``) carry a ``name``
and a total ``charge`` instead of a QM9 index; they get a stable key ``named_key(name)`` ≥ 2⁴⁰
in the ``qm9_index`` column (never a QM9 index), so de-duplication and the validation split
work the same way, and a molecule keeps its split across DFT and xTB files (same pool id).
The molecules of the beyond-QM9 test sets (``data/newchem/test_*.npz``, ``sigma_hole.npz``) are
excluded like QM9's test split.

Validation split: a molecule is in validation iff a seeded hash of its QM9 index falls
below the fraction, so the split is stable as new shards arrive and is the same across
DFT and xTB files (a validation molecule is never trained on at either level).
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from mepviz.ml.cards import file_sha256

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class MoleculeSet:
    """Molecules with flat atom arrays. Targets in e·Å (dipole) and e·Å² (Θ about COM)."""

    qm9_index: np.ndarray            # (M,)
    position: np.ndarray             # (M,) permutation position, −1 if unknown
    atom_count: np.ndarray           # (M,)
    z: np.ndarray                    # (ΣN,)
    pos: np.ndarray                  # (ΣN, 3)
    dipole: np.ndarray               # (M, 3)
    quadrupole: np.ndarray           # (M, 3, 3)
    source: np.ndarray               # (M,) file name each molecule came from
    charges: np.ndarray | None = None  # (ΣN,) reference atomic charges (e; xTB files), NaN if unknown
    atomic_dipoles: np.ndarray | None = None  # (ΣN, 3) reference atomic dipoles (e·Å; xTB files)
    dipole_norm: np.ndarray | None = None  # (M,) reference |μ| (e·Å; QM9's own), NaN if unknown
    total_charge: np.ndarray | None = None  # (M,) total charge (e); None: all neutral
    surface: "SurfaceMEP | None" = None    # DFT MEP on stored surface points; None: no molecule has one
    offsets: np.ndarray = field(init=False)

    def __post_init__(self):
        self.offsets = np.concatenate([[0], np.cumsum(self.atom_count)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.qm9_index)

    def subset(self, idx) -> "MoleculeSet":
        idx = np.asarray(idx)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
        atoms = self.atom_indices(idx)
        return MoleculeSet(self.qm9_index[idx], self.position[idx], self.atom_count[idx],
                           self.z[atoms], self.pos[atoms], self.dipole[idx], self.quadrupole[idx],
                           self.source[idx], *(None if x is None else x[atoms]
                                                for x in (self.charges, self.atomic_dipoles)),
                           None if self.dipole_norm is None else self.dipole_norm[idx],
                           None if self.total_charge is None else self.total_charge[idx],
                           None if self.surface is None else self.surface.subset(idx))

    def mask(self, keep) -> "MoleculeSet":
        return self.subset(np.flatnonzero(np.asarray(keep, dtype=bool)))

    def atom_indices(self, idx) -> np.ndarray:
        return segment_indices(self.offsets, self.atom_count, idx)

    def has_mep(self) -> np.ndarray:
        """(M,) True for the molecules with stored surface MEPs."""
        return np.zeros(len(self), bool) if self.surface is None else self.surface.count > 0

    def batch(self, idx, dtype=torch.float32, mep_points: int | None = None, iso_share: float = 0.5,
              rng=None) -> dict:
        """Tensors for the molecules `idx`: z, pos, batch, total_charge, dipole, quadrupole
        (and atomic `charges`, `atomic_dipoles`, `dipole_norm` when the set has them; NaN marks
        a target a molecule lacks, e.g. the vector μ of a QM9 |μ|-only molecule). With
        `mep_points`, also the stored surface MEP of the molecules that have one
        (:meth:`SurfaceMEP.sample`: ``mep_points`` (P,3) Å, ``mep_ref`` (P,) kcal/mol/e,
        ``mep_molecule`` (P,) index into `idx`, ``mep_iso`` (P,) bool); 0 takes every point."""
        idx = np.asarray(idx, dtype=np.int64)
        atoms = self.atom_indices(idx)
        out = {
            "z": torch.from_numpy(self.z[atoms].astype(np.int64)),
            "pos": torch.from_numpy(self.pos[atoms]).to(dtype),
            "batch": torch.from_numpy(np.repeat(np.arange(len(idx)), self.atom_count[idx])),
            "total_charge": (torch.zeros(len(idx), dtype=dtype) if self.total_charge is None
                             else torch.from_numpy(self.total_charge[idx]).to(dtype)),
            "dipole": torch.from_numpy(self.dipole[idx]).to(dtype),
            "quadrupole": torch.from_numpy(self.quadrupole[idx]).to(dtype),
        }
        if self.charges is not None:
            out["charges"] = torch.from_numpy(self.charges[atoms]).to(dtype)
        if self.atomic_dipoles is not None:
            out["atomic_dipoles"] = torch.from_numpy(self.atomic_dipoles[atoms]).to(dtype)
        if self.dipole_norm is not None:
            out["dipole_norm"] = torch.from_numpy(self.dipole_norm[idx]).to(dtype)
        if mep_points is not None and self.surface is not None:
            pts, ref, mol, iso = self.surface.sample(idx, mep_points, iso_share, rng)
            out.update(mep_points=torch.from_numpy(pts).to(dtype), mep_ref=torch.from_numpy(ref).to(dtype),
                       mep_molecule=torch.from_numpy(mol), mep_iso=torch.from_numpy(iso))
        return out

    def batches(self, batch_size: int, shuffle: bool = False, rng=None, dtype=torch.float32,
                max_atoms: int | None = None, mep_points: int | None = None, iso_share: float = 0.5,
                point_rng=None):
        """Yield batch dicts of up to `batch_size` molecules (and `max_atoms` atoms); with
        `mep_points`, each with a sample of surface MEP points drawn with `point_rng` (see
        :meth:`batch`; a generator of its own, so the batch order does not depend on it)."""
        order = np.arange(len(self))
        if shuffle:
            order = (rng or np.random.default_rng()).permutation(len(self))
        cur, n_at = [], 0
        for k in order:
            if cur and (len(cur) >= batch_size or (max_atoms and n_at + self.atom_count[k] > max_atoms)):
                yield self.batch(cur, dtype, mep_points, iso_share, point_rng)
                cur, n_at = [], 0
            cur.append(k)
            n_at += int(self.atom_count[k])
        if cur:
            yield self.batch(cur, dtype, mep_points, iso_share, point_rng)

    def summary(self) -> dict:
        pos = self.position[self.position >= 0]
        files = {}
        for s in np.unique(self.source):
            sel = self.source == s
            p = self.position[sel]
            p = p[p >= 0]
            files[str(s)] = {"molecules": int(sel.sum()),
                             "positions": [int(p.min()), int(p.max())] if len(p) else None}
        return {"molecules": int(len(self)), "atoms": int(self.atom_count.sum()),
                "positions": [int(pos.min()), int(pos.max())] if len(pos) else None,
                "files": files}


#: chemistry groups of training molecules (the learning curve's axes; :func:`chemistry_groups`)
CHEMISTRY_GROUPS = ("qm9", "halogen", "sulfur_phosphorus", "ions", "organic")


def chemistry_groups(ms: "MoleculeSet") -> np.ndarray:
    """(M,) group of each molecule: ``qm9`` (a QM9 index), ``ions`` (total charge ≠ 0),
    ``halogen`` (contains Cl, Br or I), ``sulfur_phosphorus`` (S or P, no Cl/Br/I), else
    ``organic`` (neutral H C N O F beyond QM9: drug-like fragments and small organics)."""
    out = np.full(len(ms), "organic", dtype=object)
    for k in range(len(ms)):
        z = set(ms.z[ms.offsets[k]:ms.offsets[k + 1]].tolist())
        if ms.qm9_index[k] < NAMED_KEY_BASE:
            out[k] = "qm9"
        elif ms.total_charge is not None and ms.total_charge[k] != 0:
            out[k] = "ions"
        elif z & {17, 35, 53}:
            out[k] = "halogen"
        elif z & {15, 16}:
            out[k] = "sulfur_phosphorus"
    return out.astype(str)


def thin_mep(ms: "MoleculeSet", keep: dict[str, float], seed: int = 0) -> "MoleculeSet":
    """`ms` with the surface MEP kept for a seeded random `keep[group]` share of each
    chemistry group's MEP-labelled molecules (μ and Θ of every molecule stay): learning curves."""
    if not keep or ms.surface is None:
        return ms
    bad = set(keep) - set(CHEMISTRY_GROUPS)
    if bad:
        raise ValueError(f"unknown chemistry groups {sorted(bad)}; known: {', '.join(CHEMISTRY_GROUPS)}")
    groups, has = chemistry_groups(ms), ms.has_mep()
    keep_mask = has.copy()
    rng = np.random.default_rng([seed, 2718])
    for group, share in keep.items():
        members = np.flatnonzero(has & (groups == group))
        # order by a key of the molecule (not its position), so shares nest: 0.5 ⊂ 0.75
        order = members[np.argsort(_splitmix64(ms.qm9_index[members].astype(np.uint64) ^ np.uint64(rng.integers(1 << 62))))]
        keep_mask[order[int(round(share * len(order))):]] = False
    return dataclasses.replace(ms, surface=ms.surface.keep_molecules(keep_mask))


def segment_indices(offsets: np.ndarray, counts: np.ndarray, idx) -> np.ndarray:
    """Flat indices of the segments `idx` of a concatenated array (segment k starts at
    offsets[k] and has counts[k] entries), in the order of `idx`."""
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    n = counts[idx]
    first = np.cumsum(n) - n
    return np.repeat(offsets[idx] - first, n) + np.arange(n.sum())


@dataclass
class SurfaceMEP:
    """The DFT MEP on each molecule's stored surface points (label files' ``iso_*`` and
    ``shell_*``): points in Å, potential in kcal/mol/e, ``iso`` True for isodensity vertices
    (False for Merz–Kollman shell points). Molecules without a surface MEP have count 0."""

    count: np.ndarray        # (M,)
    points: np.ndarray       # (ΣP, 3) float32, Å
    esp: np.ndarray          # (ΣP,) float32, kcal/mol/e
    iso: np.ndarray          # (ΣP,) bool
    offsets: np.ndarray = field(init=False)

    def __post_init__(self):
        self.offsets = np.concatenate([[0], np.cumsum(self.count)]).astype(np.int64)

    @classmethod
    def empty(cls, m: int) -> "SurfaceMEP":
        return cls(np.zeros(m, np.int64), np.zeros((0, 3), np.float32), np.zeros(0, np.float32), np.zeros(0, bool))

    @classmethod
    def from_arrays(cls, d: dict) -> "SurfaceMEP":
        """From a label file's arrays: per molecule its isodensity points, then its shell points."""
        from mepviz.units import HARTREE_TO_KCAL_MOL
        ni, ns = d["iso_count"].astype(np.int64), d["shell_count"].astype(np.int64)
        oi, osh = np.concatenate([[0], np.cumsum(ni)]), np.concatenate([[0], np.cumsum(ns)])
        order, iso = [], []
        for k in range(len(ni)):             # interleave: molecule k's iso block, then its shells
            order.append(np.arange(oi[k], oi[k + 1]))
            order.append(len(d["iso_esp"]) + np.arange(osh[k], osh[k + 1]))
            iso += [np.ones(ni[k], bool), np.zeros(ns[k], bool)]
        order = np.concatenate(order).astype(np.int64)
        pts = np.concatenate([d["iso_points"], d["shell_points"]]).astype(np.float32)[order]
        esp = np.concatenate([d["iso_esp"], d["shell_esp"]]).astype(np.float64)[order]
        return cls(ni + ns, pts, (esp * HARTREE_TO_KCAL_MOL).astype(np.float32), np.concatenate(iso))

    def subset(self, idx) -> "SurfaceMEP":
        sel = segment_indices(self.offsets, self.count, idx)
        return SurfaceMEP(self.count[np.asarray(idx, np.int64)], self.points[sel], self.esp[sel], self.iso[sel])

    def keep_molecules(self, keep) -> "SurfaceMEP":
        """The same molecules with the surface MEP of those where `keep` (M,) is False removed."""
        keep = np.asarray(keep, bool)
        sel = segment_indices(self.offsets, self.count, np.flatnonzero(keep))
        return SurfaceMEP(np.where(keep, self.count, 0), self.points[sel], self.esp[sel], self.iso[sel])

    @staticmethod
    def concat(parts: list["SurfaceMEP"]) -> "SurfaceMEP":
        return SurfaceMEP(np.concatenate([p.count for p in parts]), np.concatenate([p.points for p in parts]),
                          np.concatenate([p.esp for p in parts]), np.concatenate([p.iso for p in parts]))

    def sample(self, idx, n: int, iso_share: float = 0.5, rng=None):
        """(points, esp, molecule, iso) for the molecules `idx` (molecule = position in `idx`):
        `n` random points per molecule (``iso_share`` of them isodensity vertices, the rest
        shell points; fewer where a molecule has fewer), or every point when n is 0."""
        rng = rng or np.random.default_rng()
        picks, mols = [], []
        for k, m in enumerate(np.asarray(idx, np.int64)):
            lo, hi = self.offsets[m], self.offsets[m + 1]
            if hi == lo:
                continue
            if n == 0:
                sel = np.arange(lo, hi)
            else:
                iso = np.flatnonzero(self.iso[lo:hi]) + lo
                shell = np.flatnonzero(~self.iso[lo:hi]) + lo
                n_iso = min(len(iso), int(round(n * iso_share)))
                n_shell = min(len(shell), n - n_iso)
                sel = np.concatenate([rng.choice(iso, n_iso, replace=False),
                                      rng.choice(shell, n_shell, replace=False)])
            picks.append(sel)
            mols.append(np.full(len(sel), k, np.int64))
        if not picks:
            return (np.zeros((0, 3), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, bool))
        sel = np.concatenate(picks)
        return self.points[sel], self.esp[sel], np.concatenate(mols), self.iso[sel]


#: keys of named (beyond-QM9) molecules start here; QM9 indices are < 134,000
NAMED_KEY_BASE = 1 << 40
#: surface-MEP arrays of label files (:class:`SurfaceMEP`)
SURFACE_KEYS = ("iso_points", "iso_esp", "shell_points", "shell_esp", "shell_scale")


def named_key(names) -> np.ndarray:
    """Stable int64 keys ≥ 2⁴⁰ for molecule names (SHA-256 of the name)."""
    return np.array([NAMED_KEY_BASE + int(hashlib.sha256(str(n).encode()).hexdigest()[:10], 16)
                     for n in np.atleast_1d(names)], dtype=np.int64)


def source_name(path: str) -> str:
    """How a file is named in ``MoleculeSet.source``: relative to the repository when inside it."""
    full = os.path.abspath(path)
    return os.path.relpath(full, ROOT) if full.startswith(ROOT) else path


def repeat_files(ms: MoleculeSet, repeats: dict[str, int]) -> MoleculeSet:
    """`ms` with the molecules of each source file listed K times ({source name: K}), so they
    weigh K times as much per epoch; the order of first occurrences is kept."""
    if not repeats:
        return ms
    missing = set(repeats) - set(np.unique(ms.source).tolist())
    if missing:
        raise ValueError(f"--repeat names files that hold no training molecules: {sorted(missing)}")
    k = np.ones(len(ms), dtype=np.int64)
    for src, times in repeats.items():
        k[ms.source == src] = times
    return ms.subset(np.repeat(np.arange(len(ms)), k))


def load_npz(path: str) -> MoleculeSet:
    """A QM9-format file (``qm9_index``) or a named beyond-QM9 file (``name``, ``charge``)."""
    with np.load(path, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}                   # each array once
    named = "qm9_index" not in d
    key = named_key(d["name"]) if named else d["qm9_index"].astype(np.int64)
    m = len(key)
    total_charge = d["charge"].astype(np.float64) if named else None
    quad = d["quadrupole_com"] if "quadrupole_com" in d else np.full((m, 3, 3), np.nan)
    position = d["position"].astype(np.int64) if "position" in d else np.full(m, -1, np.int64)
    name = source_name(path)
    charges = d["charges"].astype(np.float64) if "charges" in d else None
    adip = d["atomic_dipoles"].astype(np.float64) if "atomic_dipoles" in d else None
    return MoleculeSet(key, position, d["atom_count"].astype(np.int64),
                       d["z"].astype(np.int64), d["pos"].astype(np.float64),
                       d["dipole"].astype(np.float64), np.asarray(quad, dtype=np.float64),
                       np.full(m, name), charges, adip, None, total_charge,
                       SurfaceMEP.from_arrays(d) if "iso_esp" in d else None)


def concat(sets: list[MoleculeSet]) -> MoleculeSet:
    if len(sets) == 1:
        return sets[0]
    cat = np.concatenate

    def optional(attr, shape, per_atom=True):        # NaN where a file lacks the key
        if all(getattr(s, attr) is None for s in sets):
            return None
        return cat([getattr(s, attr) if getattr(s, attr) is not None
                    else np.full((len(s.z) if per_atom else len(s),) + shape, np.nan) for s in sets])
    return MoleculeSet(cat([s.qm9_index for s in sets]), cat([s.position for s in sets]),
                       cat([s.atom_count for s in sets]), cat([s.z for s in sets]),
                       cat([s.pos for s in sets]), cat([s.dipole for s in sets]),
                       cat([s.quadrupole for s in sets]), cat([s.source for s in sets]),
                       optional("charges", ()), optional("atomic_dipoles", (3,)),
                       optional("dipole_norm", (), per_atom=False),
                       None if all(s.total_charge is None for s in sets) else
                       cat([np.zeros(len(s)) if s.total_charge is None else s.total_charge for s in sets]),
                       None if all(s.surface is None for s in sets) else
                       SurfaceMEP.concat([SurfaceMEP.empty(len(s)) if s.surface is None else s.surface for s in sets]))


def load_files(paths, dedupe: bool = True) -> MoleculeSet:
    """Concatenate files; with `dedupe` keep the first occurrence of each QM9 index."""
    paths = list(paths)
    if not paths:
        raise FileNotFoundError("no data files given")
    ms = concat([load_npz(p) for p in paths])
    if dedupe:
        _, first = np.unique(ms.qm9_index, return_index=True)
        if len(first) < len(ms):
            ms = ms.subset(np.sort(first))
    ok = np.isfinite(ms.dipole).all(1) & np.isfinite(ms.quadrupole).all((1, 2))
    if ms.dipole_norm is not None:                    # |μ|-only molecules (QM9's own |μ|)
        ok |= np.isfinite(ms.dipole_norm)
    if not ok.all():
        ms = ms.mask(ok)
    return ms


def dft_files(root: str = ROOT) -> list[str]:
    """DFT training files: data/qm9/train.npz plus data/qm9/train_dft_*.npz shards."""
    base = os.path.join(root, "data", "qm9")
    files = [os.path.join(base, "train.npz")] + sorted(glob.glob(os.path.join(base, "train_dft_*.npz")))
    return [f for f in files if os.path.exists(f)]


def xtb_files(root: str = ROOT) -> list[str]:
    return sorted(glob.glob(os.path.join(root, "data", "xtb", "*.npz")))


def file_digest(path: str, full: bool = False) -> str:
    """SHA-256 of a file (mepviz.ml.cards.file_sha256): the first 16 hex digits, or all 64 with `full`."""
    digest = file_sha256(path)
    return digest if full else digest[:16]


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def validation_mask(qm9_index, fraction: float = 0.1, seed: int = 0) -> np.ndarray:
    """True for molecules in the validation split (seeded hash of the QM9 index)."""
    q = np.asarray(qm9_index, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(q ^ _splitmix64(np.array([seed], dtype=np.uint64))[0])
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53) < fraction


def excluded_indices(root: str = ROOT, with_reserved: bool = True) -> set[int]:
    """Keys that must never be trained on: QM9's test split (+ reserved positions 0–99) and
    the named molecules of the beyond-QM9 test sets."""
    out: set[int] = set()
    for path in glob.glob(os.path.join(root, "data", "newchem", "*.npz")):
        if not os.path.basename(path).startswith("train_"):
            with np.load(path, allow_pickle=False) as d:
                out |= set(named_key(d["name"]).tolist())
    test = os.path.join(root, "data", "qm9", "test.npz")
    if os.path.exists(test):
        out |= set(np.load(test, allow_pickle=False)["qm9_index"].astype(int).tolist())
    if with_reserved:
        try:
            from train import qm9
            rows = qm9.permutation()[:200]
            out |= set(qm9.table()["Index"].to_numpy()[rows].astype(int).tolist())
        except Exception:   # qm9pack missing: test.npz alone still guards the test split
            pass
    return out


def fill_positions(ms: MoleculeSet) -> None:
    """Fill unknown permutation positions from the QM9 table (in place; best effort)."""
    missing = ms.position < 0
    if not missing.any():
        return
    try:
        from train import qm9
        index = qm9.table()["Index"].to_numpy()
        inv = np.empty(qm9.N_QM9, dtype=np.int64)
        inv[qm9.permutation()] = np.arange(qm9.N_QM9)
        row_of = {int(v): r for r, v in enumerate(index)}
        ms.position[missing] = [inv[row_of[int(q)]] if int(q) in row_of else -1
                                for q in ms.qm9_index[missing]]
    except Exception:
        pass


def training_data(files, val_fraction: float = 0.1, seed: int = 0, root: str = ROOT,
                  max_molecules: int | None = None):
    """(train, val) MoleculeSets from `files`, excluding test/reserved molecules."""
    ms = load_files(files)
    bad = excluded_indices(root)
    keep = ~np.isin(ms.qm9_index, np.array(sorted(bad), dtype=np.int64))
    ms = ms.mask(keep)
    if max_molecules and max_molecules < len(ms):
        # a seeded random subset (files are sorted by QM9 index, which correlates with size)
        pick = np.sort(np.random.default_rng([seed, 12345]).permutation(len(ms))[:max_molecules])
        ms = ms.subset(pick)
    fill_positions(ms)
    val = validation_mask(ms.qm9_index, val_fraction, seed)
    return ms.mask(~val), ms.mask(val)


def qm9_magnitude_set(n: int | None, seed: int = 0, val_fraction: float = 0.1,
                      exclude=(), path: str | None = None) -> MoleculeSet:
    """QM9 molecules with only QM9's own |μ| as target (``dipole_norm``, e·Å; vector μ and Θ
    NaN), from permutation positions ≥ 200 only (never the reserved 0–99 or the test split
    100–199), minus validation-split molecules and the QM9 indices in `exclude` (e.g. the
    DFT-labelled ones). `n`: a seeded random subset of that size (None: all, ~117k)."""
    from train import qm9
    from mepviz.units import DEBYE_PER_E_ANGSTROM
    with np.load(path or qm9.geometries(), allow_pickle=False) as d:
        g = {k: d[k] for k in d.files}
    keep = (g["position"] >= qm9.FIRST_TRAIN_POSITION) & ~validation_mask(g["qm9_index"], val_fraction, seed)
    keep &= ~np.isin(g["qm9_index"], np.asarray(sorted(set(int(x) for x in exclude)), dtype=np.int64))
    keep &= ~np.isin(g["qm9_index"], np.asarray(sorted(excluded_indices()), dtype=np.int64))
    idx = np.flatnonzero(keep)
    if n is not None and n < len(idx):
        idx = np.sort(np.random.default_rng([seed, 4242]).permutation(idx)[:n])
    m = len(g["qm9_index"])
    full = MoleculeSet(g["qm9_index"], g["position"], g["atom_count"].astype(np.int64),
                       g["z"].astype(np.int64), g["pos"], np.full((m, 3), np.nan), np.full((m, 3, 3), np.nan),
                       np.full(m, "qm9pack:Dipole_debye"), None, None,
                       g["dipole_debye"] / DEBYE_PER_E_ANGSTROM)
    return full.subset(idx)
