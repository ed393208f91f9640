"""Bring your own quantum chemistry: a wavefunction file → the molecule, its density and MEP.

- Molden files (any program: ORCA, Psi4, Molpro, PySCF, …) are read by PySCF
  (``pyscf.tools.molden.load``);
- Gaussian formatted checkpoints (``.fchk``) by IOData (``qc-iodata``), handed to PySCF
  through IOData's own Molden writer.

The density matrix is built from the orbitals and occupations the file holds (natural
orbitals of any method, or SCF orbitals); the MEP at any points comes from PySCF's exact
three-centre integrals, the density on a grid gives the ρ = 0.001 e/bohr³ surface — the same
code as the app's own DFT reference (:class:`mepviz.physics.reference.ReferenceResult`).

    ref = read_wavefunction(open("water.molden", "rb").read(), "water.molden")
    ref.molecule, ref.level, ref.notes
    surf = ref.isodensity_surface()           # of the file's density
    v = ref.mep(surf.vertices)                # kcal/mol/e

Every file is read through the project's bounded text reader (size limit, binary junk named);
anything that does not parse gets a :class:`MoleculeInputError` saying what is wrong.
Lengths Å, charges e, MEP kcal/mol/e, density e/bohr³.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field

import numpy as np
from iodata import dump_one, load_one
from pyscf.data.elements import charge as element_charge
from pyscf.tools import molden

from ..core.molecule import Molecule, MoleculeInputError
from ..core.units import BOHR_ANGSTROM
from ..physics.reference import ReferenceResult, _moments
from ..core.elements import center_of_mass
from ..physics.electrostatics import shift_second_moment, traceless
from .text import _check_text
from .validate import validate

#: file extensions of wavefunction files -> format
WAVEFUNCTION_EXTENSIONS = {".molden": "molden", ".molden.input": "molden", ".mold": "molden",
                           ".fchk": "fchk", ".fch": "fchk"}
#: the isodensity value of the MEP surface (e/bohr³)
ISOVALUE = 0.001


@dataclass(eq=False)
class UserReference:
    """A reference read from the user's file: the molecule, what the file says about its level
    of theory, and the density and MEP of its wavefunction (``result``, a ReferenceResult with
    the file's basis and density matrix)."""

    molecule: Molecule
    level: str
    source: str
    result: ReferenceResult
    notes: tuple = field(default=())

    @property
    def kind(self) -> str:
        return "wavefunction"

    def mep(self, points) -> np.ndarray:
        """MEP (kcal/mol/e) of nuclei + electrons at `points` (Å)."""
        return self.result.mep(points)

    def density(self, points) -> np.ndarray:
        return self.result.density(points)

    def isodensity_surface(self, isovalue: float = ISOVALUE, spacing: float = 0.2):
        """The ρ = `isovalue` surface of the file's density (marching cubes, Å)."""
        return self.result.density_isosurface(isovalue=isovalue, spacing=spacing)

    @property
    def dipole_com(self) -> np.ndarray:
        return self.result.dipole_com

    @property
    def quadrupole(self) -> np.ndarray:
        return self.result.quadrupole


def wavefunction_format(filename: str) -> str | None:
    """'molden' or 'fchk' from the file name, else None."""
    name = filename.lower()
    for ext, fmt in sorted(WAVEFUNCTION_EXTENSIONS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(ext):
            return fmt
    return None


def read_wavefunction(data: bytes | str, filename: str) -> UserReference:
    """The :class:`UserReference` of a Molden or .fchk file (`data`: its bytes or text)."""
    fmt = wavefunction_format(filename)
    if fmt is None:
        raise MoleculeInputError(f"{filename}: not a wavefunction file name (expected .molden or .fchk).")
    text = _check_text(data, filename)
    if fmt == "fchk":
        return _from_fchk(text, filename)
    return _from_molden(text, filename, level=None)


# --------------------------------------------------------------------------- Molden
def _molden_level(text: str) -> str:
    """What a Molden file says about where it came from: Molden has no field for the method;
    its [Title] section or the line after [Molden Format] often names the program."""
    m = re.search(r"^\s*\[Title\]\s*\n(.*?)\n", text, re.I | re.M)
    said = m.group(1).strip() if m else ""
    if not said:
        m = re.search(r"^\s*\[Molden Format\]\s*\n(?!\s*\[)(.*?)\n", text, re.I | re.M)
        said = m.group(1).strip() if m else ""
    return ("not stated (a Molden file has no field for the method)"
            + (f"; the file says: “{said[:80]}”" if said else ""))


def _check_molden(text: str, filename: str) -> None:
    head = text.lstrip()[:2000].lower()
    if "[molden format]" not in head and "[atoms]" not in text.lower():
        raise MoleculeInputError(f"{filename} is not a Molden file (no [Molden Format] or [Atoms] section).")
    low = text.lower()
    mo = low.find("[mo]")
    if mo >= 0:
        blocks = re.split(r"^\s*ene\s*=.*$", low[mo:], flags=re.M)[1:]
        counts = [len(re.findall(r"^\s*\d+\s+[-+0-9.ed]+\s*$", b, flags=re.M)) for b in blocks]
        if counts and min(counts) != max(counts):
            k = counts.index(min(counts))
            raise MoleculeInputError(f"{filename}: orbital {k + 1} of {len(counts)} has {counts[k]} coefficients, "
                                     f"the others {max(counts)} (the file is truncated or damaged).")
    for sec in ("[atoms]", "[gto]", "[mo]"):
        if sec not in low:
            raise MoleculeInputError(f"{filename}: the Molden file has no {sec.upper()} section "
                                     f"{'(orbitals are needed for the density)' if sec == '[mo]' else ''}.".replace(" .", "."))


def _from_molden(text: str, filename: str, level: str | None) -> UserReference:
    _check_molden(text, filename)
    fd, path = tempfile.mkstemp(suffix=".molden")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        with contextlib.redirect_stderr(io.StringIO()):
            try:
                pmol, _, mo_coeff, mo_occ, _, _ = molden.load(path)
            except Exception as exc:   # noqa: BLE001 - PySCF raises anything on a broken file
                raise MoleculeInputError(
                    f"{filename}: the Molden file cannot be read ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:160] or 'truncated or malformed'}).") from None
    finally:
        os.unlink(path)
    return _reference(pmol, mo_coeff, mo_occ, filename, level or _molden_level(text))


def _reference(pmol, mo_coeff, mo_occ, filename: str, level: str) -> UserReference:
    if mo_coeff is None or mo_occ is None:
        raise MoleculeInputError(f"{filename}: no orbitals with occupations were found.")
    if isinstance(mo_coeff, tuple):                 # unrestricted: alpha and beta
        dm = sum((c * o) @ c.T for c, o in zip(mo_coeff, mo_occ))
        n_el = float(sum(np.sum(o) for o in mo_occ))
    else:
        c, o = np.asarray(mo_coeff, float), np.asarray(mo_occ, float)
        if c.ndim != 2 or c.shape[1] != len(o) or c.shape[0] != pmol.nao_nr():
            raise MoleculeInputError(f"{filename}: the orbitals do not match the basis "
                                     f"({c.shape} coefficients for {pmol.nao_nr()} basis functions; truncated?).")
        dm = (c * o) @ c.T
        n_el = float(o.sum())
    if not np.isfinite(dm).all():
        raise MoleculeInputError(f"{filename}: the orbital coefficients hold non-finite numbers.")
    z_eff = pmol.atom_charges().astype(float)
    charge = int(round(z_eff.sum() - n_el))
    if abs(z_eff.sum() - n_el - charge) > 1e-3:
        raise MoleculeInputError(f"{filename}: the occupations add up to {n_el:.4f} electrons, not a whole "
                                 "number (truncated orbitals?).")
    numbers = np.array([_nuclear_charge(pmol, i) for i in range(pmol.natm)])
    positions = pmol.atom_coords() * BOHR_ANGSTROM
    n_unpaired = int(round(abs(np.sum(mo_occ[0]) - np.sum(mo_occ[1])))) if isinstance(mo_occ, tuple) else \
        int(np.sum(np.isclose(np.asarray(mo_occ, float), 1.0)))
    try:
        mol = validate(Molecule(numbers, positions, charge=charge, multiplicity=n_unpaired + 1,
                                name=os.path.splitext(os.path.basename(filename))[0]))
    except MoleculeInputError as exc:
        raise MoleculeInputError(f"{filename}: {exc}") from None
    dipole, second = _moments(pmol, dm)
    com = center_of_mass(mol.numbers, mol.positions)
    quad = traceless(shift_second_moment(second, dipole, com, total_charge=mol.charge))
    result = ReferenceResult(molecule=mol, method=level, basis=f"{pmol.nao_nr()} basis functions from the file",
                             energy=float("nan"), dipole=dipole, second_moment=second, center_of_mass=com,
                             quadrupole=quad, wall_time=0.0, from_cache=False, dm=np.asarray(dm), _pmol=pmol)
    notes = (f"{pmol.nao_nr()} basis functions, {n_el:.0f} electrons (total charge {charge:+d}) from the file",)
    return UserReference(mol, level, filename, result, notes)


def _nuclear_charge(pmol, i: int) -> int:
    """The element's atomic number (the Molden/fchk charge column is the effective charge
    when core electrons are replaced by an ECP)."""
    return int(element_charge(pmol.atom_pure_symbol(i)))


# --------------------------------------------------------------------------- fchk
def _from_fchk(text: str, filename: str) -> UserReference:
    lines = text.split("\n", 3)
    if len(lines) < 3 or "Number of atoms" not in text[:4000]:
        raise MoleculeInputError(f"{filename} is not a Gaussian formatted checkpoint (no 'Number of atoms' "
                                 "near the top).")
    second = lines[1].split()
    level = (f"{second[1]}/{second[2]} (from the .fchk header: {' '.join(second)})" if len(second) >= 3
             else "not stated in the .fchk header")
    tmp = tempfile.mkdtemp(prefix="mepviz-fchk-")
    src, out = os.path.join(tmp, "in.fchk"), os.path.join(tmp, "out.molden")
    try:
        with open(src, "w") as fh:
            fh.write(text)
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                data = load_one(src, fmt="fchk")
                if data.mo is None:
                    raise MoleculeInputError(f"{filename}: the checkpoint holds no orbitals "
                                             "(MO coefficients are needed for the density).")
                dump_one(data, out, fmt="molden")
                molden_text = open(out).read()
        except MoleculeInputError:
            raise
        except Exception as exc:   # noqa: BLE001 - IOData raises anything on a broken file
            raise MoleculeInputError(
                f"{filename}: the checkpoint cannot be read ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:160] or 'truncated or malformed'}).") from None
    finally:
        for p in (src, out):
            with contextlib.suppress(OSError):
                os.unlink(p)
        with contextlib.suppress(OSError):
            os.rmdir(tmp)
    return _from_molden(molden_text, filename, level=level)
