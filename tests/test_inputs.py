"""Molecule input layer: good inputs, determinism, validation, and a corpus of bad files."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from mepviz import inputs as I
from mepviz.applicability import assess, trained_domain
from mepviz.elements import atomic_number
from mepviz.molecule import Molecule, MoleculeInputError
from mepviz.predict import model_card

QM9_ELEMENTS = (1, 6, 7, 8, 9)

HERE = Path(__file__).parent
BAD = HERE / "bad_inputs"
GOOD = HERE / "good_inputs"
EXPECTED = json.loads((BAD / "expected.json").read_text())


def _min_distance(m: Molecule) -> float:
    d = np.linalg.norm(m.positions[:, None] - m.positions[None], axis=-1)
    return float(d[np.triu_indices(m.n_atoms, 1)].min())


def _bond_lengths(m: Molecule, zi: int, zj: int) -> list[float]:
    out = []
    for i, j, _ in m.bonds:
        if {int(m.numbers[i]), int(m.numbers[j])} == {zi, zj}:
            out.append(float(np.linalg.norm(m.positions[i] - m.positions[j])))
    return out


# --------------------------------------------------------------------------- good inputs
def test_water_xyz():
    (m,) = I.read_file(GOOD / "water.xyz")
    assert m.symbols == ["O", "H", "H"]
    assert (m.charge, m.multiplicity, m.name, m.smiles) == (0, 1, "water", "O")
    assert len(m.bonds) == 2
    assert I.fragment_count(m) == 1


def test_benzene_smiles():
    m = I.from_smiles("c1ccccc1")
    assert m.formula == "C6H6" and m.n_atoms == 12
    assert (m.charge, m.multiplicity, m.smiles) == (0, 1, "c1ccccc1")
    assert len(m.bonds) == 12
    assert sorted({o for _, _, o in m.bonds}) == [1.0, 1.5]
    cc = _bond_lengths(m, 6, 6)
    assert len(cc) == 6 and np.allclose(cc, 1.39, atol=0.03)
    # planar ring
    c = m.positions[m.numbers == 6]
    _, s, _ = np.linalg.svd(c - c.mean(0))
    assert s[-1] < 0.05


def test_acetate_anion_charge():
    m = I.from_smiles("[O-]C(=O)C")
    assert (m.charge, m.multiplicity, m.formula) == (-1, 1, "C2H3O2")
    assert I.from_smiles("[O-]C(=O)C", charge=-1).charge == -1
    with pytest.raises(MoleculeInputError, match="charge"):
        I.from_smiles("[O-]C(=O)C", charge=0)


def test_methyl_radical_multiplicity():
    m = I.from_smiles("[CH3]")
    assert (m.charge, m.multiplicity, m.n_atoms) == (0, 2, 4)
    # round trip through XYZ with the multiplicity in the comment line
    (r,) = I.from_xyz(m.to_xyz())
    assert (r.charge, r.multiplicity) == (0, 2)


def test_multiframe_xyz():
    ms = I.read_file(GOOD / "three_frames.xyz")
    assert [m.formula for m in ms] == ["H2O", "CH4O", "CHN"]
    assert [m.smiles for m in ms] == ["O", "CO", "C#N"]
    assert ms[1].name == "frame 1 CO"


def test_2d_mol_block_embedded_with_h():
    (m,) = I.read_file(GOOD / "phenol_2d.mol")
    assert m.formula == "C6H6O" and m.n_atoms == 13
    assert m.name == "phenol 2D"
    assert np.ptp(m.positions[:, 2]) > 0.5  # really 3D now
    assert np.allclose(_bond_lengths(m, 6, 1), 1.09, atol=0.03)
    assert _min_distance(m) > 0.9
    assert any("2D" in w for w in I.input_warnings(m))


def test_sdf_two_records():
    ms = I.read_file(GOOD / "two_records.sdf")
    assert len(ms) == 2
    a, b = ms
    assert (a.name, a.charge, a.multiplicity, a.formula) == ("acetate", -1, 1, "C2H3O2")
    # second record has implicit H only: they are added with coordinates
    assert b.formula == "C2H7N" and b.n_atoms == 10
    assert np.all(np.isfinite(b.positions)) and _min_distance(b) > 0.9
    assert np.allclose(_bond_lengths(b, 6, 1), 1.09, atol=0.05)


def test_nh4_xyz_charge_in_comment():
    (m,) = I.read_file(GOOD / "nh4.xyz")
    assert (m.charge, m.multiplicity, m.name, m.smiles) == (1, 1, "ammonium", "[NH4+]")
    text = (GOOD / "nh4.xyz").read_text()
    with pytest.raises(MoleculeInputError, match="charge=1.*charge=0|charge=0"):
        I.from_xyz(text, charge=0)
    assert I.from_xyz(text.replace("charge=1", ""), charge=1)[0].charge == 1


def test_smiles_file_with_header_and_names():
    ms = I.read_file(GOOD / "mixed.smi")
    assert [(m.name, m.charge) for m in ms] == [("benzene", 0), ("acetate", -1)]


def test_deterministic_coordinates():
    a = I.from_smiles("CC(O)CCN", seed=7)
    b = I.from_smiles("CC(O)CCN", seed=7)
    assert np.array_equal(a.positions, b.positions)
    assert a.key() == b.key()


def test_fragments_are_separated_and_counted():
    m = I.from_smiles("[Na+].[Cl-]")
    assert I.fragment_count(m) == 2 and m.charge == 0
    assert _min_distance(m) > 2.5
    w = I.from_smiles("O.O")
    assert I.fragment_count(w) == 2 and _min_distance(w) > 0.9
    # distance-based count when no bonds are known
    arr = I.from_arrays(["H", "H", "H", "H"], [[0, 0, 0], [0, 0, 0.74], [5, 0, 0], [5, 0, 0.74]])
    assert I.fragment_count(arr) == 2 and len(I.fragments(arr)) == 2


def test_uff_fallback_is_reported():
    m = I.from_smiles("C[Se]C")
    assert any("UFF" in w for w in I.input_warnings(m))
    assert I.input_warnings(I.from_smiles("CCO")) == ()


def test_xyz_case_insensitive_symbols_and_atomic_numbers():
    text = "3\n\no 0 0 0.117\n1 0 0.757 -0.469\nh 0 -0.757 -0.469\n"
    (m,) = I.from_xyz(text)
    assert m.symbols == ["O", "H", "H"]
    (c,) = I.from_xyz("2\nHCl\nCL 0 0 0\nh 0 0 1.27\n")
    assert c.symbols == ["Cl", "H"]


def test_from_arrays():
    m = I.from_arrays([8, "H", "h"], [[0, 0, 0.117], [0, 0.757, -0.469], [0, -0.757, -0.469]], name="w")
    assert m.symbols == ["O", "H", "H"] and m.name == "w"
    with pytest.raises(MoleculeInputError, match="positions"):
        I.from_arrays([8, 1], [[0, 0, 0]])
    with pytest.raises(MoleculeInputError, match="odd number of electrons"):
        I.from_arrays([1], [[0, 0, 0]])
    assert I.from_arrays([1], [[0, 0, 0]], multiplicity=2).multiplicity == 2
    with pytest.raises(MoleculeInputError, match="not a finite number"):
        I.from_arrays([1, 1], [[0, 0, 0], [0, 0, np.nan]])
    with pytest.raises(MoleculeInputError, match="'Qq' is not an element"):
        I.from_arrays(["Qq"], [[0, 0, 0]])


def test_read_file_bytes_filelike_and_sniffing():
    data = (GOOD / "water.xyz").read_bytes()
    assert I.read_file(data, filename="w.xyz")[0].formula == "H2O"
    assert I.read_file(data)[0].formula == "H2O"  # sniffed
    buf = io.BytesIO((GOOD / "two_records.sdf").read_bytes())
    buf.name = "upload.sdf"
    assert len(I.read_file(buf)) == 2
    assert I.read_file(b"CCO\n", filename="x.txt")[0].smiles == "CCO"
    assert I.parse_text("c1ccccc1", "smiles")[0].formula == "C6H6"
    with pytest.raises(MoleculeInputError, match="does not exist"):
        I.read_file(str(GOOD / "does_not_exist.xyz"))
    with pytest.raises(TypeError):
        I.read_file(data, filename="w.xyz", bogus=1)


def test_max_atoms_is_configurable():
    with pytest.raises(MoleculeInputError, match="limit is 200 atoms"):
        I.from_smiles("C" * 70)
    assert I.from_smiles("C" * 70, max_atoms=300).n_atoms == 212
    with pytest.raises(MoleculeInputError, match="limit is 10 atoms"):
        I.read_file(GOOD / "phenol_2d.mol", max_atoms=10)


def test_validate_messages():
    w = I.from_smiles("O")
    h1, h2 = np.flatnonzero(w.numbers == 1)
    pos = np.array(w.positions)
    pos[h2] = pos[h1] + [0.1, 0, 0]
    bad = Molecule(w.numbers, pos)
    with pytest.raises(MoleculeInputError, match=rf"atoms {h1 + 1} \(H\) and {h2 + 1} \(H\) are only 0\.100 Å apart"):
        I.validate(bad)
    with pytest.raises(MoleculeInputError, match="limit is 2 atoms"):
        I.validate(w, max_atoms=2)
    with pytest.raises(MoleculeInputError, match="multiplicity 2 is impossible"):
        I.validate(Molecule(w.numbers, w.positions, multiplicity=2))
    assert I.validate(w, elements=QM9_ELEMENTS) is w


def test_unsupported_elements_named():
    m = I.from_smiles("CS(=O)C")
    assert I.validate(m) is m  # parsers do not check element support
    with pytest.raises(MoleculeInputError) as e:
        I.validate(m, elements=QM9_ELEMENTS)
    msg = str(e.value)
    assert "do not support S:" in msg and "H, C, N, O, F" in msg
    with pytest.raises(MoleculeInputError) as e2:
        I.validate(I.from_smiles("ClCBr"), elements=QM9_ELEMENTS)
    assert "Cl, Br" in str(e2.value) and "H, C, N, O, F" in str(e2.value)


def test_charge_escape_hatch_for_exotic_ions():
    m = I.from_smiles("c1ccc2cc3ccccc3cc2c1")  # anthracene; dication has no RDKit bond pattern
    text = m.to_xyz("anthracene dication charge=2")
    with pytest.raises(MoleculeInputError, match="suggests charge=0"):
        I.from_xyz(text)
    (d,) = I.from_xyz(text, check_charge=False)
    assert d.charge == 2 and I.input_warnings(d)


def test_rdkit_stays_quiet(capfd):
    with pytest.raises(MoleculeInputError, match="Invalid SMILES 'C1CC'"):
        I.from_smiles("C1CC")
    with pytest.raises(MoleculeInputError):
        I.from_smiles("C(C)(C)(C)(C)C")
    out, err = capfd.readouterr()
    assert err == "" and out == ""


# --------------------------------------------------------------------------- bad corpus
#: a string (or {"error": …}): reading fails with it; an object: the file reads and assess()
#: must show it; points/: --points files (tests/test_corpus.py)
MOLECULE_CASES = {k: v for k, v in EXPECTED.items() if not k.startswith("points/")}
FAILS = sorted(k for k, v in MOLECULE_CASES.items() if isinstance(v, str) or "error" in v)
ASSESSED = sorted(k for k, v in MOLECULE_CASES.items() if isinstance(v, dict) and "error" not in v)


def _message(name: str) -> str:
    want = EXPECTED[name]
    return want if isinstance(want, str) else want["error"]


def test_corpus_is_complete():
    # every file is a case, except the expectations and the generated report (tests.corpus_report)
    files = sorted(str(p.relative_to(BAD)) for p in BAD.rglob("*")
                   if p.is_file() and p.name not in ("expected.json", "REPORT.md"))
    assert len(files) >= 250
    assert sorted(EXPECTED) == files


@pytest.mark.parametrize("name", FAILS)
def test_bad_input(name):
    try:
        result = I.read_file(BAD / name)
    except MoleculeInputError as exc:
        assert _message(name) in str(exc), str(exc)
        assert "\n" not in str(exc)  # one-line reason
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"{name}: {type(exc).__name__} escaped: {exc}")
    else:
        pytest.fail(f"{name}: no error, got {result}")


@pytest.mark.parametrize("name", FAILS)
def test_bad_input_as_bytes(name):
    """Same files through the upload path (bytes + filename)."""
    with pytest.raises(MoleculeInputError):
        I.read_file((BAD / name).read_bytes(), filename=name)


@pytest.mark.parametrize("name", ASSESSED)
def test_extreme_input_is_read_with_a_visible_verdict(name):
    """Accepted inputs outside what the models know: never a silent answer."""
    want = EXPECTED[name]
    for mol in I.read_file(BAD / name):
        _check_verdict(mol, want)


def _check_verdict(mol, want: dict) -> None:
    verdict = assess(mol, "quadrupole")
    if want.get("clean"):
        assert verdict.ok and not verdict.notes, verdict
    if "note" in want:
        assert any(want["note"] in n for n in verdict.notes), verdict
    if "refusal" in want:
        assert want["refusal"] in (verdict.refusal or ""), verdict
    if "dft_refusal" in want:
        assert want["dft_refusal"] in (assess(mol).refusal or "")
    if "weights" in want:      # refused exactly when the installed weights cannot represent it
        embedded = trained_domain(model_card("quadrupole"))[0]
        if atomic_number(want["weights"]) in embedded:
            assert verdict.ok, verdict
        else:
            assert f"weights do not support {want['weights']}:" in verdict.refusal
    if "charge_note" in want:  # noted exactly when the installed weights never saw that charge
        trained = trained_domain(model_card(want["charge_note"]))[2]
        noted = any(f"charge {mol.charge:+d} is outside what the {want['charge_note']} model was trained on"
                    in n.lower() for n in verdict.notes)
        assert mol.charge != 0 and noted == (mol.charge not in trained), verdict
    if not {"refusal", "weights"} & set(want):
        assert verdict.ok, verdict


def test_random_junk_never_escapes():
    rng = np.random.default_rng(123)
    samples = [rng.bytes(int(n)) for n in rng.integers(1, 400, size=20)]
    samples += [b"3\n\n" + rng.bytes(50), b"\xef\xbb\xbf", b"1\n\nC 1e400 0 0\n", b"2\n\nC 0 0 0\n"]
    for ext in (".xyz", ".sdf", ".mol", ".smi", ".txt"):
        for data in samples:
            try:
                I.read_file(data, filename="junk" + ext)
            except MoleculeInputError:
                pass
    # printable garbage through every text parser
    for text in ["3\nx\n", "C 0 0 0", "M  END", "$$$$", "1\n\nC 0 0", "\n\n\n", "((((", "2\n\nH 0 0 0\nH 0 0 0.74\n7"]:
        for fmt in ("xyz", "sdf", "mol", "smi", "txt"):
            try:
                I.parse_text(text, fmt)
            except MoleculeInputError:
                pass


def test_neutral_unassignable_bonding_is_a_warning_not_an_error():
    # Fe(CO)3 fragment: RDKit cannot assign bond orders; geometry and charge are kept
    text = "7\nFe(CO)3\nFe 0 0 0\nC 0 0 1.8\nO 0 0 2.95\nC 0 0 -1.8\nO 0 0 -2.95\nC 1.8 0 0\nO 2.95 0 0\n"
    (m,) = I.from_xyz(text)
    assert m.charge == 0 and m.n_atoms == 7
    assert any("Bond orders" in w for w in I.input_warnings(m))


def test_mol_block_radical_and_v3000():
    from rdkit import Chem
    from rdkit.Chem import AllChem

    ethyl = Chem.MolFromSmiles("C[CH2]")
    AllChem.Compute2DCoords(ethyl)
    m = I.from_mol(Chem.MolToMolBlock(ethyl))
    assert (m.formula, m.charge, m.multiplicity) == ("C2H5", 0, 2)
    (n,) = I.from_sdf(Chem.MolToV3KMolBlock(Chem.MolFromSmiles("[NH4+]")))
    assert (n.formula, n.charge) == ("H4N", 1)
