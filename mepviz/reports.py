"""Tables, exports and teaching helpers behind the Compare, Batch and Learn pages.

Nothing here imports Streamlit: the pages are thin layers over these functions, and the
functions are usable (and tested) on their own.

- Batch: `split_records` cuts a multi-molecule XYZ/SDF upload into records so that one bad
  record does not spoil the others; `run_batch` predicts every record with every model and
  returns per-molecule rows plus per-record errors; `batch_csv`, `batch_json`,
  `charges_sdf`, `charges_pqr` write the downloads.
- Learn: `atomic_order_potentials` (charges only / + atomic dipoles / + atomic quadrupoles),
  `molecular_multipole_terms` and `line_profile` (how each term decays along a line).
- Compare: `load_evaluation` reads weights/evaluation.json (written by train/evaluate.py)
  and `evaluation_tables` flattens it into tables for charts.

Units as everywhere in MEPviz: Å, e, e·Å, e·Å² internally; tables show D and D·Å
(× 4.80320) and kcal/mol/e.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .electrostatics import multipole_potential
from .elements import MODEL_ELEMENTS, bondi_radii, model_element_names, symbol
from .molecule import Molecule, MoleculeInputError
from .units import COULOMB_KCAL_ANGSTROM, DEBYE_PER_E_ANGSTROM

#: the two trained variants, in display order
MODEL_NAMES: tuple[str, ...] = ("dipole", "quadrupole")
MODEL_LABELS = {"dipole": "Dipole model (fitted to μ)",
                "quadrupole": "Quadrupole model (fitted to μ and Θ)"}

#: batch limits (stated on the Batch page)
MAX_BATCH_MOLECULES = 500
MAX_BATCH_ATOMS = 200
MAX_BATCH_BYTES = 5_000_000           # = the server's maxUploadSize (5 MB)
BATCH_EXTENSIONS = ("xyz", "sdf", "sd", "mol")

#: evaluation results written by train/evaluate.py
EVALUATION_PATH = Path(__file__).resolve().parents[1] / "weights" / "evaluation.json"


# --------------------------------------------------------------------------- records

@dataclass
class Record:
    """One molecule record of an upload: its 1-based number, a label and its text."""

    number: int
    label: str
    text: str
    fmt: str                      # "xyz" or "sdf"
    error: str | None = None      # set when the record could not even be cut out


def _file_format(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext == "xyz":
        return "xyz"
    if ext in ("sdf", "sd", "mol"):
        return "sdf"
    raise MoleculeInputError(
        f"'{filename}': unsupported file type '.{ext}'. Upload a multi-molecule .xyz or .sdf file."
        if ext else f"'{filename}' has no file extension. Upload a multi-molecule .xyz or .sdf file.")


def decode_text(data: bytes, filename: str = "upload") -> str:
    """Bytes of an uploaded text file -> str; MoleculeInputError for binary junk."""
    if not data or not data.strip():
        raise MoleculeInputError(f"'{filename}' is empty.")
    if len(data) > MAX_BATCH_BYTES:
        raise MoleculeInputError(
            f"'{filename}' is {len(data) / 1e6:.1f} MB; the limit is {MAX_BATCH_BYTES / 1e6:.0f} MB.")
    if b"\x00" in data[:8192]:
        raise MoleculeInputError(f"'{filename}' is a binary file, not an XYZ or SDF text file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1")
        except UnicodeDecodeError:   # pragma: no cover - latin-1 decodes everything
            raise MoleculeInputError(f"'{filename}' is not a text file.") from None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:8192])
    if printable < 0.95 * min(len(text), 8192):
        raise MoleculeInputError(f"'{filename}' is a binary file, not an XYZ or SDF text file.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_count_line(line: str) -> bool:
    parts = line.split()
    return len(parts) >= 1 and parts[0].isdigit() and (len(parts) == 1 or not _looks_like_atom(parts))


def _looks_like_atom(parts: list[str]) -> bool:
    if len(parts) < 4:
        return False
    try:
        [float(p) for p in parts[1:4]]
    except ValueError:
        return False
    return True


def split_xyz(text: str) -> list[Record]:
    """Cut a (multi-frame) XYZ text into records; a bad count line becomes an error record
    and the reader resynchronises at the next line that holds an atom count only."""
    lines = text.split("\n")
    records: list[Record] = []
    i, n_lines = 0, len(lines)
    while i < n_lines:
        if not lines[i].strip():
            i += 1
            continue
        number = len(records) + 1
        head = lines[i].split()
        if not (len(head) == 1 and head[0].isdigit()):
            # skip to the next plausible count line
            j = i + 1
            while j < n_lines and not (lines[j].strip().isdigit()):
                j += 1
            records.append(Record(number, f"record {number}", "\n".join(lines[i:j]), "xyz",
                                  error=f"line {i + 1}: expected the number of atoms, found "
                                        f"'{lines[i].strip()[:40]}'"))
            i = j
            continue
        n = int(head[0])
        comment = lines[i + 1].strip() if i + 1 < n_lines else ""
        label = comment.split()[0] if comment and "=" not in comment.split()[0] else f"record {number}"
        body = lines[i:i + n + 2]
        atom_lines = [ln for ln in body[2:] if ln.strip()]
        if len(body) < n + 2 or len(atom_lines) < n:
            records.append(Record(number, label, "\n".join(body), "xyz",
                                  error=f"truncated: the count line says {n} atoms but only "
                                        f"{len(atom_lines)} atom lines follow"))
            break
        records.append(Record(number, label, "\n".join(body) + "\n", "xyz"))
        i += n + 2
    return records


def split_sdf(text: str) -> list[Record]:
    """Cut an SDF text into records at the `$$$$` lines."""
    chunks, current = [], []
    for line in text.split("\n"):
        if line.strip() == "$$$$":
            chunks.append(current)
            current = []
        else:
            current.append(line)
    if any(ln.strip() for ln in current):
        chunks.append(current)
    records = []
    for lines in chunks:
        if not any(ln.strip() for ln in lines):
            continue
        number = len(records) + 1
        label = lines[0].strip() or f"record {number}"
        records.append(Record(number, label, "\n".join(lines) + "\n$$$$\n", "sdf"))
    return records


def split_records(data: bytes, filename: str) -> list[Record]:
    """Upload bytes -> records (each parsed later on its own). Raises MoleculeInputError for
    unsupported types, empty or binary files, and files with more than MAX_BATCH_MOLECULES."""
    fmt = _file_format(filename)
    text = decode_text(data, filename)
    records = split_xyz(text) if fmt == "xyz" else split_sdf(text)
    if not records:
        raise MoleculeInputError(f"'{filename}' holds no molecules.")
    if len(records) > MAX_BATCH_MOLECULES:
        raise MoleculeInputError(
            f"'{filename}' holds {len(records)} molecules; the batch limit is "
            f"{MAX_BATCH_MOLECULES} molecules per file. Split the file and upload the parts.")
    if all(r.error for r in records) and fmt == "xyz" and len(records) == 1:
        raise MoleculeInputError(f"'{filename}' is not an XYZ file: {records[0].error}.")
    return records


def parse_record(record: Record) -> Molecule:
    """One record -> Molecule, checked against the batch limits and the model's elements."""
    if record.error:
        raise MoleculeInputError(record.error)
    _precheck_elements(record)
    from . import inputs
    mols = inputs.from_xyz(record.text) if record.fmt == "xyz" else inputs.from_sdf(record.text)
    if not mols:
        raise MoleculeInputError("no molecule in this record")
    mol = mols[0]
    check_batch_molecule(mol)
    if not mol.name:
        mol = dataclasses.replace(mol, name=record.label)
    return mol


