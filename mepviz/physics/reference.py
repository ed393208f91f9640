"""The DFT reference engine (PySCF): the one PySCF code path of MEPviz.

Level of theory by default: B3LYP/6-31G(2df,p) with density fitting, grids.level = 1,
conv_tol = 1e-8, i.e. exactly the recipe of the reference data (data/README.md):

- RKS for closed shells, UKS when ``molecule.multiplicity > 1``; charge from the molecule.
- Moments from ``int1e_r`` / ``int1e_rr`` with the common origin at (0, 0, 0): nuclei minus
  electrons, converted to e·Å and e·Å².
- MEP at points: nuclear term minus the electronic term computed from exact three-centre
  integrals ``df.incore.aux_e2(mol, gto.fakemol_for_charges(points))`` contracted with the
  density matrix (no fitting), in chunks; returned in kcal/mol/e.

Results are cached on disk (``MEPVIZ_CACHE`` or ``~/.cache/mepviz/reference``), keyed by
geometry + charge + multiplicity + method + basis + grid level + density fitting, in the
format of :meth:`ReferenceResult.save` (the density matrix and the molecule, so every
observable can be rebuilt without repeating the SCF). Every cached file carries the
molecule's key and a content hash of its arrays (written after them) and is validated when
read (:meth:`ReferenceResult.load`: key, hash, schema, shapes, finite values, molecule and
settings); an invalid one — no key, another molecule's key, a hash that does not match, an
edited value — is discarded with a warning and recomputed. The cache is capped at ``MEPVIZ_CACHE_MAX_MB``
(default 2000 MB): the least recently used files are evicted. Writes are atomic (temporary
file + ``os.replace``) and an ``fcntl`` lock per key (removed after use) makes concurrent
processes compute a molecule once: the second one waits and reads the first one's result.

    >>> engine = ReferenceEngine()
    >>> result = engine.run(molecule, progress=lambda f, msg: print(f, msg), time_budget_s=60)
    >>> result.dipole, result.quadrupole, result.mep(points)
"""
from __future__ import annotations

import fcntl
import hashlib
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

try:
    import pyscf
    from pyscf import df, dft, gto, lib
    from pyscf.dft import numint
except ImportError as exc:      # pragma: no cover - installed with the [dft] extra
    raise ImportError("the DFT reference needs PySCF: pip install 'mepviz[dft]'") from exc

from ..core.elements import center_of_mass, symbol
from ..core.molecule import Molecule, MoleculeInputError
from ..core.paths import HASH_FIELD, atomic_write, content_hash  # noqa: F401  (atomic_write re-exported)
from ..core.registry import DFT_HEAVY_BASIS, DFT_HEAVY_ELEMENTS
from ..core.units import BOHR_ANGSTROM, HARTREE_TO_KCAL_MOL
from ..surface.surfaces import mesh_from_grid, promolecular_density
from . import domain
from .electrostatics import shift_second_moment, traceless

__all__ = ["ReferenceEngine", "ReferenceResult", "ReferenceTimeout", "ReferenceError",
           "InvalidReferenceFile", "default_cache_dir", "cache_max_bytes", "CACHE_FORMAT_VERSION",
           "basis_for", "basis_label"]

#: bumped when the saved .npz layout changes (old files are then recomputed)
CACHE_FORMAT_VERSION = 1
#: default cache size cap (MB) when MEPVIZ_CACHE_MAX_MB is not set
DEFAULT_CACHE_MAX_MB = 2000

Progress = Callable[[float, str], None]


class ReferenceError(RuntimeError):
    """The DFT reference calculation failed (no SCF convergence, unsupported input...)."""


class ReferenceTimeout(ReferenceError):
    """The calculation would exceed, or did exceed, the caller's time budget.

    ``estimate_s`` is the engine's up-front estimate (seconds), ``elapsed_s`` the time spent
    when the calculation was stopped (0 when it was refused before starting).
    """

    def __init__(self, message: str, estimate_s: float = float("nan"), elapsed_s: float = 0.0):
        super().__init__(message)
        self.estimate_s = estimate_s
        self.elapsed_s = elapsed_s


class InvalidReferenceFile(ValueError):
    """A saved reference result is unreadable, incomplete, inconsistent or for another
    molecule / level of theory."""


def cache_max_bytes() -> int:
    """The cache size cap: ``$MEPVIZ_CACHE_MAX_MB`` (default 2000) in bytes."""
    try:
        mb = float(os.environ.get("MEPVIZ_CACHE_MAX_MB", DEFAULT_CACHE_MAX_MB))
    except ValueError:
        mb = DEFAULT_CACHE_MAX_MB
    return int(max(mb, 0.0) * 1e6)


