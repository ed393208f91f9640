"""Issue 21: property-based tests (hypothesis) of the readers, the record splitter, the one
bounded reader and the plausibility gate. Whatever comes in: a molecule that passes the gate,
or a MoleculeInputError with a one-line message — never another exception, never a silent
wrong answer, never a hang. Bounded to a few minutes (``max_examples`` per test)."""
from __future__ import annotations

import functools
import math
import re
import string
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mepviz.core import limits, registry
from mepviz.core.molecule import Molecule, MoleculeInputError
from mepviz.io import from_smiles, parse_text, read_file
from mepviz.io.records import records
from mepviz.io.text import LongLine, user_lines
from mepviz.ml.applicability import Refused, assess
from mepviz.ml.predict import get_predictor
from mepviz.physics import domain

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True, database=None)
SYMBOLS = ["H", "C", "N", "O", "F", "Cl", "Br", "S", "P", "I", "He", "Si", "U", "h", "CL", "Xx", "D", "1", "8",
           "0", "200"]
NUMBERS = st.one_of(st.floats(-5, 5, allow_nan=False).map(lambda x: f"{x:.4f}"),
                    st.sampled_from(["nan", "inf", "-inf", "1e309", "1e30", "0x1p3", "1,5", "", "1.0D+00", "abc"]))


def _refusal_is_clean(exc: BaseException) -> None:
    assert isinstance(exc, MoleculeInputError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert msg.strip() and "\n" not in msg.strip() and "Traceback" not in msg, repr(msg)


def _passes_the_gate(mol: Molecule) -> None:
    """What every molecule a reader returns must satisfy."""
    assert domain.structure_refusal(mol) is None, domain.structure_refusal(mol)
    assert np.isfinite(mol.positions).all() and 1 <= mol.n_atoms <= limits.MAX_ATOMS
    assert domain.electron_refusal(mol) is None, domain.electron_refusal(mol)


# ----------------------------------------------------------------------------- readers
@FUZZ
@given(data=st.binary(max_size=600), ext=st.sampled_from([".xyz", ".sdf", ".mol", ".smi", ".txt"]))
def test_any_bytes_under_any_name(data, ext):
    try:
        mols = read_file(data, filename="fuzz" + ext)
    except Exception as exc:  # noqa: BLE001 — checked: only a clean MoleculeInputError
        return _refusal_is_clean(exc)
    for m in mols:
        _passes_the_gate(m)


@st.composite
def xyz_texts(draw):
    """Text shaped like XYZ: a count line (sometimes wrong), a comment with charge= and
    multiplicity= (sometimes), atom lines of symbols and numbers from hostile choices."""
    n = draw(st.integers(1, 5))
    count = draw(st.sampled_from([str(n), str(n + 1), str(n - 1), "-1", "x", f"{n} atoms", "+" + str(n)]))
    comment = draw(st.sampled_from(["", "charge=1", "charge=-1", "multiplicity=2", "charge=-8", "charge=9 mult=2",
                                    "mult=0", "charge=abc", "name"]))
    lines = [f"{draw(st.sampled_from(SYMBOLS))} {draw(NUMBERS)} {draw(NUMBERS)} {draw(NUMBERS)}" for _ in range(n)]
    end = draw(st.sampled_from(["\n", "\r\n", "\r", "\r\r\n"]))
    return end.join([count, comment, *lines]) + end


@FUZZ
@given(text=xyz_texts())
def test_xyz_like_text(text):
    try:
        mols = parse_text(text, "xyz")
    except Exception as exc:  # noqa: BLE001
        return _refusal_is_clean(exc)
    for m in mols:
        _passes_the_gate(m)


SMILES_ALPHABET = "CNOSPFIclnos()[]=#@+-123456789%.*/\\HBrX "


@FUZZ
@given(smiles=st.text(SMILES_ALPHABET, min_size=1, max_size=40))
def test_smiles_like_text(smiles):
    try:
        m = from_smiles(smiles)
    except Exception as exc:  # noqa: BLE001
        return _refusal_is_clean(exc)
    _passes_the_gate(m)


# ----------------------------------------------------------------------------- the record splitter
@FUZZ
@given(lines=st.lists(st.sampled_from(["O water", "CCO", "", "  ", "# note", "smiles", "C((", "[O-6]",
                                       "\u27e8x\u27e9"]) | st.text(string.printable, max_size=20), max_size=30))
def test_smiles_records_lose_nothing(lines):
    """One record per SMILES line (blank lines, comments and a first header row aside), in order."""
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    recs = list(records(lines, "smi"))
    assert [r.number for r in recs] == list(range(1, len(recs) + 1))
    kept = [ln for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    header = bool(kept) and re.split(r"[ \t,]+", kept[0].strip(), maxsplit=1)[0].lower() in ("smiles", "smi")
    assert len(recs) == len(kept) - header


@FUZZ
@given(blocks=st.lists(st.text(string.ascii_letters + string.digits + " \n", max_size=60), max_size=8))
def test_sdf_records_lose_nothing(blocks):
    """One record per non-blank block between '$$$$' lines."""
    lines = "\n$$$$\n".join(blocks).split("\n")
    recs = list(records(lines, "sdf"))
    assert len(recs) == sum(1 for b in blocks if b.strip())
    assert all(r.text.endswith("$$$$\n") for r in recs)


#: text (printable, with line ends of every kind), as UTF-8 or UTF-16 bytes
TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from("\n\r\t")),
               max_size=2000)
