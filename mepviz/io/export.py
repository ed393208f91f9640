"""File writers and readers: Gaussian cube files, the batch table (CSV/JSON), atomic charges
as SDF and PQR, and the one JSON sanitiser (:func:`jsonable`).

Cube files (readable by VMD, Chimera, Avogadro, …): the cube format is in atomic units: the origin, the grid step vectors and the atom
positions are written in bohr (positive grid counts mean bohr), and the MEP values in
hartree/e (1 hartree/e = 627.5095 kcal/mol/e). Values run with z fastest, then y, then x,
six per line. The library itself works in Å and kcal/mol/e; the conversion happens here
and :func:`read_cube` converts back.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDetermineBonds

from ..core.elements import bondi_radii
from ..core.limits import MAX_POINTS_FILE_BYTES, check_grid
from ..core.molecule import Molecule, MoleculeInputError
from ..core.paths import atomic_write
from ..core.units import (BOHR_ANGSTROM, DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL, POTENTIAL_UNITS,
                          convert_potential)
from ..physics.electrostatics import principal_values
from ..surface.colors import mep_colors
from ..surface.surfaces import promolecular_density
from .text import read_user_bytes

#: |V| cap (hartree/e) for grid points that fall on a nucleus (point multipoles diverge there)
VALUE_CAP_HARTREE = 1.0e6


@dataclass
class CubeData:
    """A cube read back: atoms (numbers, positions Å), grid origin (Å), step vectors (Å,
    rows = axes), values (nx, ny, nz) in the file's unit (hartree/e), and the two comments."""

    numbers: np.ndarray
    positions: np.ndarray
    origin: np.ndarray
    axes: np.ndarray
    values: np.ndarray
    comments: tuple

    @property
    def shape(self):
        return self.values.shape

    def grid_points(self) -> np.ndarray:
        """(nx·ny·nz, 3) grid points in Å, in the file's order (z fastest)."""
        nx, ny, nz = self.values.shape
        i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
        idx = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float)
        return self.origin + idx @ self.axes

    @property
    def values_kcal_mol_e(self) -> np.ndarray:
        return self.values * HARTREE_TO_KCAL_MOL


def grid_for(positions, spacing: float = 0.3, padding: float = 4.0):
    """(origin Å, shape) of a cubic-step box around `positions` with `padding` Å each side."""
    if spacing <= 0:
        raise ValueError("grid spacing must be positive")
    pos = np.asarray(positions, float).reshape(-1, 3)
    lo = pos.min(0) - padding
    hi = pos.max(0) + padding
    shape = tuple(int(math.ceil((h - l) / spacing)) + 1 for l, h in zip(lo, hi))
    check_grid(shape, "the cube grid")
    return lo, shape


def grid_points(origin, spacing: float, shape) -> np.ndarray:
    """(nx·ny·nz, 3) points (Å) of an axis-aligned grid, z fastest (cube order)."""
    axes = [origin[d] + spacing * np.arange(shape[d]) for d in range(3)]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in g], axis=1)


def cube_text(numbers, positions, origin, spacing: float, values_hartree, comment1: str = "",
              comment2: str = "", nuclear_charges=None) -> str:
    """Cube file text. `positions`, `origin`, `spacing` in Å; `values_hartree` of shape
    (nx, ny, nz) in hartree/e (whatever the caller states in the comments)."""
    vals = np.asarray(values_hartree, float)
    if vals.ndim != 3:
        raise ValueError("values must have shape (nx, ny, nz)")
    numbers = np.asarray(numbers, int).reshape(-1)
    pos_b = np.asarray(positions, float).reshape(-1, 3) / BOHR_ANGSTROM
    org_b = np.asarray(origin, float) / BOHR_ANGSTROM
    step_b = float(spacing) / BOHR_ANGSTROM
    zq = numbers.astype(float) if nuclear_charges is None else np.asarray(nuclear_charges, float)
    lines = [comment1.replace("\n", " ")[:200], comment2.replace("\n", " ")[:200],
             f"{len(numbers):5d} {org_b[0]:12.6f} {org_b[1]:12.6f} {org_b[2]:12.6f}"]
    for d in range(3):
        v = [0.0, 0.0, 0.0]
        v[d] = step_b
        lines.append(f"{vals.shape[d]:5d} {v[0]:12.6f} {v[1]:12.6f} {v[2]:12.6f}")
    for zi, qi, (x, y, z) in zip(numbers, zq, pos_b):
        lines.append(f"{zi:5d} {qi:12.6f} {x:12.6f} {y:12.6f} {z:12.6f}")
    body = []
    flat = vals.reshape(-1, vals.shape[2])           # one (x, y) column of z values at a time
    for row in flat:
        for s in range(0, len(row), 6):
            body.append(" ".join(f"{v:13.5E}" for v in row[s:s + 6]))
    return "\n".join(lines + body) + "\n"