def _record_element_numbers(record: Record) -> set[int]:
    """Best-effort atomic numbers named in a record's atom lines (empty set if unclear)."""
    from .elements import atomic_number
    lines = record.text.split("\n")
    if record.fmt == "xyz":
        tokens = [ln.split()[0] for ln in lines[2:] if ln.split()]
    else:
        try:
            n = int(lines[3][0:3])
        except (IndexError, ValueError):
            return set()
        tokens = [ln.split()[3] for ln in lines[4:4 + n] if len(ln.split()) >= 4]
    out = set()
    for tok in tokens:
        try:
            out.add(int(tok) if tok.isdigit() else atomic_number(tok))
        except (KeyError, ValueError):
            pass
    return out


def _precheck_elements(record: Record) -> None:
    bad = sorted(z for z in _record_element_numbers(record) if 0 < z < 119 and z not in MODEL_ELEMENTS)
    if bad:
        raise MoleculeInputError(
            f"unsupported element {', '.join(symbol(z) for z in bad)}: the models know only "
            f"{model_element_names()} (QM9's elements).")


def check_batch_molecule(mol: Molecule) -> None:
    """MoleculeInputError if a molecule is over the atom limit or has elements the models lack."""
    if mol.n_atoms > MAX_BATCH_ATOMS:
        raise MoleculeInputError(
            f"{mol.n_atoms} atoms; the batch limit is {MAX_BATCH_ATOMS} atoms per molecule.")
    bad = sorted({int(z) for z in mol.numbers} - set(MODEL_ELEMENTS))
    if bad:
        raise MoleculeInputError(
            f"unsupported element {', '.join(symbol(z) for z in bad)}: the models know only "
            f"{model_element_names()} (QM9's elements).")