#: lines of 0 to 150 characters (hypothesis's text alone stays short), any line end
LINES = st.lists(st.tuples(st.integers(0, 150), st.sampled_from(["C", "é", "€", "\u2028", " "]),
                           st.sampled_from(["\n", "\r\n", "\r", "\r\r\n", ""])),
                 max_size=12).map(lambda parts: "".join(ch * n + end for n, ch, end in parts))
ANY_FILE = st.one_of(st.binary(max_size=2000), TEXT.map(str.encode), TEXT.map(lambda t: t.encode("utf-16")),
                     LINES.map(str.encode), LINES.map(lambda t: t.encode("utf-16")))


@FUZZ
@given(data=ANY_FILE, cap=st.integers(5, 60))
def test_the_bounded_line_reader(data, cap):
    """Any file: lines or one clean refusal; no line longer than the limit is ever returned
    whole (it comes as a LongLine naming its length)."""
    old = limits.MAX_LINE_CHARS
    limits.MAX_LINE_CHARS = cap
    try:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "f.smi"
            path.write_bytes(data)
            try:
                lines = list(user_lines(path))
            except Exception as exc:  # noqa: BLE001
                return _refusal_is_clean(exc)
        for ln in lines:
            assert isinstance(ln, LongLine) or len(ln) <= cap, (cap, ln)
            if isinstance(ln, LongLine):
                assert "characters" in ln.problem and "\n" not in ln.problem
    finally:
        limits.MAX_LINE_CHARS = old


# ----------------------------------------------------------------------------- the gate
@st.composite
def molecules(draw):
    """Hand-built molecules: elements (and non-elements), positions with NaN, inf, overlaps
    and huge values, any charge and multiplicity."""
    n = draw(st.integers(1, 6))
    numbers = draw(st.lists(st.sampled_from([1, 1, 6, 7, 8, 9, 17, 2, 14, 92, 0]), min_size=n, max_size=n))
    coord = st.one_of(st.floats(-4, 4, allow_nan=False), st.sampled_from([math.nan, math.inf, 1e30, 0.0]))
    pos = draw(st.lists(st.tuples(coord, coord, coord), min_size=n, max_size=n))
    return Molecule(numbers, pos, charge=draw(st.integers(-12, 12)), multiplicity=draw(st.integers(-1, 6)))


@FUZZ
@given(mol=molecules())
def test_the_gate_on_hand_built_molecules(mol):
    """assess never raises; when it lets a molecule through, the molecule is physical (finite,
    not overlapping, electrons that exist with that multiplicity, a charge in −4…+4), and the
    predictor's answer is finite."""
    verdict = assess(mol, "quadrupole")
    dft = assess(mol)
    assert all("\n" not in n for n in verdict.notes)
    if dft.ok:
        assert np.isfinite(mol.positions).all() and mol.charge in registry.DFT_CHARGES
        assert mol.n_electrons >= 1 and (mol.n_electrons - mol.multiplicity + 1) % 2 == 0 and mol.multiplicity >= 1
        d = np.linalg.norm(mol.positions[:, None] - mol.positions[None], axis=-1) + np.eye(mol.n_atoms) * 9
        assert d.min() >= domain.MIN_DISTANCE
    if not verdict.ok:
        assert verdict.refusal.strip() and "\n" not in verdict.refusal
        return
    assert dft.ok and not (mol.n_atoms == 1 and mol.charge == 0)
    try:
        pred = get_predictor("quadrupole").predict(mol)
    except Refused as exc:       # (never: the same verdict)
        raise AssertionError(f"refused after an ok verdict: {exc}")
    assert np.isfinite(pred.charges).all() and abs(pred.charges.sum() - mol.charge) < 1e-3


@functools.lru_cache(maxsize=1)
def _water_prediction():
    mol = Molecule([8, 1, 1], [[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]])
    return get_predictor("quadrupole").predict(mol)


@FUZZ
@given(offsets=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=20),
       scale=st.sampled_from([1e-4, 1e-3, 0.05, 0.2, 0.6, 3.0]))
def test_points_near_nuclei(offsets, scale):
    """A potential at points: refused exactly when a point lies inside MIN_POINT_DISTANCE of a
    nucleus; else finite values (a note within NEAR_POINT_DISTANCE)."""
    pred = _water_prediction()
    mol = pred.molecule
    pts = mol.positions[0] + scale * np.asarray(offsets)
    d = np.linalg.norm(pts[:, None] - mol.positions[None], axis=-1).min()
    try:
        values = pred.mep(pts)
    except domain.Meaningless as exc:
        assert d < domain.MIN_POINT_DISTANCE and "from a nucleus" in str(exc)
        return
    assert d >= domain.MIN_POINT_DISTANCE and np.isfinite(values).all()
    assume(d < domain.NEAR_POINT_DISTANCE)
    assert domain.check_points(mol, pts)[1]