def mep_cube(prediction, spacing: float = 0.3, padding: float = 4.0, order: int = 2) -> str:
    """Cube text of a :class:`mepviz.predict.Prediction`'s MEP on a grid (values hartree/e).

    `spacing` and `padding` in Å; grid points on a nucleus get ±VALUE_CAP_HARTREE.
    """
    mol = prediction.molecule
    origin, shape = grid_for(mol.positions, spacing, padding)
    pts = grid_points(origin, spacing, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = prediction.mep(pts, order=order, grid=True) / HARTREE_TO_KCAL_MOL
    v = np.nan_to_num(v, nan=0.0, posinf=VALUE_CAP_HARTREE, neginf=-VALUE_CAP_HARTREE)
    v = np.clip(v, -VALUE_CAP_HARTREE, VALUE_CAP_HARTREE).reshape(shape)
    name = mol.name or mol.smiles or mol.formula
    c1 = f"MEPviz MEP {name} model={prediction.model_name} charge={mol.charge}"
    c2 = (f"values: electrostatic potential in hartree/e (x627.5095 = kcal/mol/e); lengths in bohr; "
          f"grid step {spacing:g} A, padding {padding:g} A; multipole order {order}")
    return cube_text(mol.numbers, mol.positions, origin, spacing, v, c1, c2)


def write_cube(path, text: str) -> Path:
    """Write cube `text` to `path` atomically (:func:`mepviz.core.paths.atomic_write`)."""
    atomic_write(str(path), lambda fh: fh.write(text.encode("utf-8")))
    return Path(path)


def read_cube(source) -> CubeData:
    """Parse cube text (or a path to a cube file); lengths back to Å, values as stored."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        text = read_user_bytes(source, MAX_POINTS_FILE_BYTES).decode("utf-8", errors="strict")
    else:
        text = source
    lines = text.splitlines()
    c1, c2 = lines[0], lines[1]
    head = lines[2].split()
    natoms = int(head[0])
    origin = np.array([float(x) for x in head[1:4]])
    shape, axes = [], []
    for d in range(3):
        parts = lines[3 + d].split()
        n = int(parts[0])
        vec = np.array([float(x) for x in parts[1:4]])
        if n < 0:                        # negative count: the step is already in Å
            n, vec = -n, vec / BOHR_ANGSTROM
        shape.append(n)
        axes.append(vec)
    mo_header = natoms < 0
    natoms = abs(natoms)
    numbers, positions = [], []
    for a in range(natoms):
        parts = lines[6 + a].split()
        numbers.append(int(parts[0]))
        positions.append([float(x) for x in parts[2:5]])
    start = 6 + natoms + (1 if mo_header else 0)
    values = np.array(" ".join(lines[start:]).split(), dtype=float)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"cube file has {values.size} values, expected {int(np.prod(shape))}")
    return CubeData(numbers=np.array(numbers, int),
                    positions=np.array(positions, float).reshape(-1, 3) * BOHR_ANGSTROM,
                    origin=origin * BOHR_ANGSTROM, axes=np.array(axes) * BOHR_ANGSTROM,
                    values=values.reshape(shape), comments=(c1, c2))


# --------------------------------------------------------------------------- tables

def jsonable(x):
    """Plain JSON types for dicts/lists/NumPy values; non-finite floats become None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def batch_csv(result) -> str:
    """The batch table (mepviz.report.batch.BatchResult.dataframe) as CSV: every record in file
    order, a failed one with its ``error``."""
    return result.dataframe(with_errors=True).to_csv(index=False, float_format="%.6g")


def _in_record_order(n: int, records, errors):
    """(record number, molecule index or None, error or None) of `n` molecules (numbered by
    `records`, else 1…n) and the failed `errors` ({record, name, error}), in file order."""
    numbers = list(records) if records is not None else list(range(1, n + 1))
    items = [(int(r), k, None) for k, r in enumerate(numbers)]
    items += [(int(e["record"]), None, e) for e in errors]
    return sorted(items, key=lambda t: t[0])


def batch_json(result) -> str:
    """Everything per molecule: numbers, atomic charges, full μ and Θ, surface statistics.
    ``molecules`` holds every record in file order, a failed one as {record, name, error}
    (also listed under ``errors``)."""
    molecules = []
    for row, mol, preds, stats in zip(result.rows, result.molecules, result.predictions,
                                      result.statistics):
        entry = {"record": row["record"], "name": row["name"], "formula": mol.formula,
                 "smiles": mol.smiles, "charge": mol.charge, "symbols": mol.symbols,
                 "positions_angstrom": mol.positions, "models": {}}
        for name, pred in preds.items():
            entry["models"][name] = {
                "dipole_D": np.asarray(pred.dipole) * DEBYE_PER_E_ANGSTROM,
                "dipole_magnitude_D": float(np.linalg.norm(pred.dipole) * DEBYE_PER_E_ANGSTROM),
                "quadrupole_com_DA": np.asarray(pred.quadrupole) * DEBYE_PER_E_ANGSTROM,
                "quadrupole_eigenvalues_DA": principal_values(pred.quadrupole) * DEBYE_PER_E_ANGSTROM,
                "atomic_charges_e": np.asarray(pred.charges),
                "surface_statistics_kcal_mol_e": {k: v for k, v in stats[name].items()},
            }
        molecules.append(entry)
    molecules += [{"record": e["record"], "name": e["name"], "error": e["error"]} for e in result.errors]
    molecules.sort(key=lambda m: int(m["record"]))
    doc = {"mepviz_batch": 1, "surface": result.surface,
           "units": {"dipole": "D (about the centre of mass; an ion's depends on the origin)", "quadrupole": "D·Å (traceless Buckingham, about the centre of mass)",
                     "potential": "kcal/mol/e", "charge": "e", "length": "Å"},
           "n_records": result.n_records, "molecules": molecules, "errors": result.errors}
    return json.dumps(jsonable(doc), indent=1, ensure_ascii=False)


# --------------------------------------------------------------------------- charges

def rounded_charges(charges, total: float, decimals: int = 4) -> np.ndarray:
    """Round charges to `decimals` so that they still sum exactly (at that precision) to
    `total`: the rounding residue goes onto the atoms with the largest rounding errors."""
    q = np.asarray(charges, float)
    scale = 10 ** decimals
    ints = np.round(q * scale).astype(np.int64)
    target = int(round(total * scale))
    diff = target - int(ints.sum())
    if diff and len(q):
        resid = q * scale - ints
        order = np.argsort(-resid if diff > 0 else resid)
        for i in range(abs(diff)):
            ints[order[i % len(q)]] += 1 if diff > 0 else -1
    return ints / scale


def charges_sdf(molecules: Sequence[Molecule], predictions: Sequence[dict],
                model: str = "quadrupole", decimals: int = 4, *, records=None, errors=()) -> str:
    """3D SDF (bonds and formal charges perceived from the geometry, :func:`sdf_3d`) with each
    molecule's atomic charges: RDKit-readable `atom.dprop.PartialCharge`
    (the model `model`), plus `MEPVIZ_CHARGES_<MODEL>` for every model (one per line),
    `MEPVIZ_TOTAL_CHARGE` and `MEPVIZ_DIPOLE_D_<MODEL>`. With `records` (the molecules' record
    numbers) and `errors` (a batch's failed records), every record appears in file order with
    `MEPVIZ_RECORD`; a failed one as an empty molecule with its `MEPVIZ_ERROR`."""
    out = []
    for number, k, err in _in_record_order(len(molecules), records, errors):
        tag = ["> <MEPVIZ_RECORD>", str(number), ""] if records is not None or errors else []
        if err is not None:
            out.append("\n".join([_plain(err["name"]), "  MEPviz", "",
                                  "  0  0  0  0  0  0  0  0  0  0999 V2000", "M  END", *tag,
                                  "> <MEPVIZ_ERROR>", _plain(err["error"]), "", "$$$$"]))
            continue
        mol, preds = molecules[k], predictions[k]
        lines = sdf_3d(mol).rstrip("\n").removesuffix("$$$$").rstrip("\n").split("\n") + tag
        main = preds.get(model) or next(iter(preds.values()))
        q = rounded_charges(main.charges, mol.charge, decimals)
        lines += ["> <atom.dprop.PartialCharge>", " ".join(f"{v:.{decimals}f}" for v in q), ""]
        lines += ["> <MEPVIZ_CHARGE_MODEL>", model, ""]
        lines += ["> <MEPVIZ_TOTAL_CHARGE>", str(mol.charge), ""]
        if mol.smiles:
            lines += ["> <SMILES>", mol.smiles, ""]
        for name, pred in preds.items():
            qm = rounded_charges(pred.charges, mol.charge, decimals)
            lines += [f"> <MEPVIZ_CHARGES_{name.upper()}>"] + [f"{v:.{decimals}f}" for v in qm] + [""]
            mu = np.linalg.norm(pred.dipole) * DEBYE_PER_E_ANGSTROM
            lines += [f"> <MEPVIZ_DIPOLE_D_{name.upper()}>", f"{mu:.4f}", ""]
        lines.append("$$$$")
        out.append("\n".join(lines))
    return "\n".join(out) + "\n"


def _plain(text) -> str:
    """One line of text for a file format that is line-based."""
    return " ".join(str(text).split())


def _pqr_atom_names(mol: Molecule) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for s in mol.symbols:
        counts[s] = counts.get(s, 0) + 1
        names.append(f"{s}{counts[s]}"[:4])
    return names


def charges_pqr(molecules: Sequence[Molecule], predictions: Sequence[dict],
                model: str = "quadrupole", decimals: int = 4, *, records=None, errors=()) -> str:
    """PQR (x, y, z, charge, Bondi radius) of each molecule's atomic charges from `model`;
    several molecules become MODEL/ENDMDL blocks. Charges are rounded so each molecule's
    charges sum exactly to its total charge. A batch's failed records (`errors`, placed by
    `records`, the molecules' record numbers) appear as REMARK lines with their error."""
    multi = len(molecules) > 1
    lines = [f"REMARK   1 MEPviz atomic charges (e), model '{model}'; radii: Bondi (Angstrom)"]
    for number, i, err in _in_record_order(len(molecules), records, errors):
        if err is not None:
            lines.append(f"REMARK   7 record {number} ({_plain(err['name'])}) not processed: {_plain(err['error'])}")
            continue
        k, mol, preds = i + 1, molecules[i], predictions[i]
        pred = preds.get(model) or next(iter(preds.values()))
        q = rounded_charges(pred.charges, mol.charge, decimals)
        radii = bondi_radii(mol.numbers)
        if multi:
            lines.append(f"MODEL     {k:4d}")
        lines.append(f"REMARK   6 {mol.name or mol.formula} total charge {mol.charge}")
        for i, (name, (x, y, z), qi, r) in enumerate(
                zip(_pqr_atom_names(mol), mol.positions, q, radii), start=1):
            lines.append(f"ATOM  {i:5d} {name:<4} MOL A   1    {x:8.3f} {y:8.3f} {z:8.3f} "
                         f"{qi:{decimals + 4}.{decimals}f} {r:6.4f}")
        lines.append("TER")
        if multi:
            lines.append("ENDMDL")
    lines.append("END")
    return "\n".join(lines) + "\n"


def read_pqr(text: str) -> list[dict]:
    """Parse PQR text (whitespace-separated fields) -> [{symbols, positions, charges, radii}]."""
    mols, cur = [], None
    for line in text.splitlines():
        tag = line[:6].strip()
        if tag in ("ATOM", "HETATM"):
            if cur is None:
                cur = {"names": [], "positions": [], "charges": [], "radii": []}
            f = line.split()
            cur["names"].append(f[2])
            cur["positions"].append([float(f[-5]), float(f[-4]), float(f[-3])])
            cur["charges"].append(float(f[-2]))
            cur["radii"].append(float(f[-1]))
        elif tag in ("ENDMDL", "END") and cur is not None:
            mols.append({k: np.asarray(v) if k != "names" else v for k, v in cur.items()})
            cur = None
    return mols


# --------------------------------------------------------------------------- files that rebuild a view
# Files that rebuild a view elsewhere: MEP + density cubes, the coloured surface (CSV, PLY),
# and a 3D SDF with formal charges.
# 
# - :func:`mep_and_density_cubes`: the MEP (hartree/e) and the electron density (e/bohr³; the
#   promolecular density for the ML models, the density the MEP surface is built from) on the
#   same grid, so VMD/GaussView/Chimera can map one onto an isosurface of the other. Point
#   multipoles diverge at the nuclei, so MEP values are clipped to ±`clip_hartree` (a range no
#   molecular surface reaches) and the comment line says so.
# - :func:`surface_csv` / :func:`surface_ply`: surface vertices (Å) with normals, areas (Å²)
#   and MEP values (in a chosen unit); the PLY also carries faces and per-vertex colours of
#   the app's red–white–blue map.
# - :func:`sdf_3d`: a V2000 molfile of the 3D geometry with bonds and formal charges perceived
#   by RDKit from the geometry and total charge, flagged 3D, optional atomic charges as an SD
#   property.

#: |MEP| cap in the cube (hartree/e): far beyond any ρ = 0.001 surface value (|V| < 0.2)
CLIP_HARTREE = 0.5


def mep_and_density_cubes(prediction, spacing: float = 0.3, padding: float = 4.0, order: int = 2,
                          clip_hartree: float = CLIP_HARTREE) -> tuple[str, str]:
    """(MEP cube text, density cube text) on one grid (`spacing`, `padding` in Å)."""
    mol = prediction.molecule
    origin, shape = grid_for(mol.positions, spacing, padding)
    pts = grid_points(origin, spacing, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = prediction.mep(pts, order=order, grid=True) / HARTREE_TO_KCAL_MOL
    n_clip = int((~np.isfinite(v) | (np.abs(v) > clip_hartree)).sum())
    v = np.clip(np.nan_to_num(v, nan=0.0, posinf=clip_hartree, neginf=-clip_hartree), -clip_hartree, clip_hartree)
    rho = promolecular_density(mol.numbers, mol.positions, pts)
    name = (mol.name or mol.smiles or mol.formula).replace("\n", " ")[:60]
    grid = f"grid step {spacing:g} A, padding {padding:g} A; lengths in bohr"
    mep = cube_text(mol.numbers, mol.positions, origin, spacing, v.reshape(shape),
                    f"MEPviz MEP {name} model={prediction.model_name} charge={mol.charge} (hartree/e)",
                    f"clipped to +-{clip_hartree:g} hartree/e at {n_clip} points near nuclei "
                    f"(point multipoles diverge there); {grid}")
    dens = cube_text(mol.numbers, mol.positions, origin, spacing, rho.reshape(shape),
                     f"MEPviz promolecular electron density {name} (e/bohr^3)",
                     f"sum of free-atom densities, as used for the ML surface (rho=0.001); {grid}")
    return mep, dens


def _values(values, unit: str) -> np.ndarray:
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    return np.asarray(convert_potential(np.asarray(values, float), unit), float)


def surface_csv(surface, values_kcal, unit: str = "kcal/mol/e") -> str:
    """One line per vertex: x, y, z (Å), nx, ny, nz, area (Å²), V (`unit`)."""
    v = _values(values_kcal, unit)
    cols = np.column_stack([surface.vertices, surface.normals, surface.vertex_areas, v])
    buf = io.StringIO()
    buf.write(f"x_A,y_A,z_A,nx,ny,nz,area_A2,V_{unit.replace('/', '_per_')}\n")
    np.savetxt(buf, cols, delimiter=",", fmt="%.6g")
    return buf.getvalue()


def surface_ply(surface, values_kcal, vmax_kcal: float, unit: str = "kcal/mol/e") -> str:
    """ASCII PLY: vertices (Å) with normals, colours (red–white–blue on ±`vmax_kcal`) and the
    value (`unit`), and triangular faces."""
    v = _values(values_kcal, unit)
    rgb = mep_colors(values_kcal, vmax_kcal)
    faces = np.asarray(surface.faces if surface.faces is not None else np.zeros((0, 3)), int)
    head = ["ply", "format ascii 1.0",
            f"comment MEPviz MEP surface; lengths in angstrom; value in {unit}; "
            f"colours: red negative, white 0, blue positive, range +-{float(convert_potential(vmax_kcal, unit)):.6g}",
            f"element vertex {len(v)}", "property float x", "property float y", "property float z",
            "property float nx", "property float ny", "property float nz",
            "property uchar red", "property uchar green", "property uchar blue", "property float value",
            f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header"]
    lines = [f"{p[0]:.5f} {p[1]:.5f} {p[2]:.5f} {n[0]:.4f} {n[1]:.4f} {n[2]:.4f} {c[0]} {c[1]} {c[2]} {x:.6g}"
             for p, n, c, x in zip(surface.vertices, surface.normals, rgb, v)]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces]
    return "\n".join(head + lines) + "\n"


def read_ply(text: str) -> dict:
    """Vertices, values and faces of a PLY written by :func:`surface_ply` (for round trips)."""
    lines = text.splitlines()
    end = lines.index("end_header")
    nv = int(next(ln for ln in lines if ln.startswith("element vertex")).split()[-1])
    nf = int(next(ln for ln in lines if ln.startswith("element face")).split()[-1])
    vert = np.array([ln.split() for ln in lines[end + 1:end + 1 + nv]], float).reshape(nv, 10)
    faces = np.array([ln.split()[1:] for ln in lines[end + 1 + nv:end + 1 + nv + nf]], int).reshape(nf, 3)
    return {"vertices": vert[:, :3], "normals": vert[:, 3:6], "colors": vert[:, 6:9].astype(int),
            "values": vert[:, 9], "faces": faces}


def sdf_3d(mol, charges=None, charge_label: str = "MEPviz_atomic_charges") -> str:
    """A 3D molfile (V2000) of `mol` with bonds and formal charges perceived by RDKit from the
    geometry and the total charge, terminated by ``$$$$``; `charges` (e), if given, are
    written as an SD property (one value per atom, in atom order)."""
    xyz = f"{mol.n_atoms}\n\n" + "\n".join(
        f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(mol.symbols, mol.positions))
    rd = Chem.MolFromXYZBlock(xyz)
    if rd is None:
        raise MoleculeInputError("RDKit could not read the geometry for the SDF export")
    try:
        rdDetermineBonds.DetermineBonds(rd, charge=int(mol.charge))
    except (ValueError, RuntimeError):
        rdDetermineBonds.DetermineConnectivity(rd)       # bonds without orders/charges
    rd.SetProp("_Name", (mol.name or mol.smiles or mol.formula).replace("\n", " ")[:80])
    if charges is not None:
        rd.SetProp(charge_label, " ".join(f"{q:.4f}" for q in np.asarray(charges, float)))
    block = Chem.MolToMolBlock(rd, includeStereo=True, forceV3000=False)
    out = block
    if charges is not None:
        out += f"> <{charge_label}>\n{rd.GetProp(charge_label)}\n\n"
    return out + "$$$$\n"