# --------------------------------------------------------------------------- numbers

def quadrupole_eigenvalues(prediction) -> np.ndarray:
    """Eigenvalues (e·Å², ascending, as Prediction.quadrupole_eigenvalues) of the
    prediction's molecular quadrupole about the COM."""
    if hasattr(prediction, "quadrupole_eigenvalues"):
        ev = np.asarray(prediction.quadrupole_eigenvalues(), float)
    else:
        ev = np.linalg.eigvalsh(np.asarray(prediction.quadrupole, float))
    return np.sort(ev)


def prediction_numbers(prediction) -> dict:
    """μ (D), |μ| (D) and Θ eigenvalues (D·Å) of one prediction, as a flat dict."""
    mu = np.asarray(prediction.dipole, float) * DEBYE_PER_E_ANGSTROM
    ev = quadrupole_eigenvalues(prediction) * DEBYE_PER_E_ANGSTROM
    return {"mu_x_D": float(mu[0]), "mu_y_D": float(mu[1]), "mu_z_D": float(mu[2]),
            "mu_abs_D": float(np.linalg.norm(mu)),
            "theta_1_DA": float(ev[0]), "theta_2_DA": float(ev[1]), "theta_3_DA": float(ev[2])}


#: columns of the batch table, per model (suffix _<model> is appended)
MODEL_COLUMNS = ("mu_x_D", "mu_y_D", "mu_z_D", "mu_abs_D", "theta_1_DA", "theta_2_DA",
                 "theta_3_DA", "Vs_min_kcal", "Vs_max_kcal")
COLUMN_HELP = {
    "mu_x_D": "dipole moment x component (D)", "mu_abs_D": "|μ|, dipole magnitude (D)",
    "theta_1_DA": "smallest (most negative) eigenvalue of the traceless quadrupole Θ about the centre of mass (D·Å)",
    "Vs_min_kcal": "most negative MEP on the surface, V_s,min (kcal/mol/e)",
    "Vs_max_kcal": "most positive MEP on the surface, V_s,max (kcal/mol/e)",
}


@dataclass
class BatchResult:
    """Rows (one per molecule that worked), errors (one per record that did not)."""

    rows: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    molecules: list[Molecule] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)   # model name -> Prediction
    statistics: list[dict] = field(default_factory=list)    # model name -> surface stats
    surface: str = "isodensity"
    n_records: int = 0

    def dataframe(self):
        import pandas as pd
        cols = ["record", "name", "formula", "n_atoms", "charge"] + [
            f"{c}_{m}" for m in MODEL_NAMES for c in MODEL_COLUMNS]
        return pd.DataFrame(self.rows, columns=cols)

    def error_dataframe(self):
        import pandas as pd
        return pd.DataFrame(self.errors, columns=["record", "name", "error"])


def run_batch(records: Sequence[Record], predictors: dict, surface: str = "isodensity",
              progress: Callable[[int, int, str], None] | None = None) -> BatchResult:
    """Predict every record with every model in `predictors` (name -> Predictor).

    For each molecule: μ, |μ|, Θ eigenvalues per model, and V_s,min / V_s,max of each
    model's MEP on one shared surface (`surface`: "isodensity" or "vdw1.4" … "vdw2.0",
    as understood by mepviz.surfaces.surface_for). A record that fails (parse error,
    unsupported element, too many atoms, surface failure) becomes an entry in
    `result.errors` and the batch goes on.
    """
    from .electrostatics import surface_statistics
    from .surfaces import surface_for
    result = BatchResult(surface=surface, n_records=len(records))
    n = len(records)
    for k, rec in enumerate(records):
        if progress:
            progress(k, n, rec.label)
        try:
            mol = parse_record(rec)
            surf = surface_for(mol, surface)
            points, areas = surface_points_areas(surf)
            row = {"record": rec.number, "name": mol.name or rec.label, "formula": mol.formula,
                   "n_atoms": mol.n_atoms, "charge": mol.charge}
            preds, stats = {}, {}
            for name, predictor in predictors.items():
                pred = predictor.predict(mol)
                values = np.asarray(pred.mep(points), float)
                st = surface_statistics(points, values, areas)
                preds[name], stats[name] = pred, st
                for key, val in prediction_numbers(pred).items():
                    row[f"{key}_{name}"] = val
                row[f"Vs_min_kcal_{name}"] = st["v_min"]
                row[f"Vs_max_kcal_{name}"] = st["v_max"]
        except MoleculeInputError as exc:
            result.errors.append({"record": rec.number, "name": rec.label, "error": str(exc)})
            continue
        except Exception as exc:   # a bad record must not kill the batch
            result.errors.append({"record": rec.number, "name": rec.label,
                                  "error": f"could not be processed ({type(exc).__name__}: {exc})"})
            continue
        result.rows.append(row)
        result.molecules.append(mol)
        result.predictions.append(preds)
        result.statistics.append(stats)
    if progress:
        progress(n, n, "done")
    return result