def default_cache_dir() -> str:
    """``$MEPVIZ_CACHE`` if set, else ``~/.cache/mepviz/reference``."""
    env = os.environ.get("MEPVIZ_CACHE")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.expanduser("~"), ".cache", "mepviz", "reference")


def _pyscf_version() -> str:
    return pyscf.__version__


def basis_for(numbers, basis: str) -> tuple[dict, dict]:
    """PySCF (basis, ecp) dicts for a molecule: `basis` for every element, except Br and I
    (``registry.DFT_HEAVY_ELEMENTS``), which 6-31G(2df,p) does not cover: they take
    ``registry.DFT_HEAVY_BASIS`` (def2-TZVP; for I with its 28-electron def2 ECP)."""
    heavy = sorted({symbol(z) for z in numbers if int(z) in DFT_HEAVY_ELEMENTS})
    basis_dict = {"default": basis, **{s: DFT_HEAVY_BASIS for s in heavy}}
    ecp = {s: DFT_HEAVY_BASIS for s in heavy if s == "I"}
    return basis_dict, ecp


def basis_label(numbers, basis: str) -> str:
    """The basis as stated in results and cache keys, e.g. '6-31g(2df,p)+def2-tzvp(Br,I)'."""
    heavy = [symbol(z) for z in DFT_HEAVY_ELEMENTS if z in set(int(x) for x in numbers)]
    return basis + (f"+{DFT_HEAVY_BASIS}({','.join(heavy)})" if heavy else "")


def _build_pyscf_mol(numbers, positions, charge: int, multiplicity: int, basis: str,
                     max_memory_mb: float):
    """A built pyscf ``Mole`` (Å input, spherical basis, PySCF defaults otherwise); Br and I
    get the heavy-element basis of :func:`basis_for`."""
    pmol = gto.Mole()
    pmol.atom = [(int(z), tuple(float(c) for c in xyz)) for z, xyz in zip(numbers, positions)]
    pmol.unit = "Angstrom"
    pmol.basis, pmol.ecp = basis_for(numbers, basis)
    pmol.charge = int(charge)
    pmol.spin = int(multiplicity) - 1
    pmol.verbose = 0
    pmol.max_memory = max_memory_mb
    try:
        pmol.build()
    except (RuntimeError, KeyError, ValueError) as exc:   # unknown basis for an element, bad spin
        raise MoleculeInputError(f"cannot set up the DFT reference ({basis}): {exc}") from None
    return pmol


# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------

