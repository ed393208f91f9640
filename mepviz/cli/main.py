"""Command line: ``python -m mepviz predict FILE|SMILES [options]``.

Prints atomic charges, atomic dipoles and quadrupoles, the molecular dipole μ and
quadrupole Θ (about the centre of mass) and the MEP statistics on a molecular surface, as a
readable table (default), JSON or CSV. With ``--points FILE`` the MEP is evaluated at the
given points (Å), in their order; with ``--cube OUT.cube`` the MEP on a grid is written as
a Gaussian cube file. Applicability notes (charge, elements, fragments, … outside what a
model knows; :mod:`mepviz.ml.applicability`, assessed once by the predictor and read from each
prediction) are printed to stderr as ``note:`` lines. Bad input, and a molecule the
applicability check refuses, end with a non-zero exit status and a one-line reason on stderr.
``mepviz batch`` is :mod:`mepviz.cli.batch`.

Exit status: 0 ok, 1 unexpected error, 2 bad input or usage.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from ..core import limits, registry
from ..core.paths import atomic_write, check_output
from ..core.molecule import Molecule, MoleculeInputError
from ..core.units import DEBYE_PER_E_ANGSTROM
from ..io.export import jsonable, mep_cube
from ..io.files import read_file
from ..io.text import decide_encoding, read_user_bytes
from ..io.smiles import from_smiles
from ..ml import cards
from ..ml.applicability import Refused
from ..ml.predict import get_predictor, predict_mep_map
from ..physics.domain import check_points
from . import batch as batch_command

SURFACE_CHOICES = registry.SURFACE_KINDS + ("none",)


class UsageError(Exception):
    """Bad command-line input that is not about the molecule itself."""


# ------------------------------------------------------------------------------ input
def load_molecules(source: str, charge: int | None = None) -> list[Molecule]:
    """Molecules from a file path, or from a SMILES string if no such file exists."""
    src = source.strip()
    if not src:
        raise MoleculeInputError("empty input: give a file (XYZ, SDF, MOL, SMI) or a SMILES string")
    kw = {} if charge is None else {"charge": int(charge)}
    path = Path(src)
    if path.exists():
        out = read_file(str(path), **kw)
    else:
        looks_like_path = path.suffix.lower() in (".xyz", ".sdf", ".sd", ".mol", ".smi", ".smiles", ".txt",
                                                  ".mol2", ".pdb", ".npy", ".csv")
        if looks_like_path:
            raise MoleculeInputError(f"no such file: {src}")
        try:
            out = from_smiles(src, **kw)
        except MoleculeInputError as exc:
            if "invalid smiles" in str(exc).lower():
                raise MoleculeInputError(f"{src!r} is not an existing file, and not a valid SMILES: {exc}") from None
            raise
    mols = [out] if isinstance(out, Molecule) else list(out)
    if not mols:
        raise MoleculeInputError(f"no molecule found in {src}")
    return mols


def load_points(path: str) -> np.ndarray:
    """(P, 3) points in Å from a CSV with a header x,y,z or a .npy array, read through the one
    bounded reader (a regular file of at most ``limits.MAX_POINTS_FILE_BYTES``)."""
    label = f"points file {path}"
    try:
        data = read_user_bytes(path, limits.MAX_POINTS_FILE_BYTES, label)
        if path.lower().endswith(".npy"):
            pts = _npy_points(data, path)
        else:
            pts = _csv_points(data.decode(decide_encoding(data, label)), path)
    except MoleculeInputError as exc:
        raise UsageError(str(exc)) from None
    if len(pts) == 0:
        raise UsageError(f"{path} has no points")
    limits.check_points(len(pts), path)
    if not np.all(np.isfinite(pts)):
        raise UsageError(f"{path} contains non-finite coordinates")
    return pts


def _npy_points(data: bytes, path: str) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise UsageError(f"cannot read {path} as a .npy array: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.number):
        raise UsageError(f"{path}: expected a numeric array of shape (P, 3), got {arr.dtype} {arr.shape}")
    return np.asarray(arr, float)


def _csv_points(text: str, path: str) -> np.ndarray:
    lines = text.splitlines()
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise UsageError(f"{path} is empty; expected a CSV with a header x,y,z")
    head = next(csv.reader([lines[first]]))
    header = [c.strip().lower() for c in head]
    try:
        cols = [header.index(k) for k in ("x", "y", "z")]
    except ValueError:
        raise UsageError(f"{path}: the CSV header must name columns x, y, z (found {','.join(head)[:80]})") from None
    del lines
    try:
        with warnings.catch_warnings():         # "input contained no data": said below, in one line
            warnings.simplefilter("ignore", UserWarning)
            pts = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=first + 1, usecols=cols, ndmin=2,
                             quotechar='"', comments=None)
    except ValueError as exc:
        raise UsageError(f"{path}: expected numbers in columns x, y, z ({_one_line(exc)})") from None
    return pts.reshape(-1, 3)


# ---------------------------------------------------------------------------- compute
def _where(mols, k: int) -> str:
    m = mols[k - 1]
    return f"molecule {k} ({m.name or m.formula}): " if len(mols) > 1 else ""


def compute(mols, model: str, surface: str, points: np.ndarray | None, cube: str | None,
            spacing: float | None = None, order: int = 2, warn=None) -> list[dict]:
    """One record per molecule (prediction, surface statistics, MEP at `points`, cube file).
    Every molecule is assessed once, by the predictor, before the network loads: a refusal
    raises MoleculeInputError naming the molecule; the notes go to `warn(line)`."""
    predictor = get_predictor(model)
    try:
        preds = predictor.predict_many(mols)
    except Refused as exc:
        k = next((i for i, m in enumerate(mols, 1) if m is exc.molecule), None)
        if k is None or len(mols) == 1:
            raise
        raise MoleculeInputError(_where(mols, k) + str(exc)) from None
    records = []
    for k, pred in enumerate(preds):
        for note in pred.notes:
            if warn is not None:
                warn(f"note: {_where(mols, k + 1)}{note}")
        rec = pred.to_dict()
        rec["index"] = k + 1
        rec["model_card"] = {key: predictor.card.get(key) for key in ("name", "description", "training_set",
                                                                         "level_of_theory")
                             if key in predictor.card}
        if surface != "none":
            mm = predict_mep_map(pred.molecule, model, surface=surface, spacing=spacing, order=order,
                                 prediction=pred)
            rec["surface"] = {
                "kind": surface, "label": getattr(mm.surface, "kind", surface),
                "n_vertices": int(mm.surface.n_vertices),
                "area_angstrom2": float(mm.surface.area),
                "statistics_kcal_mol_e": mm.statistics,
            }
        if points is not None:
            pts, notes = check_points(pred.molecule, points)
            for note in notes:
                if warn is not None:
                    warn(f"note: {_where(mols, k + 1)}{note}")
            rec["mep_kcal_mol_e"] = pred.mep(pts, order=order).tolist()
        if cube:
            out = cube if len(preds) == 1 else _numbered(cube, k + 1)
            write_output(out, mep_cube(pred, order=order))
            rec["cube_file"] = str(out)
        records.append(rec)
    return records


def write_output(path, text: str) -> None:
    """Write `text` to `path` atomically (a temporary file, then a rename): a full disk or an
    interruption leaves the previous file as it was; UsageError saying so."""
    try:
        atomic_write(str(path), lambda fh: fh.write(text.encode("utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc} (nothing was written; "
                         f"an earlier {Path(path).name}, if any, is unchanged)") from None


def _numbered(path: str, k: int) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}_{k}{p.suffix or '.cube'}"))


# ----------------------------------------------------------------------------- output
def _f(x, w=9, d=4):
    return f"{x:{w}.{d}f}"


def format_table(records: list[dict], points: np.ndarray | None = None) -> str:
    d = DEBYE_PER_E_ANGSTROM
    out = []
    for rec in records:
        title = rec.get("name") or rec.get("smiles") or rec["formula"]
        out.append(f"Molecule {rec['index']}: {title}  ({rec['formula']}, total charge {rec['total_charge']:+d})"
                   f"  — model: {rec['model']}")
        out.append("Atomic multipoles: q (e); atomic dipole p (D); atomic traceless quadrupole θ (D·Å)")
        head = (f"{'#':>3} {'el':<2} {'x/Å':>8} {'y/Å':>8} {'z/Å':>8} {'q':>8} {'p_x':>7} {'p_y':>7} {'p_z':>7}"
                f" {'θ_xx':>7} {'θ_yy':>7} {'θ_zz':>7} {'θ_xy':>7} {'θ_xz':>7} {'θ_yz':>7}")
        out.append(head)
        out.append("-" * len(head))
        for i, el in enumerate(rec["elements"]):
            x, y, z = rec["positions"][i]
            p = np.array(rec["atomic_dipoles"][i]) * d
            t = np.array(rec["atomic_quadrupoles"][i]) * d
            out.append(f"{i + 1:>3} {el:<2} {x:8.3f} {y:8.3f} {z:8.3f} {rec['charges'][i]:8.4f}"
                       f" {p[0]:7.3f} {p[1]:7.3f} {p[2]:7.3f}"
                       f" {t[0, 0]:7.3f} {t[1, 1]:7.3f} {t[2, 2]:7.3f} {t[0, 1]:7.3f} {t[0, 2]:7.3f} {t[1, 2]:7.3f}")
        out.append(f"{'':>3} {'Σ':<2} {'':>26} {sum(rec['charges']):8.4f}")
        mu = rec["dipole_debye"]
        out.append("")
        out.append(f"Dipole μ (D):            x {mu[0]:8.4f}   y {mu[1]:8.4f}   z {mu[2]:8.4f}"
                   f"   |μ| = {rec['dipole_magnitude_debye']:.4f} D"
                   + ("  (about the centre of mass: an ion's dipole depends on the origin)" if rec["total_charge"] else ""))
        out.append("Quadrupole Θ (D·Å, traceless Buckingham, about the centre of mass "
                   f"{', '.join(f'{c:.3f}' for c in rec['origin'])} Å):")
        for row in rec["quadrupole_debye_angstrom"]:
            out.append("    " + " ".join(f"{v:9.4f}" for v in row))
        out.append("  principal values: " + ", ".join(f"{v:.4f}" for v in rec["quadrupole_eigenvalues_debye_angstrom"]))
        if "surface" in rec:
            s = rec["surface"]
            st = s["statistics_kcal_mol_e"]
            out.append("")
            out.append(f"MEP on the {s['label'] or s['kind']} surface ({s['n_vertices']} vertices, "
                       f"area {s['area_angstrom2']:.1f} Å²), kcal/mol/e:")
            out.append(f"  V_s,min {st['v_min']:9.2f}  at ({', '.join(f'{c:.2f}' for c in st['v_min_position'])}) Å")
            out.append(f"  V_s,max {st['v_max']:9.2f}  at ({', '.join(f'{c:.2f}' for c in st['v_max_position'])}) Å")
            out.append(f"  mean {st['mean']:.2f}   σ² {st['variance']:.2f}   σ²_tot(+/−) {st['variance_total']:.2f}"
                       f"   positive area fraction {st['positive_fraction']:.3f}")
        if "mep_kcal_mol_e" in rec and points is not None:
            out.append("")
            out.append(f"MEP at {len(points)} given points (kcal/mol/e):")
            out.append(f"{'#':>6} {'x/Å':>9} {'y/Å':>9} {'z/Å':>9} {'V':>11}")
            for k, (pt, v) in enumerate(zip(points, rec["mep_kcal_mol_e"])):
                out.append(f"{k + 1:>6} {pt[0]:9.3f} {pt[1]:9.3f} {pt[2]:9.3f} {v:11.4f}")
        if "cube_file" in rec:
            out.append("")
            out.append(f"Cube file (MEP in hartree/e, bohr): {rec['cube_file']}")
        out.append("")
    return "\n".join(out)


CSV_COLUMNS = ["molecule", "name", "record", "index", "element", "x", "y", "z", "charge_e",
               "dipole_x_debye", "dipole_y_debye", "dipole_z_debye",
               "quadrupole_xx_debye_angstrom", "quadrupole_yy_debye_angstrom", "quadrupole_zz_debye_angstrom",
               "quadrupole_xy_debye_angstrom", "quadrupole_xz_debye_angstrom", "quadrupole_yz_debye_angstrom",
               "mep_kcal_mol_e", "surface_v_min", "surface_v_max", "surface_mean", "surface_variance"]


def format_csv(records: list[dict], points: np.ndarray | None = None) -> str:
    """Long-format CSV: `record` is atom (atomic multipoles), molecule (μ, Θ about the centre
    of mass at x,y,z, total charge, surface statistics) or point (MEP at a given point)."""
    d = DEBYE_PER_E_ANGSTROM
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)

    def quad(t):
        t = np.asarray(t) * d
        return [t[0, 0], t[1, 1], t[2, 2], t[0, 1], t[0, 2], t[1, 2]]

    for rec in records:
        name = rec.get("name") or rec.get("smiles") or rec["formula"]
        for i, el in enumerate(rec["elements"]):
            w.writerow([rec["index"], name, "atom", i + 1, el, *rec["positions"][i], rec["charges"][i],
                        *(np.asarray(rec["atomic_dipoles"][i]) * d), *quad(rec["atomic_quadrupoles"][i]),
                        "", "", "", "", ""])
        st = rec.get("surface", {}).get("statistics_kcal_mol_e")
        sv = [st["v_min"], st["v_max"], st["mean"], st["variance"]] if st else ["", "", "", ""]
        w.writerow([rec["index"], name, "molecule", "", rec["formula"], *rec["origin"], rec["total_charge"],
                    *rec["dipole_debye"], *quad(rec["quadrupole"]), "", *sv])
        if points is not None and "mep_kcal_mol_e" in rec:
            for k, (pt, v) in enumerate(zip(points, rec["mep_kcal_mol_e"])):
                w.writerow([rec["index"], name, "point", k + 1, "", *pt, "", "", "", "", "", "", "", "", "", "",
                            v, "", "", "", ""])
    return buf.getvalue()


def format_json(records: list[dict]) -> str:
    """One JSON object for one molecule, a JSON array of objects for several."""
    data = jsonable(records[0] if len(records) == 1 else records)
    return json.dumps(data, indent=1, allow_nan=False)


# ------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mepviz",
        description="MEPviz: molecular electrostatic potentials from equivariant atomic multipoles.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "predict", help="atomic multipoles, μ, Θ and the MEP of a molecule",
        description="Predict atomic charges, dipoles and quadrupoles, the molecular dipole and "
                    "quadrupole (about the centre of mass) and the MEP on a molecular surface. "
                    "Units: Å, e, D, D·Å, kcal/mol/e (cube files: bohr and hartree/e). "
                    "Several molecules in one file give one record each (JSON: an array).")
    p.add_argument("input", metavar="FILE|SMILES", help="XYZ/SDF/MOL file (several molecules allowed) or a SMILES string")
    p.add_argument("--model", default=registry.DEFAULT_MODEL, choices=registry.MODEL_NAMES,
                   help=f"model variant (default {registry.DEFAULT_MODEL})")
    p.add_argument("--surface", default=registry.DEFAULT_SURFACE, choices=SURFACE_CHOICES,
                   help="surface for the MEP statistics: promolecular ρ=0.001 isodensity (default), "
                        "scaled Bondi vdW surfaces, or none")
    p.add_argument("--spacing", type=float, default=None, help="surface grid spacing in Å (default: the surface's own)")
    p.add_argument("--format", default="table", choices=("table", "json", "csv"), help="output format (default table)")
    p.add_argument("--points", metavar="FILE", help="evaluate the MEP at these points (CSV with header x,y,z, or .npy; Å)")
    p.add_argument("--cube", metavar="OUT.cube", help="write the MEP on a grid as a Gaussian cube file")
    p.add_argument("--charge", type=int, default=None, metavar="Q", help="total charge (default: from the input, else 0)")
    p.add_argument("--order", type=int, default=2, choices=(0, 1, 2),
                   help="multipole order of the MEP: 0 charges, 1 + atomic dipoles, 2 + atomic quadrupoles (default)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the output here instead of stdout")
    sub.add_parser("models", help="list the available models and their test metrics")
    batch_command.add_parser(sub)
    return parser


def _cmd_models() -> str:
    lines = []
    for name in registry.MODEL_NAMES:
        card = cards.model_card(name)
        if card is None:
            lines.append(f"{name}: no weights ({cards.weights_path(name)} missing)")
            continue
        tm = card.get("test_metrics", {})
        iso = tm.get("mep_isodensity", {})
        extra = ""
        if tm:
            extra = (f"  test: |μ| MAE {tm.get('dipole_magnitude_mae_debye', float('nan')):.3f} D, "
                     f"MEP MAE (isodensity) {iso.get('mae', float('nan')):.2f} kcal/mol/e")
        lines.append(f"{name}: {card.get('description', '')}{extra}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "models":
            sys.stdout.write(_cmd_models())
            return 0
        if args.command == "batch":
            return batch_command.main(args)
        if args.spacing is not None and not (0.02 <= args.spacing <= 1.0):
            raise UsageError(f"--spacing {args.spacing} Å is outside [0.02, 1.0] Å")
        inputs = [args.input] + ([args.points] if args.points else [])
        for out in (args.output, args.cube):
            if out:
                check_output(out, *inputs)
                if not Path(out).resolve().parent.is_dir():
                    raise UsageError(f"cannot write {out}: folder {Path(out).resolve().parent} does not exist")
        points = load_points(args.points) if args.points else None
        mols = load_molecules(args.input, args.charge)
        if args.cube:
            for k in range(len(mols)):
                check_output(args.cube if len(mols) == 1 else _numbered(args.cube, k + 1),
                             *inputs, *([args.output] if args.output else []))
        records = compute(mols, args.model, args.surface, points, args.cube, args.spacing, args.order,
                          warn=lambda line: print(line, file=sys.stderr))
        if args.format == "json":
            text = format_json(records) + "\n"
        elif args.format == "csv":
            text = format_csv(records, points)
        else:
            text = format_table(records, points)
        if args.output:
            write_output(args.output, text)
        else:
            sys.stdout.write(text)
        return 0
    except (MoleculeInputError, UsageError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback on the command line
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return msg or type(exc).__name__