def surface_points_areas(surface):
    """(points, areas or None) of a mepviz.surfaces surface object (or a bare array)."""
    if isinstance(surface, np.ndarray):
        return surface.reshape(-1, 3), None
    for attr in ("vertices", "points", "verts"):
        if hasattr(surface, attr):
            pts = np.asarray(getattr(surface, attr), float).reshape(-1, 3)
            break
    else:
        raise TypeError(f"cannot read points from a {type(surface).__name__}")
    areas = None
    for attr in ("areas", "vertex_areas", "weights"):
        if getattr(surface, attr, None) is not None:
            a = getattr(surface, attr)
            a = a() if callable(a) else a
            areas = np.asarray(a, float).ravel()
            if areas.size != len(pts):
                areas = None
            break
    return pts, areas


# --------------------------------------------------------------------------- exports

def batch_csv(result: BatchResult) -> str:
    return result.dataframe().to_csv(index=False, float_format="%.6g")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def batch_json(result: BatchResult) -> str:
    """Everything per molecule: numbers, atomic charges, full μ and Θ, surface statistics."""
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
                "quadrupole_eigenvalues_DA": quadrupole_eigenvalues(pred) * DEBYE_PER_E_ANGSTROM,
                "atomic_charges_e": np.asarray(pred.charges),
                "surface_statistics_kcal_mol_e": {k: v for k, v in stats[name].items()},
            }
        molecules.append(entry)
    doc = {"mepviz_batch": 1, "surface": result.surface,
           "units": {"dipole": "D", "quadrupole": "D·Å (traceless Buckingham, about the centre of mass)",
                     "potential": "kcal/mol/e", "charge": "e", "length": "Å"},
           "n_records": result.n_records, "molecules": molecules, "errors": result.errors}
    return json.dumps(_jsonable(doc), indent=1, ensure_ascii=False)


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


def infer_bonds(mol: Molecule, tolerance: float = 1.2) -> tuple:
    """Bonds (i, j, 1) from distances (covalent radii × tolerance) when a molecule has none."""
    if mol.bonds:
        return tuple(mol.bonds)
    from rdkit import Chem
    table = Chem.GetPeriodicTable()
    rc = np.array([table.GetRcovalent(int(z)) for z in mol.numbers])
    d = np.linalg.norm(mol.positions[:, None] - mol.positions[None], axis=-1)
    i, j = np.nonzero(np.triu(d < tolerance * (rc[:, None] + rc[None, :]), 1))
    return tuple((int(a), int(b), 1) for a, b in zip(i, j))


def _molblock(mol: Molecule, title: str) -> list[str]:
    bonds = infer_bonds(mol)
    lines = [title[:80], "  MEPviz", "", f"{mol.n_atoms:3d}{len(bonds):3d}  0  0  0  0  0  0  0  0999 V2000"]
    for s, (x, y, z) in zip(mol.symbols, mol.positions):
        lines.append(f"{x:10.4f}{y:10.4f}{z:10.4f} {s:<3} 0  0  0  0  0  0  0  0  0  0  0  0")
    for b in bonds:
        i, j = int(b[0]), int(b[1])
        order = b[2] if len(b) > 2 else 1
        code = 4 if isinstance(order, float) and abs(order - 1.5) < 1e-6 else int(round(float(order)))
        code = code if code in (1, 2, 3, 4) else 1
        lines.append(f"{i + 1:3d}{j + 1:3d}{code:3d}  0")
    lines.append("M  END")
    return lines