@dataclass(eq=False)
class ReferenceResult:
    """A converged reference calculation.

    Units: energy hartree; dipole e·Å and second_moment e·Å² about the coordinate origin
    (0, 0, 0) (raw, nuclei minus electrons); center_of_mass Å; quadrupole the traceless
    Buckingham tensor about the centre of mass, e·Å² (for ions the origin shift includes
    the charge term). ``dipole_about`` / ``quadrupole_about`` give any other origin.
    """

    molecule: Molecule
    method: str
    basis: str
    energy: float
    dipole: np.ndarray
    second_moment: np.ndarray
    center_of_mass: np.ndarray
    quadrupole: np.ndarray
    wall_time: float                     # seconds spent computing (SCF + moments), not loading
    converged: bool = True
    scf_cycles: int = 0
    s2: float | None = None              # <S^2> for open shells
    from_cache: bool = False
    grid_level: int = 1
    density_fit: bool = True
    pyscf_version: str = ""
    dm: np.ndarray = field(default=None, repr=False)      # total (alpha+beta) AO density matrix
    _pmol: object = field(default=None, repr=False)

    # -- moments about other origins ------------------------------------------------------
    @property
    def charge(self) -> int:
        return self.molecule.charge

    def dipole_about(self, origin) -> np.ndarray:
        """Dipole (e·Å) about `origin` (Å): μ(o) = μ(0) − Q o."""
        return self.dipole - self.charge * np.asarray(origin, float)

    def second_moment_about(self, origin) -> np.ndarray:
        return shift_second_moment(self.second_moment, self.dipole, origin, total_charge=self.charge)

    def quadrupole_about(self, origin) -> np.ndarray:
        """Traceless Buckingham quadrupole (e·Å²) about `origin` (Å)."""
        return traceless(self.second_moment_about(origin))

    @property
    def dipole_com(self) -> np.ndarray:
        return self.dipole_about(self.center_of_mass)

    # -- fields ---------------------------------------------------------------------------
    @property
    def pyscf_mol(self):
        if self._pmol is None:
            self._pmol = _build_pyscf_mol(self.molecule.numbers, self.molecule.positions,
                                          self.molecule.charge, self.molecule.multiplicity,
                                          self.basis, 4000)
        return self._pmol

    def mep(self, points, chunk_mb: float = 200.0) -> np.ndarray:
        """Electrostatic potential (kcal/mol/e) of nuclei + electrons at `points` (Å, (P, 3)).

        Nuclear term minus the electronic term from exact three-centre integrals
        (``aux_e2`` with ``fakemol_for_charges``), evaluated in chunks of points so the
        integral buffer stays under about `chunk_mb` MB.
        """
        pmol = self.pyscf_mol
        pts = np.asarray(points, float).reshape(-1, 3) / BOHR_ANGSTROM
        out = np.empty(len(pts))
        if len(pts) == 0:
            return out
        coords = pmol.atom_coords()                      # bohr
        charges = pmol.atom_charges().astype(float)
        nao = pmol.nao_nr()
        dm_tril = lib.pack_tril(self.dm + self.dm.T - np.diag(np.diag(self.dm)))
        npair = nao * (nao + 1) // 2
        chunk = max(1, int(chunk_mb * 1e6 / (8.0 * npair)))
        for s in range(0, len(pts), chunk):
            p = pts[s:s + chunk]
            dist = np.linalg.norm(p[:, None, :] - coords[None, :, :], axis=2)
            v_nuc = (charges[None, :] / dist).sum(1)
            fakemol = gto.fakemol_for_charges(p)
            ints = df.incore.aux_e2(pmol, fakemol, aosym="s2ij")      # (npair, P)
            v_ele = dm_tril @ ints
            out[s:s + chunk] = v_nuc - v_ele
        return out * HARTREE_TO_KCAL_MOL

    def density(self, points, chunk: int = 20000) -> np.ndarray:
        """Electron density (e/bohr³) at `points` (Å)."""
        pmol = self.pyscf_mol
        pts = np.asarray(points, float).reshape(-1, 3) / BOHR_ANGSTROM
        out = np.empty(len(pts))
        for s in range(0, len(pts), chunk):
            ao = numint.eval_ao(pmol, pts[s:s + chunk], deriv=0)
            out[s:s + chunk] = numint.eval_rho(pmol, ao, self.dm, xctype="LDA")
        return out

    def density_grid(self, spacing: float = 0.2, padding: float = 4.0, band: tuple | None = None):
        """The density (e/bohr³) on a regular grid around the molecule: (values (nx,ny,nz), origin Å).

        With `band` = (lo, hi), the DFT density is evaluated only at grid points where the
        promolecular density lies in [lo, hi]; elsewhere the promolecular value stands in. Marching
        cubes at a level well inside the band then gives exactly the full-grid surface, at a
        fraction of the cost (the grid points far inside or outside the surface are skipped).
        """
        pos = self.molecule.positions
        lo = pos.min(0) - padding
        hi = pos.max(0) + padding
        shape = np.ceil((hi - lo) / spacing).astype(int) + 1
        axes = [lo[i] + spacing * np.arange(shape[i]) for i in range(3)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        if band is None:
            return self.density(grid).reshape(tuple(shape)), lo
        values = promolecular_density(self.molecule.numbers, pos, grid)
        near = (values >= band[0]) & (values <= band[1])
        values[near] = self.density(grid[near])
        return values.reshape(tuple(shape)), lo

    #: the DFT density is evaluated where the promolecular density is within this factor of the
    #: isovalue (DFT/promolecular density ratios near the surface stay well inside it)
    SURFACE_BAND = 20.0

    def density_isosurface(self, isovalue: float = 0.001, spacing: float = 0.2,
                           padding: float | None = None):
        """The ρ = `isovalue` (e/bohr³) isodensity surface of the DFT density (marching cubes;
        DFT density evaluated on the grid points near the surface, see `density_grid`).

        Returns the :class:`mepviz.surfaces.Surface` of ``mesh_from_grid``.
        """
        if padding is None:
            # the 0.001 surface lies ~1.2-1.5 x vdW radius from the nuclei; anions reach further
            padding = 4.0 + (1.5 if self.charge < 0 else 0.0)
        values, origin = self.density_grid(spacing=spacing, padding=padding,
                                           band=(isovalue / self.SURFACE_BAND, isovalue * self.SURFACE_BAND))
        return mesh_from_grid(values, origin, spacing, isovalue)

    # -- files ----------------------------------------------------------------------------
    def save(self, path, compact: bool = False, extra: dict | None = None) -> None:
        """Write this result as ``.npz``, atomically. `compact`: the density matrix as its
        float32 lower triangle, compressed (the gallery's format; MEP error ≲ 1e-4 kcal/mol/e).
        `extra`: more arrays to store (e.g. precomputed surface values); load ignores them."""
        m = self.molecule
        payload = dict(
            format_version=np.int64(CACHE_FORMAT_VERSION), key=np.str_(m.key()),
            numbers=m.numbers, positions=m.positions, charge=np.int64(m.charge),
            multiplicity=np.int64(m.multiplicity), method=np.str_(self.method), basis=np.str_(self.basis),
            grid_level=np.int64(self.grid_level), density_fit=np.bool_(self.density_fit),
            energy=np.float64(self.energy), dipole=self.dipole, second_moment=self.second_moment,
            center_of_mass=self.center_of_mass, quadrupole=self.quadrupole,
            wall_time=np.float64(self.wall_time), converged=np.bool_(self.converged),
            scf_cycles=np.int64(self.scf_cycles), s2=np.float64(np.nan if self.s2 is None else self.s2),
            pyscf_version=np.str_(self.pyscf_version), **(extra or {}))
        dm = np.asarray(self.dm, float)
        if compact:
            payload.update(nao=np.int64(dm.shape[0]), dm_tril=dm[np.tril_indices(dm.shape[0])].astype(np.float32))
        else:
            payload.update(dm=dm)
        payload[HASH_FIELD] = np.str_(content_hash(payload))      # written after the arrays
        save = np.savez_compressed if compact else np.savez
        atomic_write(str(path), lambda fh: save(fh, **payload))

    @classmethod
    def load(cls, path, molecule: Molecule | None = None, *, method: str | None = None,
             basis: str | None = None, grid_level: int | None = None,
             density_fit: bool | None = None, require_integrity: bool = False) -> "ReferenceResult":
        """Read a result written by :meth:`save`, validating it: schema, shapes, finite values,
        the molecule (when given: its key must match; else rebuilt from the file), any settings
        given, and the content hash when the file has one. `require_integrity` (the disk cache):
        the molecule's key and the content hash must be there. Raises
        :class:`InvalidReferenceFile` with the reason."""
        try:
            with np.load(path, allow_pickle=False) as d:
                data = {k: d[k] for k in d.files}
        except FileNotFoundError:
            raise
        except Exception as exc:     # truncated / not a zip / foreign file
            raise InvalidReferenceFile(f"{os.path.basename(str(path))} is unreadable "
                                       f"({type(exc).__name__}: {exc})") from None
        return cls._from_arrays(data, molecule, dict(method=method, basis=basis, grid_level=grid_level,
                                                     density_fit=density_fit), str(path), require_integrity)

    @classmethod
    def _from_arrays(cls, d: dict, molecule, settings: dict, label: str,
                     require_integrity: bool = False) -> "ReferenceResult":
        def bad(why):
            return InvalidReferenceFile(f"{os.path.basename(label)}: {why}")

        if require_integrity:
            if "key" not in d:
                raise bad("it does not say which molecule it belongs to (no key)")
            if HASH_FIELD not in d:
                raise bad("it has no content hash (written by an older MEPviz, or cut short)")

        need = ("method", "basis", "energy", "dipole", "second_moment", "center_of_mass", "quadrupole")
        missing = [k for k in need if k not in d] + ([] if "dm" in d or "dm_tril" in d else ["dm"])
        if missing:
            raise bad(f"missing {', '.join(missing)}")
        if "format_version" in d and int(d["format_version"]) != CACHE_FORMAT_VERSION:
            raise bad(f"format version {int(d['format_version'])}, expected {CACHE_FORMAT_VERSION}")
        if molecule is None:
            if "numbers" not in d or "positions" not in d:
                raise bad("no molecule stored and none given")
            molecule = Molecule(d["numbers"], d["positions"], int(d.get("charge", 0)),
                                int(d.get("multiplicity", 1)))
        if "key" in d and str(d["key"]) != molecule.key():
            raise bad("it belongs to another molecule (geometry, charge or multiplicity)")
        for name, want in settings.items():
            if want is None:
                continue
            have = d.get(name)
            if have is None or (str(have) if isinstance(want, str) else type(want)(have)) != want:
                raise bad(f"{name} {have} differs from the requested {want}")
        if "dm" in d:
            dm = np.asarray(d["dm"], float)
        else:
            nao = int(d.get("nao", -1))
            tril = np.asarray(d["dm_tril"], float).ravel()
            if nao <= 0 or tril.size != nao * (nao + 1) // 2:
                raise bad("packed density matrix has the wrong length")
            dm = lib.unpack_tril(tril)
        shapes = {"dipole": (3,), "second_moment": (3, 3), "center_of_mass": (3,), "quadrupole": (3, 3)}
        for k, shape in shapes.items():
            if np.shape(d[k]) != shape:
                raise bad(f"{k} has shape {np.shape(d[k])}, expected {shape}")
        if dm.ndim != 2 or dm.shape[0] != dm.shape[1] or dm.shape[0] == 0:
            raise bad(f"density matrix has shape {dm.shape}")
        arrays = [d[k] for k in shapes] + [dm, np.asarray(float(d["energy"]))]
        if not all(np.all(np.isfinite(np.asarray(a, float))) for a in arrays):
            raise bad("it holds non-finite numbers")
        if not np.allclose(dm, dm.T, atol=1e-6):
            raise bad("density matrix is not symmetric")
        if HASH_FIELD in d and str(d[HASH_FIELD]) != content_hash(d):
            raise bad("its content does not match its hash (edited or damaged)")
        s2 = float(d["s2"]) if "s2" in d else float("nan")
        return cls(
            molecule=molecule, method=str(d["method"]), basis=str(d["basis"]), energy=float(d["energy"]),
            dipole=np.array(d["dipole"], float), second_moment=np.array(d["second_moment"], float),
            center_of_mass=np.array(d["center_of_mass"], float), quadrupole=np.array(d["quadrupole"], float),
            wall_time=float(d.get("wall_time", 0.0)), converged=bool(d.get("converged", True)),
            scf_cycles=int(d.get("scf_cycles", 0)), s2=None if math.isnan(s2) else s2, from_cache=True,
            grid_level=int(d.get("grid_level", 1)), density_fit=bool(d.get("density_fit", True)),
            pyscf_version=str(d.get("pyscf_version", "")), dm=dm)

    def summary(self) -> dict:
        return {"method": self.method, "basis": basis_label(self.molecule.numbers, self.basis),
                "energy_hartree": self.energy,
                "dipole_e_angstrom": self.dipole.tolist(),
                "quadrupole_com_e_angstrom2": self.quadrupole.tolist(),
                "wall_time_s": self.wall_time, "from_cache": self.from_cache,
                "converged": self.converged, "scf_cycles": self.scf_cycles}


# ---------------------------------------------------------------------------------------
# engine
# ---------------------------------------------------------------------------------------


class ReferenceEngine:
    """PySCF DFT reference calculations with progress, time budget and a disk cache.

    ``cache_dir=None`` uses :func:`default_cache_dir`; ``cache_dir=False`` disables the cache.
    """

    #: seconds per (nao/100)^3 and per atom (grid work) on one core of the development
    #: machine, B3LYP/6-31G(2df,p) + DF, grid level 1; calibrated on QM9 molecules
    #: (10 atoms, nao 239: 10.5 s; 27 atoms, nao 324: 28 s). See `estimate_seconds`.
    _CUBIC_S = 0.3
    _PER_ATOM_S = 0.85
    _OVERHEAD_S = 0.5
    #: refuse up front when the estimate exceeds the budget by this factor
    REFUSE_FACTOR = 2.0

    def __init__(self, method: str = "b3lyp", basis: str = "6-31g(2df,p)", density_fit: bool = True,
                 grid_level: int = 1, conv_tol: float = 1e-8, cache_dir=None,
                 max_memory_mb: float = 4000, max_cycle: int = 100, device: str = "cpu"):
        self.method = str(method).lower()
        self.basis = str(basis).lower()
        self.density_fit = bool(density_fit)
        self.grid_level = int(grid_level)
        self.conv_tol = float(conv_tol)
        self.max_memory_mb = float(max_memory_mb)
        self.max_cycle = int(max_cycle)
        if device not in ("cpu", "gpu"):
            raise ValueError("device must be 'cpu' or 'gpu'")
        self.device = device
        if cache_dir is False:
            self.cache_dir = None
        else:
            self.cache_dir = os.path.abspath(cache_dir) if cache_dir is not None else default_cache_dir()
        self.compute_count = 0          # SCF calculations actually run by this engine object

    def __repr__(self):
        return (f"ReferenceEngine({self.method}/{self.basis}, density_fit={self.density_fit}, "
                f"grid_level={self.grid_level}, conv_tol={self.conv_tol:g}, cache_dir={self.cache_dir!r})")

    # -- bookkeeping ----------------------------------------------------------------------
    @property
    def level(self) -> str:
        return f"{self.method}/{self.basis}" + ("/df" if self.density_fit else "") + f"/grid{self.grid_level}"

    def cache_key(self, mol: Molecule) -> str:
        h = hashlib.sha256()
        h.update(f"{mol.key()}|{self.method}|{basis_label(mol.numbers, self.basis)}|grid={self.grid_level}|df={self.density_fit}"
                 f"|v{CACHE_FORMAT_VERSION}".encode())
        return h.hexdigest()[:32]

    def cache_path(self, mol: Molecule) -> str | None:
        if self.cache_dir is None:
            return None
        return os.path.join(self.cache_dir, self.cache_key(mol) + ".npz")

    def basis_size(self, mol: Molecule) -> int:
        """Number of (spherical) basis functions of `mol` in the engine's basis."""
        self._validate(mol)
        return _build_pyscf_mol(mol.numbers, mol.positions, mol.charge, mol.multiplicity,
                                self.basis, self.max_memory_mb).nao_nr()

    def estimate_seconds(self, mol: Molecule) -> float:
        """Rough wall-time estimate (s) for one calculation on this machine.

        t ≈ a (nao/100)³ + b N_atoms + c, calibrated roughly on one core of the development
        machine for B3LYP/DF/grid 1 (a QM9 molecule, nao ≈ 240–330: ≈ 10–30 s); divided
        by the OpenMP threads at half efficiency, ×1.6 for open shells. Errs on the high
        side; meant for refusing clearly hopeless requests, not for scheduling.
        """
        nao = self.basis_size(mol)
        t = self._CUBIC_S * (nao / 100.0) ** 3 + self._PER_ATOM_S * mol.n_atoms * (1 + max(self.grid_level, 0)) / 2
        if not self.density_fit:
            t *= 3.0 + nao / 100.0
        if mol.multiplicity > 1:
            t *= 1.6
        if self.device == "gpu":
            t /= 10.0
        try:
            threads = max(1, lib.num_threads())
        except Exception:       # pragma: no cover
            threads = 1
        t /= 1 + 0.5 * (threads - 1)
        return float(t + self._OVERHEAD_S)

    @staticmethod
    def _validate(mol: Molecule):
        """The plausibility gate (:func:`mepviz.physics.domain.check`): :class:`Meaningless`
        (a MoleculeInputError) for no atoms, non-finite positions, impossible electrons or
        multiplicity, charges beyond ``registry.DFT_CHARGES``."""
        domain.check(mol, multipoles=False)

    # -- public entry point ---------------------------------------------------------------
    def run(self, mol: Molecule, progress: Progress | None = None,
            time_budget_s: float | None = None, cpu_time: bool = False) -> ReferenceResult:
        """Compute (or load from cache) the reference for `mol`.

        `progress(fraction, message)` is called with fraction in [0, 1] (once per SCF
        cycle; raising from it cancels the run, the exception propagates). With a
        `time_budget_s`, a calculation whose estimate exceeds ``REFUSE_FACTOR`` × budget
        is refused before starting, and a running one is stopped at the next SCF cycle
        once the budget is spent; both raise :class:`ReferenceTimeout`. `cpu_time`: the
        budget counts the CPU time this process was given (all its threads), not the wall
        time, so a busy machine does not use it up.
        """
        t_start = time.monotonic()
        clock = time.process_time if cpu_time else time.monotonic
        budget = _Budget(clock, clock(), time_budget_s, "CPU time" if cpu_time else "time")
        report = _Reporter(progress)
        self._validate(mol)
        path = self.cache_path(mol)
        if path is not None:
            cached = self.cached(mol)
            if cached is not None:
                report(1.0, "loaded from cache")
                return cached
        estimate = self.estimate_seconds(mol)
        if time_budget_s is not None and estimate > self.REFUSE_FACTOR * time_budget_s:
            raise ReferenceTimeout(
                f"the DFT reference for {mol.formula or 'this molecule'} ({mol.n_atoms} atoms, "
                f"{self.level}) would take about {_fmt_s(estimate)}, over the time budget of "
                f"{_fmt_s(time_budget_s)}{' of CPU time' if cpu_time else ''}", estimate_s=estimate, elapsed_s=0.0)
        if path is None:
            return self._compute(mol, report, budget, estimate)

        os.makedirs(self.cache_dir, exist_ok=True)
        with _FileLock(path + ".lock", report, t_start, time_budget_s, estimate):
            cached = self.cached(mol)       # another process may have finished meanwhile
            if cached is not None:
                report(1.0, "loaded from cache (computed by another process)")
                return cached
            result = self._compute(mol, report, budget, estimate)
            self._store(mol, result)
        return result

    # -- computation ----------------------------------------------------------------------
    def _make_mf(self, pmol, open_shell: bool):
        if self.device == "gpu":
            try:
                from gpu4pyscf import dft as gdft   # optional, never required
            except ImportError as exc:
                raise ReferenceError("device='gpu' needs the optional package gpu4pyscf") from exc
            mf = (gdft.UKS if open_shell else gdft.RKS)(pmol, xc=self.method)
        else:
            mf = (dft.UKS if open_shell else dft.RKS)(pmol, xc=self.method)
        if self.density_fit:
            mf = mf.density_fit()
        mf.grids.level = self.grid_level
        mf.conv_tol = self.conv_tol
        mf.max_cycle = self.max_cycle
        mf.max_memory = self.max_memory_mb
        mf.verbose = 0
        return mf

    def _compute(self, mol: Molecule, report: "_Reporter", budget: "_Budget", estimate: float) -> ReferenceResult:
        t0 = time.perf_counter()
        report(0.0, f"setting up {self.level} for {mol.formula} ({mol.n_atoms} atoms)")
        pmol = _build_pyscf_mol(mol.numbers, mol.positions, mol.charge, mol.multiplicity,
                                self.basis, self.max_memory_mb)
        open_shell = mol.multiplicity > 1
        mf = self._make_mf(pmol, open_shell)
        expected_cycles = 14

        def check_budget():
            elapsed = budget.clock() - budget.start
            if budget.seconds is not None and elapsed > budget.seconds:
                raise ReferenceTimeout(
                    f"the DFT reference for {mol.formula} was stopped after {_fmt_s(elapsed)} of {budget.what} "
                    f"({budget.what} budget {_fmt_s(budget.seconds)}; estimated {_fmt_s(estimate)})",
                    estimate_s=estimate, elapsed_s=elapsed)

        def callback(envs):
            cycle = int(envs.get("cycle", 0)) + 1
            e_tot = _as_float(envs.get("e_tot", np.nan))
            de = e_tot - _as_float(envs.get("last_hf_e", np.nan))
            frac = 0.1 + 0.8 * (1.0 - math.exp(-cycle / (expected_cycles / 2.5)))
            report(frac, f"SCF cycle {cycle}: E = {e_tot:.8f} Eh, ΔE = {de:.1e}")
            check_budget()

        mf.callback = callback
        report(0.05, f"initial guess and integrals (nao = {pmol.nao_nr()}, est. {_fmt_s(estimate)})")
        check_budget()
        mf.kernel()
        if not mf.converged:
            report(0.9, "SCF not converged; second-order solver")
            check_budget()
            mf2 = mf.newton()
            mf2.callback = callback
            mf2.kernel(mf.mo_coeff, mf.mo_occ)
            if not mf2.converged:
                raise ReferenceError(f"SCF did not converge for {mol.formula} ({self.level})")
            mf = mf2
        report(0.95, "moments")
        dm = mf.make_rdm1()
        if hasattr(dm, "get"):          # gpu4pyscf (cupy) arrays
            dm = dm.get()
        dm = np.asarray(dm)
        s2 = None
        if open_shell:
            s2 = float(mf.spin_square()[0]) if self.device == "cpu" else None
            dm = dm[0] + dm[1]
        dipole, second = _moments(pmol, dm)
        com = center_of_mass(mol.numbers, mol.positions)
        quad = traceless(shift_second_moment(second, dipole, com, total_charge=mol.charge))
        self.compute_count += 1
        result = ReferenceResult(
            molecule=mol, method=self.method, basis=self.basis, energy=float(mf.e_tot),
            dipole=dipole, second_moment=second, center_of_mass=com, quadrupole=quad,
            wall_time=time.perf_counter() - t0, converged=bool(mf.converged),
            scf_cycles=int(getattr(mf, "cycles", 0) or 0), s2=s2, from_cache=False,
            grid_level=self.grid_level, density_fit=self.density_fit,
            pyscf_version=_pyscf_version(), dm=dm, _pmol=pmol)
        report(1.0, f"done in {_fmt_s(result.wall_time)}")
        return result

    # -- cache ----------------------------------------------------------------------------
    def cached(self, mol: Molecule) -> ReferenceResult | None:
        """The cached result for `mol` at this engine's level, or None (never computes).
        An invalid cache file (truncated, edited, non-finite, for another molecule or level)
        is deleted, so the next :meth:`run` recomputes and overwrites it."""
        path = self.cache_path(mol)
        if path is None:
            return None
        try:
            result = ReferenceResult.load(path, mol, method=self.method, basis=self.basis,
                                          grid_level=self.grid_level, density_fit=self.density_fit,
                                          require_integrity=True)
        except FileNotFoundError:
            return None
        except InvalidReferenceFile as exc:
            warnings.warn(f"discarding an invalid reference cache file: {exc}", RuntimeWarning)
            try:
                os.unlink(path)
            except OSError:
                pass
            return None
        try:
            os.utime(path)              # mark as recently used (LRU eviction)
        except OSError:
            pass
        return result

    def _store(self, mol: Molecule, result: ReferenceResult) -> None:
        path = self.cache_path(mol)
        try:
            result.save(path)
        except OSError as exc:          # a full or vanished cache never costs the result
            warnings.warn(f"could not write the reference cache {path}: {exc}", RuntimeWarning)
            return
        evict(self.cache_dir, cache_max_bytes(), keep=path)


#: a temporary file of an interrupted write (a killed worker) older than this (s) is removed
STALE_TEMP_S = 3600.0


def evict(cache_dir: str, max_bytes: int, keep: str | None = None) -> list[str]:
    """Delete the least recently used ``.npz`` files of `cache_dir` until the total size is
    at most `max_bytes` (never `keep`), and the temporary files of writes interrupted more
    than ``STALE_TEMP_S`` ago; returns the deleted paths."""
    entries = []
    with os.scandir(cache_dir) as it:
        for e in it:
            if e.name.startswith(".tmp-") and e.is_file() and time.time() - e.stat().st_mtime > STALE_TEMP_S:
                try:
                    os.unlink(e.path)
                except OSError:
                    pass
            elif e.name.endswith(".npz") and e.is_file():
                st = e.stat()
                entries.append((st.st_mtime, st.st_size, e.path))
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        if keep is not None and os.path.abspath(path) == os.path.abspath(keep):
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed.append(path)
    return removed


def _as_float(x) -> float:
    """A Python float from a number, NumPy or CuPy (gpu4pyscf) scalar; NaN if it is unusable."""
    try:
        return float(x.get() if hasattr(x, "get") else x)
    except (TypeError, ValueError):
        return float("nan")


def _moments(pmol, dm):
    """Dipole (e·Å) and raw second moment (e·Å²) about (0,0,0): nuclei minus electrons."""
    charges = pmol.atom_charges().astype(float)
    coords = pmol.atom_coords()                                   # bohr
    with pmol.with_common_orig((0.0, 0.0, 0.0)):
        r = pmol.intor_symmetric("int1e_r", comp=3)
        rr = pmol.intor("int1e_rr", comp=9).reshape(3, 3, *dm.shape)
    mu = charges @ coords - np.einsum("xij,ji->x", r, dm)
    m2 = np.einsum("i,ia,ib->ab", charges, coords, coords) - np.einsum("xyij,ji->xy", rr, dm)
    m2 = 0.5 * (m2 + m2.T)
    return mu * BOHR_ANGSTROM, m2 * BOHR_ANGSTROM ** 2


@dataclass(frozen=True)
class _Budget:
    """A time budget: `seconds` (None: none) on `clock` from `start`; `what` it counts."""

    clock: Callable[[], float]
    start: float
    seconds: float | None
    what: str


class _Reporter:
    """Calls the user's progress callback with non-decreasing fractions in [0, 1].

    Exceptions raised by the callback propagate and abort the calculation (nothing is
    cached): that is how a caller cancels a running reference, e.g. when the user leaves.
    """

    def __init__(self, fn: Progress | None):
        self.fn = fn
        self.last = 0.0

    def __call__(self, fraction: float, message: str):
        if self.fn is None:
            return
        self.last = max(self.last, min(1.0, max(0.0, float(fraction))))
        self.fn(self.last, message)


class _FileLock:
    """Exclusive ``fcntl`` lock on `path`; waits (polling) and honours the time budget."""

    def __init__(self, path, report, t_start, time_budget_s, estimate):
        self.path, self.report = path, report
        self.t_start, self.budget, self.estimate = t_start, time_budget_s, estimate
        self.fh = None

    def __enter__(self):
        announced = False
        while True:
            self.fh = open(self.path, "a+")
            try:
                fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                if self._still_linked():
                    return self
                self.fh.close()            # the holder removed this lock file: take a fresh one
                continue
            except BlockingIOError:
                self.fh.close()
                if not announced:
                    self.report(0.02, "waiting: another process is computing this molecule")
                    announced = True
                elapsed = time.monotonic() - self.t_start
                if self.budget is not None and elapsed > self.budget:
                    raise ReferenceTimeout(
                        f"time budget of {_fmt_s(self.budget)} spent waiting for another process "
                        "computing the same molecule", estimate_s=self.estimate, elapsed_s=elapsed)
                time.sleep(0.2)

    def _still_linked(self) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(self.fh.fileno()).st_ino
        except FileNotFoundError:
            return False

    def __exit__(self, *exc):
        try:
            os.unlink(self.path)           # removed while still held: no stale .lock files
        except OSError:
            pass
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
        finally:
            self.fh.close()
        return False


def _fmt_s(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
