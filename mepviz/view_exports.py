"""Files that rebuild a view elsewhere: MEP + density cubes, the coloured surface (CSV, PLY),
and a 3D SDF with formal charges.

- :func:`mep_and_density_cubes`: the MEP (hartree/e) and the electron density (e/bohr³; the
  promolecular density for the ML models, the density the MEP surface is built from) on the
  same grid, so VMD/GaussView/Chimera can map one onto an isosurface of the other. Point
  multipoles diverge at the nuclei, so MEP values are clipped to ±`clip_hartree` (a range no
  molecular surface reaches) and the comment line says so.
- :func:`surface_csv` / :func:`surface_ply`: surface vertices (Å) with normals, areas (Å²)
  and MEP values (in a chosen unit); the PLY also carries faces and per-vertex colours of
  the app's red–white–blue map.
- :func:`sdf_3d`: a V2000 molfile of the 3D geometry with bonds and formal charges perceived
  by RDKit from the geometry and total charge, flagged 3D, optional atomic charges as an SD
  property.
"""
from __future__ import annotations

import io

import numpy as np

from .cube import cube_text, grid_for, grid_points
from .units import HARTREE_TO_KCAL_MOL, POTENTIAL_UNITS, convert_potential

#: |MEP| cap in the cube (hartree/e): far beyond any ρ = 0.001 surface value (|V| < 0.2)
CLIP_HARTREE = 0.5


def mep_and_density_cubes(prediction, spacing: float = 0.3, padding: float = 4.0, order: int = 2,
                          clip_hartree: float = CLIP_HARTREE) -> tuple[str, str]:
    """(MEP cube text, density cube text) on one grid (`spacing`, `padding` in Å)."""
    from .surfaces import promolecular_density
    mol = prediction.molecule
    origin, shape = grid_for(mol.positions, spacing, padding)
    pts = grid_points(origin, spacing, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = prediction.mep(pts, order=order) / HARTREE_TO_KCAL_MOL
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
    from .views import mep_colors
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
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    from .molecule import MoleculeInputError
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