def charges_sdf(molecules: Sequence[Molecule], predictions: Sequence[dict],
                model: str = "quadrupole", decimals: int = 4) -> str:
    """SDF with each molecule's atomic charges: RDKit-readable `atom.dprop.PartialCharge`
    (the model `model`), plus `MEPVIZ_CHARGES_<MODEL>` for every model (one per line),
    `MEPVIZ_TOTAL_CHARGE` and `MEPVIZ_DIPOLE_D_<MODEL>`."""
    out = []
    for mol, preds in zip(molecules, predictions):
        lines = _molblock(mol, mol.name or mol.formula)
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


def _pqr_atom_names(mol: Molecule) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for s in mol.symbols:
        counts[s] = counts.get(s, 0) + 1
        names.append(f"{s}{counts[s]}"[:4])
    return names


def charges_pqr(molecules: Sequence[Molecule], predictions: Sequence[dict],
                model: str = "quadrupole", decimals: int = 4) -> str:
    """PQR (x, y, z, charge, Bondi radius) of each molecule's atomic charges from `model`;
    several molecules become MODEL/ENDMDL blocks. Charges are rounded so each molecule's
    charges sum exactly to its total charge."""
    multi = len(molecules) > 1
    lines = [f"REMARK   1 MEPviz atomic charges (e), model '{model}'; radii: Bondi (Angstrom)"]
    for k, (mol, preds) in enumerate(zip(molecules, predictions), start=1):
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


def cube_text(prediction, spacing: float = 0.3, padding: float = 4.0) -> str:
    """Gaussian cube of a prediction's MEP (hartree/e, via mepviz.cube.mep_cube)."""
    from .cube import mep_cube
    return mep_cube(prediction, spacing=spacing, padding=padding)


# --------------------------------------------------------------------------- learn

ORDER_LABELS = {0: "charges only", 1: "charges + atomic dipoles",
                2: "charges + atomic dipoles + atomic quadrupoles"}


def atomic_order_potentials(positions, prediction, points) -> dict[int, np.ndarray]:
    """MEP (kcal/mol/e) at `points` from the atomic multipoles truncated at order 0, 1, 2."""
    q = np.asarray(prediction.charges, float)
    p = np.asarray(prediction.atomic_dipoles, float)
    t = np.asarray(prediction.atomic_quadrupoles, float)
    return {0: multipole_potential(points, positions, q),
            1: multipole_potential(points, positions, q, p),
            2: multipole_potential(points, positions, q, p, t)}


def molecular_multipole_terms(points, origin, charge, dipole, quadrupole) -> dict[str, np.ndarray]:
    """Potential (kcal/mol/e) of the molecular monopole, dipole and traceless quadrupole
    placed at `origin`: k Q/r, k μ·r/r³, k Σ Θ_ab r_a r_b / r⁵ (decay 1/r, 1/r², 1/r³)."""
    r = np.asarray(points, float).reshape(-1, 3) - np.asarray(origin, float)
    d = np.linalg.norm(r, axis=1)
    mono = COULOMB_KCAL_ANGSTROM * float(charge) / d
    dip = COULOMB_KCAL_ANGSTROM * (r @ np.asarray(dipole, float)) / d ** 3
    quad = COULOMB_KCAL_ANGSTROM * np.einsum("pa,ab,pb->p", r, np.asarray(quadrupole, float), r) / d ** 5
    return {"monopole": mono, "dipole": dip, "quadrupole": quad}


def line_direction(mol: Molecule, prediction, which: str) -> np.ndarray:
    """Unit vector: 'dipole' (along μ; falls back to the principal Θ axis, then x),
    'quadrupole' (principal axis of the largest |Θ| eigenvalue), 'x', 'y' or 'z'."""
    axes = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}
    if which in axes:
        return np.asarray(axes[which])
    if which == "dipole":
        mu = np.asarray(prediction.dipole, float)
        if np.linalg.norm(mu) > 1e-3:
            return mu / np.linalg.norm(mu)
        which = "quadrupole"
    if which == "quadrupole":
        w, v = np.linalg.eigh(np.asarray(prediction.quadrupole, float))
        u = v[:, int(np.argmax(np.abs(w)))]
        return u / np.linalg.norm(u)
    raise ValueError(f"unknown direction {which!r}")


