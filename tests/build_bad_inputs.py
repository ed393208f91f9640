"""Write the generated part of the bad-input corpus (tests/bad_inputs) and its expectations.

    python tests/build_bad_inputs.py

Each case is a file plus what it must produce (tests/test_inputs.py reads expected.json):
a string — reading the file raises MoleculeInputError containing it; or an object — the file
reads, and ``applicability.assess`` gives a note (``note``), a refusal for the models
(``refusal``), a refusal of the DFT reference (``dft_refusal``), or refuses exactly when the
installed weights lack an element (``weights``). Hand-written cases already in the folder
are kept.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

BAD = Path(__file__).resolve().parent / "bad_inputs"
WATER = [("O", 0.0, 0.0, 0.1173), ("H", 0.0, 0.7572, -0.4692), ("H", 0.0, -0.7572, -0.4692)]


def xyz(atoms, comment: str = "") -> str:
    return f"{len(atoms)}\n{comment}\n" + "".join(f"{s} {x:.6g} {y:.6g} {z:.6g}\n" for s, x, y, z in atoms)


def moved(atoms, dx=0.0, dy=0.0, dz=0.0, scale=1.0):
    return [(s, x * scale + dx, y * scale + dy, z * scale + dz) for s, x, y, z in atoms]


def water_sdf(name: str) -> str:
    return (f"{name}\n  MEPviz\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n"
            "    0.0000    0.0000    0.1173 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
            "    0.0000    0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
            "    0.0000   -0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
            "  1  2  1  0\n  1  3  1  0\nM  END\n$$$$\n")


EXTENT = "limit of the molecular extent is 60 Å"
PM = "bond lengths look like picometres"
COORD = "coordinates are limited to ±10000 Å"
ASCII = "SMILES are written in plain ASCII"
OPEN = "Open shell (multiplicity"
FRAG = "2 disconnected fragments"
#: a charge note exactly when the installed quadrupole weights were not trained on that charge
CHARGE_NOTE = {"charge_note": "quadrupole"}
BUILT = "outside the charges the models are built for (charges -2…+2)"
DFT = "outside the DFT reference's range (-4…+4)"

CASES = {
    # -- size, extent, coordinates: bounded before any allocation
    "extent_water_picometres.xyz": (xyz(moved(WATER, scale=100)), PM),
    "extent_water_times_1000.xyz": (xyz(moved(WATER, scale=1000)), PM),
    "extent_ammonia_picometres.xyz": (xyz([("N", 0, 0, 0), ("H", 101.2, 0, 0), ("H", -33.7, 95.4, 0),
                                           ("H", -33.7, -47.7, 82.6)]), PM),
    "extent_four_waters_300A.xyz": (xyz(sum((moved(WATER, dx=300 * k) for k in range(4)), [])), EXTENT),
    "extent_two_waters_100A.xyz": (xyz(WATER + moved(WATER, dz=100)), EXTENT),
    "extent_h_1000A_away.xyz": (xyz(WATER + [("H", 1000, 0, 0)], "multiplicity=2"), EXTENT),
    "extent_h_61A_away.xyz": (xyz(WATER + [("H", 0, 0, 61)], "multiplicity=2"), EXTENT),
    "extent_carbon_line_70A.xyz": (xyz([("C", 1.5 * k, 0, 0) for k in range(48)]), EXTENT),
    "coordinate_1e30.xyz": (xyz([("O", 1e30, 0, 0.1173)] + WATER[1:]), COORD),
    "coordinate_1e10.xyz": (xyz([("O", 1e10, 0, 0.1173)] + WATER[1:]), COORD),
    "coordinate_minus_1e6.xyz": (xyz([("O", 0, -1e6, 0.1173)] + WATER[1:]), COORD),
    "coordinate_1e400_overflow.xyz": ("3\n\nO 1e400 0 0\nH 0 0.757 -0.469\nH 0 -0.757 -0.469\n",
                                      "not a finite number"),
    "count_one_billion.xyz": ("1000000000\n\nO 0 0 0\n", "limit is 200 atoms"),
    "count_as_float.xyz": ("3.0\nwater\n" + xyz(WATER).split("\n", 2)[2], "expected the number of atoms"),
    "frames_501.xyz": (xyz(WATER, "water") * 501, "at least 501 molecules; the limit is 500"),
    "records_501.sdf": ("".join(water_sdf(f"w{k}") for k in range(501)), "501 molecules; the limit is 500"),
    "smiles_501_lines.smi": ("O\n" * 501, "501 molecules; the limit is 500"),
    "smiles_203_atoms.smi": ("C" * 67 + "\n", "limit is 200 atoms"),
    # -- charge and multiplicity the electrons cannot carry
    "charge_plus_12_water.xyz": (xyz(WATER, "charge=12"), "removes more electrons"),
    "charge_huge_integer.xyz": (xyz(WATER, "charge=99999999999999999999"), "removes more electrons"),
    "charge_half.xyz": (xyz(WATER, "charge=0.5"), "is not a whole number"),
    "charge_word.xyz": (xyz(WATER, "charge=minus"), "is not a whole number"),
    "charge_empty.xyz": (xyz(WATER, "charge="), "has no value"),
    "charge_conflict_with_smiles.smi": ("[NH4+] ammonium\n", None),   # placeholder, replaced below
    "multiplicity_4_water.xyz": (xyz(WATER, "multiplicity=4"), "multiplicity 4 is impossible"),
    "multiplicity_5_hydrogen.xyz": (xyz([("H", 0, 0, 0), ("H", 0.74, 0, 0)], "multiplicity=5"),
                                    "multiplicity 5 is impossible"),
    "multiplicity_negative.xyz": (xyz(WATER, "multiplicity=-1"), "multiplicity must be a positive integer"),
    "multiplicity_zero.xyz": (xyz(WATER, "mult=0"), "multiplicity must be a positive integer"),
    "odd_electrons_hydroxyl.xyz": (xyz([("O", 0, 0, 0), ("H", 0.97, 0, 0)]), "odd number of electrons"),
    # -- non-ASCII SMILES (once read as ethane)
    "smiles_umlaut.smi": ("CCÖ\n", ASCII),
    "smiles_en_dash.smi": ("C–C\n", ASCII),
    "smiles_fullwidth.smi": ("ＣＣＯ\n", ASCII),
    "smiles_zero_width_space.smi": ("C\u200bC\n", ASCII),
    "smiles_greek_alpha.smi": ("CCα\n", ASCII),
    "smiles_superscript_charge.smi": ("[NH4⁺]\n", ASCII),
    "smiles_no_break_space.smi": ("C\u00a0C\n", ASCII),
    "smiles_line_3_bad.smi": ("O water\nCO methanol\nC1CC broken\n", "line 3"),
    "smiles_only_dots.smi": ("..\n", "SMILES"),
    "xyz_umlaut_element.xyz": ("1\n\nÖ 0 0 0\n", "'Ö' is not an element"),
    # -- record naming in multi-record files
    "xyz_frame_3_bad_element.xyz": (xyz(WATER) * 2 + "1\n\nQq 0 0 0\n", "line"),
    "sdf_record_3_truncated.sdf": (water_sdf("a") + water_sdf("b") + "c\n  MEPviz\n\n  3  2  0\n$$$$\n",
                                   "SDF record 3"),
    "sdf_counts_999.sdf": ("big\n  MEPviz\n\n999  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n", "truncated"),
    # -- wrong file types and encodings
    "water.xyz.gz": (None, "gzip archive"),
    "gzip_named.xyz": (None, "gzip archive"),
    "pdf_named.sdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF document"),
    "structure.cif": ("data_water\n_cell_length_a 10\n", "Unsupported file type .cif"),
    "structure.mol2": ("@<TRIPOS>MOLECULE\nwater\n", "Unsupported file type .mol2"),
    "xyz_semicolons.xyz": ("3\n\nO;0;0;0\nH;0;0.757;-0.469\nH;0;-0.757;-0.469\n", "expected 'element x y z'"),
    # -- accepted, with a visible note
    "note_methyl_radical.smi": ("[CH3]\n", {"note": OPEN + " 2"}),
    "note_carbene.smi": ("[CH2]\n", {"note": OPEN + " 3"}),
    "note_nitroxide.smi": ("CN([O])C\n", {"note": OPEN + " 2"}),
    "note_triplet_oxygen.xyz": (xyz([("O", 0, 0, 0), ("O", 1.21, 0, 0)], "multiplicity=3"), {"note": OPEN + " 3"}),
    "note_hydroxyl_radical.xyz": (xyz([("O", 0, 0, 0), ("H", 0.97, 0, 0)], "multiplicity=2"), {"note": OPEN + " 2"}),
    "note_salt_ammonium_acetate.smi": ("[NH4+].CC(=O)[O-]\n", {"note": FRAG}),
    "note_salt_acetate_ammonium.smi": ("CC(=O)[O-].[NH4+]\n", {"note": FRAG}),
    "note_methanol_dimer.smi": ("CO.CO\n", {"note": FRAG}),
    "note_water_dimer_6A.xyz": (xyz(WATER + moved(WATER, dx=6)), {"note": FRAG}),
    "note_isolated_hydrogen_10A.xyz": (xyz(WATER + [("H", 10, 0, 0)], "multiplicity=2"), {"note": "Atom 4 (H) is isolated"}),
    "note_isolated_fluoride.xyz": (xyz(WATER + [("F", 0, 0, 8)], "charge=-1"), {"note": "Atom 4 (F) is isolated"}),
    "note_water_in_bohr.xyz": (xyz(moved(WATER, scale=1.8897)), {"note": "in bohr"}),
    "note_short_ch_bond.xyz": (xyz([("C", 0, 0, 0), ("H", 0.6, 0, 0), ("H", -0.36, 1.03, 0), ("H", -0.36, -0.51, 0.89),
                                    ("H", -0.36, -0.51, -0.89)]), {"note": "far shorter than a bond"}),
    "note_anion_hydroxide.smi": ("[OH-]\n", CHARGE_NOTE),
    "note_cation_methylammonium.smi": ("C[NH3+]\n", CHARGE_NOTE),
    "note_dianion_oxalate.smi": ("[O-]C(=O)C(=O)[O-]\n", CHARGE_NOTE),
    "note_trianion_citrate.smi": ("[O-]C(=O)CC(O)(CC(=O)[O-])C(=O)[O-]\n", {"note": BUILT}),
    "note_tetracation.smi": ("[NH3+]CC([NH3+])C([NH3+])C[NH3+]\n", {"note": BUILT}),
    "mellitate_minus_6.smi": ("O=C([O-])c1c(C(=O)[O-])c(C(=O)[O-])c(C(=O)[O-])c(C(=O)[O-])c1C(=O)[O-]\n",
                              {"note": BUILT, "dft_refusal": DFT}),
    "pentacation_plus_5.smi": ("[NH3+]CC([NH3+])C([NH3+])C([NH3+])C[NH3+]\n", {"note": BUILT, "dft_refusal": DFT}),
    # -- refused: the answer would be meaningless or cannot be computed
    "refusal_water_charge_minus_40.xyz": (xyz(WATER, "charge=-40"), {"refusal": "larger in magnitude than the 10 electrons"}),
    "refusal_water_charge_minus_11.xyz": (xyz(WATER, "charge=-11 multiplicity=2"), {"refusal": "larger in magnitude than the 10 electrons"}),
    "refusal_water_charge_plus_10.xyz": (xyz(WATER, "charge=10"), {"refusal": "leaves no electrons"}),
    "refusal_proton.smi": ("[H+]\n", {"refusal": "leaves no electrons"}),
    "refusal_bare_helium_2plus.xyz": (xyz([("He", 0, 0, 0)], "charge=2"), {"refusal": "leaves no electrons"}),
    "refusal_tetramethylsilane.smi": ("C[Si](C)(C)C\n", {"refusal": "The ML models do not support Si"}),
    "refusal_sodium_chloride.smi": ("[Na+].[Cl-]\n", {"refusal": "The ML models do not support Na", "note": FRAG}),
    "refusal_helium.xyz": (xyz([("He", 0, 0, 0)]), {"refusal": "The ML models do not support He"}),
    "refusal_dimethyl_selenide.smi": ("C[Se]C\n", {"refusal": "The ML models do not support Se"}),
    "refusal_boric_acid.smi": ("OB(O)O\n", {"refusal": "The ML models do not support B"}),
    "refusal_uranium.xyz": (xyz([("U", 0, 0, 0), ("F", 2.0, 0, 0)], "multiplicity=2"),
                            {"refusal": "The ML models do not support U"}),
    # -- elements the registry knows but the installed weights may not
    "weights_dmso.smi": ("CS(C)=O\n", {"weights": "S"}),
    "weights_bromoethane.smi": ("CCBr\n", {"weights": "Br"}),
    "weights_iodomethane.smi": ("CI\n", {"weights": "I"}),
    "weights_chlorobenzene.smi": ("Clc1ccccc1\n", {"weights": "Cl"}),
    "weights_trimethylphosphine.smi": ("CP(C)C\n", {"weights": "P"}),
}
CASES["charge_conflict_with_smiles.smi"] = ("[NH4+] ammonium\n[NH4+]C\n", "valence")


def main() -> int:
    expected = json.loads((BAD / "expected.json").read_text())
    for name, (content, expect) in CASES.items():
        if name == "water.xyz.gz" or name == "gzip_named.xyz":
            content = gzip.compress(xyz(WATER).encode(), mtime=0)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (BAD / name).write_bytes(data)
        expected[name] = expect
    (BAD / "expected.json").write_text(json.dumps(dict(sorted(expected.items())), indent=1,
                                                  ensure_ascii=False) + "\n")
    print(f"{len(CASES)} generated cases; {len(expected)} in the corpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