def line_profile(mol: Molecule, prediction, direction: str = "dipole", r_min: float = 0.5,
                 r_max: float = 50.0, n: int = 200, log_spacing: bool = True):
    """Potential along the ray COM + r·u, r in [r_min, r_max] Å, as a pandas DataFrame.

    Columns: r (Å); atomic-multipole MEPs truncated at order 0/1/2 ('atomic q', 'atomic
    q+p', 'atomic q+p+θ' — the last is the model's MEP); the molecular multipole terms
    about the COM ('monopole', 'dipole', 'quadrupole') and their sum ('multipole sum').
    """
    import pandas as pd
    u = line_direction(mol, prediction, direction)
    com = mol.center_of_mass
    r = (np.geomspace(r_min, r_max, n) if log_spacing else np.linspace(r_min, r_max, n))
    pts = com + r[:, None] * u
    atomic = atomic_order_potentials(mol.positions, prediction, pts)
    terms = molecular_multipole_terms(pts, com, mol.charge, prediction.dipole, prediction.quadrupole)
    df = pd.DataFrame({"r": r, "atomic q": atomic[0], "atomic q+p": atomic[1],
                       "atomic q+p+θ": atomic[2], **terms})
    df["multipole sum"] = df["monopole"] + df["dipole"] + df["quadrupole"]
    return df


def profile_csv(profile, unit: str = "kcal/mol/e") -> str:
    """A line profile (see line_profile) as CSV, potentials converted to `unit`."""
    from .units import convert_potential
    df = profile.copy()
    cols = {"r": "r_angstrom"}
    for c in df.columns:
        if c != "r":
            df[c] = convert_potential(df[c].to_numpy(), unit)
            cols[c] = f"V {c} ({unit})"
    return df.rename(columns=cols).to_csv(index=False, float_format="%.8g")


def decay_slopes(profile, columns: Iterable[str] = ("monopole", "dipole", "quadrupole"),
                 r_from: float = 10.0) -> dict[str, float]:
    """Log–log slope d ln|V| / d ln r beyond `r_from` Å for each column (≈ −1, −2, −3)."""
    far = profile[profile["r"] >= r_from]
    out = {}
    for c in columns:
        v = np.abs(far[c].to_numpy())
        ok = v > 1e-12
        if ok.sum() >= 2:
            out[c] = float(np.polyfit(np.log(far["r"].to_numpy()[ok]), np.log(v[ok]), 1)[0])
        else:
            out[c] = float("nan")
    return out


# --------------------------------------------------------------------------- evaluation

def evaluation_path() -> Path:
    """weights/evaluation.json, or $MEPVIZ_EVALUATION_JSON when set (tests use it)."""
    env = os.environ.get("MEPVIZ_EVALUATION_JSON")
    return Path(env) if env else EVALUATION_PATH


def load_evaluation(path: str | Path | None = None) -> dict | None:
    """The evaluation results as a dict, or None when the file does not exist yet.
    Raises ValueError with a readable message when the file is not valid JSON."""
    p = Path(path) if path is not None else evaluation_path()
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p.name} is not valid JSON ({exc})") from None


# --------------------------------------------------------------------------- compare

def comparison_table(predictions: dict, statistics: dict | None = None, reference=None,
                     reference_statistics: dict | None = None, unit: str = "kcal/mol/e"):
    """Quantities × methods (each model, then 'DFT' when `reference` is given) as a DataFrame.

    predictions: model name -> Prediction; statistics: model name -> surface_statistics
    dict (kcal/mol/e); reference: a mepviz.reference.ReferenceResult (moments about its
    centre of mass) and reference_statistics its surface statistics. μ in D, Θ in D·Å,
    potentials converted to `unit`.
    """
    import pandas as pd

    from .units import convert_potential
    statistics = statistics or {}
    rows = ["μx (D)", "μy (D)", "μz (D)", "|μ| (D)", "Θ₁ (D·Å)", "Θ₂ (D·Å)", "Θ₃ (D·Å)"]
    pot_rows = [("v_min", f"V_s,min ({unit})"), ("v_max", f"V_s,max ({unit})"),
                ("mean", f"mean V_s ({unit})"), ("variance_total", f"σ²_tot ({unit}²)")]

    def column(mu, theta, st):
        mu = np.asarray(mu, float) * DEBYE_PER_E_ANGSTROM
        ev = np.sort(np.linalg.eigvalsh(0.5 * (np.asarray(theta) + np.asarray(theta).T))) * DEBYE_PER_E_ANGSTROM
        vals = [*mu, float(np.linalg.norm(mu)), *ev]
        for key, _ in pot_rows:
            if st and key in st:
                f = float(convert_potential(1.0, unit))
                vals.append(float(st[key]) * (f * f if key.startswith("variance") else f))
            else:
                vals.append(float("nan"))
        return vals

    index = rows + [label for _, label in pot_rows]
    data = {}
    for name, pred in predictions.items():
        data[MODEL_LABELS.get(name, name).split(" (")[0]] = column(pred.dipole, pred.quadrupole,
                                                                   statistics.get(name))
    if reference is not None:
        com = np.asarray(reference.center_of_mass, float)
        data["DFT reference"] = column(reference.dipole_about(com), reference.quadrupole,
                                       reference_statistics)
    return pd.DataFrame(data, index=index)


def error_metrics(values, reference_values) -> dict:
    """MAE, RMSE, max |error|, mean signed error and Pearson r of values vs the reference."""
    p, r = np.asarray(values, float).ravel(), np.asarray(reference_values, float).ravel()
    d = p - r
    ok = len(p) > 1 and np.std(p) > 0 and np.std(r) > 0
    return {"MAE": float(np.abs(d).mean()), "RMSE": float(np.sqrt((d ** 2).mean())),
            "max |error|": float(np.abs(d).max()), "mean error": float(d.mean()),
            "Pearson r": float(np.corrcoef(p, r)[0, 1]) if ok else float("nan")}


# --------------------------------------------------------------------------- evaluation tables

#: short display names of the methods in weights/evaluation.json (train/evaluate.py)
METHOD_SHORT = {"dipole": "ML dipole model", "quadrupole": "ML quadrupole model",
                "gasteiger": "Gasteiger", "mmff94": "MMFF94", "xtb": "GFN2-xTB charges",
                "xtb-multipoles": "GFN2-xTB multipoles",
                "esp-fit-charges": "ESP-fit charges (floor)", "esp-fit-multipoles": "ESP-fit q+p+θ (floor)"}


def _num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _methods(doc: dict) -> list[tuple[str, str, dict]]:
    """[(name, kind, result)] in the document's method order: models first, then baselines."""
    found = {}
    for section, kind in (("models", "model"), ("baselines", "baseline"), ("methods", None)):
        block = doc.get(section)
        if isinstance(block, dict):
            for name, res in block.items():
                if isinstance(res, dict) and name not in found:
                    found[str(name)] = (res.get("kind") or kind or
                                        ("model" if name in MODEL_NAMES else "baseline"), res)
    order = [n for n in doc.get("method_order", []) if n in found]
    order += [n for n in found if n not in order]
    return [(n, found[n][0], found[n][1]) for n in order]


def evaluation_tables(doc: dict) -> dict:
    """Flatten weights/evaluation.json (written by train/evaluate.py) into DataFrames.

    Keys of the result (each present only when the document has the data):
    'overall' — one row per method: method (short name), name, kind, label, MEP MAE / RMSE
    on the isodensity points, molecule-mean MAE, MAE on all shell points, |μ| / μ / Θ MAEs,
    n_molecules, n_failed; 'per_shell' — method, scale, MAE, RMSE; 'per_molecule' — method,
    qm9_index, smiles, MAE; 'histograms' — method, center, fraction (signed isodensity
    errors; the under/overflow counts are included in the normalisation, see 'outside');
    'by_order' — method, order, terms, MAE (models: charges only / + dipoles / +
    quadrupoles); 'unit', 'description', 'test_set' (dict), 'generated'.
    """
    import pandas as pd
    units = doc.get("units") if isinstance(doc.get("units"), dict) else {}
    out: dict = {"unit": units.get("mep", "kcal/mol/e")}
    for key in ("description", "generated"):
        if isinstance(doc.get(key), str):
            out[key] = doc[key]
    if isinstance(doc.get("test_set"), dict):
        out["test_set"] = doc["test_set"]
    overall, shells, permol, hists, orders, outside = [], [], [], [], [], {}
    for name, kind, res in _methods(doc):
        short = METHOD_SHORT.get(name, name)
        mep = res.get("mep") if isinstance(res.get("mep"), dict) else {}
        ov = mep.get("overall") if isinstance(mep.get("overall"), dict) else {}
        mo = res.get("moments") if isinstance(res.get("moments"), dict) else {}
        if "mae" in ov:
            overall.append({
                "method": short, "name": name, "kind": kind, "label": res.get("label", short),
                "MAE": _num(ov.get("mae")), "RMSE": _num(ov.get("rmse")),
                "molecule-mean MAE": _num(ov.get("molecule_mean_mae")),
                "shell MAE": _num((mep.get("all_shells") or {}).get("mae")),
                "|μ| MAE (D)": _num(mo.get("dipole_magnitude_mae_debye")),
                "μ vector MAE (D)": _num(mo.get("dipole_vector_mae_debye")),
                "Θ MAE (D·Å)": _num(mo.get("quadrupole_component_mae_debye_angstrom")),
                "molecules": int(res.get("n_molecules", 0) or 0), "failed": int(res.get("n_failed", 0) or 0)})
        for scale, v in (mep.get("per_shell") or {}).items():
            if isinstance(v, dict) and "mae" in v:
                shells.append({"method": short, "scale": _num(scale), "MAE": _num(v["mae"]),
                               "RMSE": _num(v.get("rmse"))})
        for rec in mep.get("per_molecule") or []:
            if isinstance(rec, dict) and "mae" in rec:
                permol.append({"method": short, "qm9_index": rec.get("qm9_index"),
                               "smiles": rec.get("smiles", ""), "MAE": _num(rec["mae"])})
        h = mep.get("histogram")
        if isinstance(h, dict) and "counts" in h and "edges" in h:
            edges, counts = np.asarray(h["edges"], float), np.asarray(h["counts"], float)
            total = counts.sum() + _num(h.get("underflow", 0)) + _num(h.get("overflow", 0))
            if len(edges) == len(counts) + 1 and total > 0:
                outside[short] = (_num(h.get("underflow", 0)) + _num(h.get("overflow", 0))) / total
                for c, n in zip(0.5 * (edges[1:] + edges[:-1]), counts):
                    hists.append({"method": short, "center": float(c), "fraction": float(n / total)})
        labels = {"0": "charges only", "1": "+ atomic dipoles", "2": "+ atomic quadrupoles"}
        for o, v in (mep.get("isodensity_by_order") or {}).items():
            if isinstance(v, dict) and "mae" in v:
                orders.append({"method": short, "order": int(o), "terms": labels.get(str(o), str(o)),
                               "MAE": _num(v["mae"])})
    if overall:
        out["overall"] = pd.DataFrame(overall)
    if shells:
        out["per_shell"] = pd.DataFrame(shells)
    if permol:
        out["per_molecule"] = pd.DataFrame(permol)
    if hists:
        out["histograms"] = pd.DataFrame(hists)
        out["outside"] = outside
    if orders:
        out["by_order"] = pd.DataFrame(orders)
    return out


def model_card_table(cards: dict):
    """Key facts of the model cards (weights/<name>.json) side by side: model name -> card.

    Rows: what it was fitted to (loss), quadrupole loss weight, training / validation
    molecules, validation |μ| and Θ errors, test-set MEP MAE (when evaluated), epochs, date.
    Missing entries show as empty strings.
    """
    import pandas as pd

    def get(card, *path):
        cur = card
        for p in path:
            if not isinstance(cur, dict) or p not in cur:
                return None
            cur = cur[p]
        return cur

    def fmt(x, d=3):
        if x is None:
            return ""
        if isinstance(x, float):
            return f"{x:.{d}f}"
        return str(x)

    rows = {}
    for name, card in cards.items():
        val = get(card, "validation_metrics", "best_dft_val") or {}
        test = get(card, "test_metrics", "mep_isodensity", "mae")
        epochs = get(card, "training", "epochs")
        rows[MODEL_LABELS.get(name, name).split(" (")[0]] = {
            "fitted to (loss)": fmt(card.get("loss")),
            "quadrupole loss weight": fmt(card.get("quadrupole_weight", get(card, "hyperparameters", "quad_weight")), 2),
            "training molecules (DFT)": fmt(get(card, "data", "dft_train", "molecules")),
            "validation molecules": fmt(get(card, "data", "dft_validation", "molecules")),
            "validation μ MAE (D)": fmt(val.get("mu_mae_D")),
            "validation Θ MAE (D·Å)": fmt(val.get("theta_mae_DA")),
            "test-set MEP MAE (kcal/mol/e)": fmt(test, 2),
            "features × layers, cutoff (Å)": (f"{get(card, 'hyperparameters', 'features')} × "
                                              f"{get(card, 'hyperparameters', 'layers')}, "
                                              f"{get(card, 'hyperparameters', 'cutoff')}"
                                              if get(card, "hyperparameters") else ""),
            "epochs": fmt(", ".join(f"{k} {v}" for k, v in epochs.items()) if isinstance(epochs, dict) else epochs),
            "trained": fmt(get(card, "training", "date")),
        }
    return pd.DataFrame(rows)
