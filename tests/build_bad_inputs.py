"""Write the generated part of the bad-input corpus (tests/bad_inputs) and its expectations.

    python tests/build_bad_inputs.py

Each case is a file plus what it must produce (tests/test_inputs.py and tests/test_corpus.py
read expected.json): a string — reading the file raises MoleculeInputError containing it (also
written {"error": …} when a path has an exception, e.g. ``"cli_batch": "clean"``: the command-
line batch has no molecule-count limit); or an object — the file reads, and
``applicability.assess`` gives a note (``note``), a refusal for the models (``refusal``), a
refusal of the DFT reference (``dft_refusal``), refuses exactly when the installed weights lack
an element (``weights``), or nothing at all (``clean``: a clean answer). ``points/`` holds
``--points`` files for water (the same kinds of expectation). Hand-written cases already in
the folder are kept.
"""
from __future__ import annotations

import gzip
import io
import json
import math
from pathlib import Path

import numpy as np

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


# ------------------------------------------------------------------ issue 21: nothing lost, nothing invented
def molblock(name, atoms, bonds=(), props=()) -> str:
    """A V2000 MOL block (atoms: (symbol, x, y, z); bonds: (i, j, type), 1-based)."""
    lines = [name, "  MEPviz", "", f"{len(atoms):3d}{len(bonds):3d}  0  0  0  0  0  0  0  0999 V2000"]
    lines += [f"{x:10.4f}{y:10.4f}{z:10.4f} {s:<3} 0  0  0  0  0  0  0  0  0  0  0  0" for s, x, y, z in atoms]
    lines += [f"{a:3d}{b:3d}{o:3d}  0" for a, b, o in bonds]
    return "\n".join([*lines, *props, "M  END"]) + "\n"


WATER_BONDS = ((1, 2, 1), (1, 3, 1))
HYDROXIDE = [("O", 0.0, 0.0, 0.0), ("H", 0.97, 0.0, 0.1)]
AMMONIUM = [("N", 0, 0, 0), ("H", 0.59, 0.59, 0.59), ("H", -0.59, -0.59, 0.59), ("H", -0.59, 0.59, -0.59),
            ("H", 0.59, -0.59, -0.59)]
#: benzene's carbons, tilted out of the xy plane (a 3D record, not a flat 2D one)
BENZENE_C = [("C", 1.39 * math.cos(a), 1.39 * math.sin(a) * 0.985, 1.39 * math.sin(a) * 0.17)
             for a in (k * math.pi / 3 for k in range(6))]
V3000_WATER = """water
  MEPviz

  0  0  0     0  0            999 V3000
M  V30 BEGIN CTAB
M  V30 COUNTS 3 2 0 0 0
M  V30 BEGIN ATOM
M  V30 1 O 0 0 0.1173 0
M  V30 2 H 0 0.7572 -0.4692 0
M  V30 3 H 0 -0.7572 -0.4692 0
M  V30 END ATOM
M  V30 BEGIN BOND
M  V30 1 TYPE 1 2
M  V30 2 1 1 3
M  V30 END BOND
M  V30 END CTAB
M  END
"""
QUERY = "is a query bond"
FORMAL = "which no {} atom can carry"
DFT_RANGE = "outside the DFT reference's range (-4…+4)"
BARE = "A single neutral {} atom"
ION = {"note": "A monatomic ion"}
CLEAN = {"clean": True}
NOT_NUMBER = "is not a number"
ALL_MOLS = {"cli_batch": "clean"}           # the command-line batch has no molecule-count limit
WATER_LINES = xyz(WATER).split("\n", 2)[2]


def crlf(text: str, end: str = "\r\n") -> str:
    return text.replace("\n", end)


CASES_21 = {
    # -- no invented atoms: query bonds, aromatic bonds outside rings, impossible formal charges
    "sdf_query_bond_any_water.sdf": (molblock("water", WATER, ((1, 2, 8), (1, 3, 1))), "bond type 8 ('any')"),
    "sdf_query_bond_single_or_double.sdf": (molblock("water", WATER, ((1, 2, 5), (1, 3, 1))),
                                            "bond type 5 ('single or double')"),
    "sdf_query_bond_single_or_aromatic.sdf": (molblock("water", WATER, ((1, 2, 6), (1, 3, 1))),
                                              "bond type 6 ('single or aromatic')"),
    "sdf_query_bond_double_or_aromatic.sdf": (molblock("water", WATER, ((1, 2, 7), (1, 3, 1))),
                                              "bond type 7 ('double or aromatic')"),
    "sdf_query_bond_v3000.sdf": (V3000_WATER.replace("TYPE", "8"), QUERY),
    "sdf_aromatic_bond_outside_ring.sdf": (molblock("water", WATER, ((1, 2, 4), (1, 3, 1))),
                                           "marked aromatic (bond type 4) but is not in a ring"),
    "sdf_bond_type_0.sdf": (molblock("water", WATER, ((1, 2, 0), (1, 3, 1))), "is not a bond order"),
    "sdf_bond_type_9.sdf": (molblock("water", WATER, ((1, 2, 9), (1, 3, 1))), "is not a bond order"),
    "sdf_self_bond.sdf": (molblock("water", WATER, ((1, 1, 1), (1, 3, 1))), "bond refers to atoms 1 and 1"),
    "sdf_hydroxide_charge_minus_6.sdf": (molblock("OH", HYDROXIDE, ((1, 2, 1),), ["M  CHG  1   1  -6"]),
                                         FORMAL.format("O")),
    "sdf_water_oxygen_charge_plus_7.sdf": (molblock("water", WATER, WATER_BONDS, ["M  CHG  1   1   7"]),
                                           FORMAL.format("O")),
    "sdf_carbon_charge_minus_5.sdf": (molblock("C", [("C", 0, 0, 0)], (), ["M  CHG  1   1  -5"]), FORMAL.format("C")),
    "sdf_hydrogen_charge_minus_2.sdf": (molblock("H2", [("H", 0, 0, 0), ("H", 0.74, 0, 0.01)], ((1, 2, 1),),
                                                 ["M  CHG  1   1  -2"]), FORMAL.format("H")),
    "sdf_two_records_second_query_bond.sdf": (water_sdf("a") + molblock("b", WATER, ((1, 2, 8), (1, 3, 1))) + "$$$$\n",
                                              "SDF record 2"),
    "sdf_3d_benzene_no_hydrogens.sdf": (molblock("benzene", BENZENE_C, [(k + 1, (k + 1) % 6 + 1, 1 + k % 2)
                                                                        for k in range(6)]),
                                        {"note": "6 hydrogen atoms that the file leaves implicit were added"}),
    "sdf_3d_methanol_heavy_atoms.sdf": (molblock("methanol", [("C", 0, 0, 0), ("O", 1.42, 0, 0.1)], ((1, 2, 1),)),
                                        {"note": "4 hydrogen atoms that the file leaves implicit were added"}),
    "sdf_2d_ethanol_no_hydrogens.sdf": (molblock("ethanol", [("C", 0, 0, 0), ("C", 1.5, 0, 0), ("O", 2.2, 1.2, 0)],
                                                 ((1, 2, 1), (2, 3, 1))), {"note": "2D input"}),
    "sdf_3d_water_explicit_h.sdf": (molblock("water", WATER, WATER_BONDS), CLEAN),
    "sdf_v3000_water.sdf": (V3000_WATER.replace("TYPE", "1"), CLEAN),
    "sdf_methyl_radical_m_rad.sdf": (molblock("methyl", [("C", 0, 0, 0), ("H", 1.08, 0, 0), ("H", -0.54, 0.935, 0.01),
                                                         ("H", -0.54, -0.935, -0.01)], ((1, 2, 1), (1, 3, 1), (1, 4, 1)),
                                              ["M  RAD  1   1   2"]), {"note": OPEN + " 2"}),
    "sdf_missing_m_end.sdf": (molblock("water", WATER, WATER_BONDS).replace("M  END\n", ""), "no 'M  END' line"),
    "sdf_deuterium.sdf": (molblock("D2O", [("O", 0, 0, 0.1173), ("D", 0, 0.7572, -0.4692), ("D", 0, -0.7572, -0.4692)],
                                   WATER_BONDS), "hydrogen isotope"),
    "sdf_counts_letters.sdf": ("water\n  MEPviz\n\n  a  b  0\nM  END\n", "broken counts line"),
    "sdf_only_separators.sdf": ("$$$$\n$$$$\n", "contains no molecules"),
    "sdf_data_fields_only.sdf": ("> <NAME>\nwater\n\n$$$$\n", "truncated"),
    "sdf_nan_coordinate.sdf": (molblock("water", WATER, WATER_BONDS).replace("    0.1173", "       nan"),
                               "not a finite number"),
    "sdf_long_data_field.sdf": (molblock("water", WATER, WATER_BONDS) + "> <BIG>\n" + "x" * 150_000 + "\n\n$$$$\n",
                                "150,000 characters long"),
    # -- the plausibility gate: charges, electrons, bare atoms (read, then refused by every path)
    "gate_water_plus_9_doublet.xyz": (xyz(WATER, "charge=9 multiplicity=2"), {"refusal": DFT_RANGE}),
    "gate_water_minus_8.xyz": (xyz(WATER, "charge=-8"), {"refusal": DFT_RANGE}),
    "gate_water_plus_5_doublet.xyz": (xyz(WATER, "charge=5 multiplicity=2"), {"refusal": DFT_RANGE}),
    "gate_oxygen_atom_minus_6.xyz": (xyz([("O", 0, 0, 0)], "charge=-6"), {"refusal": DFT_RANGE}),
    "gate_bare_carbon_atom.xyz": (xyz([("C", 0, 0, 0)]), {"refusal": BARE.format("C")}),
    "gate_bare_hydrogen_atom.xyz": (xyz([("H", 0, 0, 0)], "multiplicity=2"), {"refusal": BARE.format("H")}),
    "gate_bare_oxygen_triplet.xyz": (xyz([("O", 0, 0, 0)], "multiplicity=3"), {"refusal": BARE.format("O")}),
    "gate_bare_nitrogen_smiles.smi": ("[N]\n", {"refusal": BARE.format("N")}),
    "gate_bare_carbon_smiles.smi": ("[C]\n", {"refusal": BARE.format("C")}),
    "gate_hydrogen_atom_smiles.smi": ("[H]\n", {"refusal": BARE.format("H")}),
    "gate_fluoride_ion.xyz": (xyz([("F", 0, 0, 0)], "charge=-1"), ION),
    "gate_oxide_dianion.smi": ("[O-2]\n", ION),
    "gate_hydride.smi": ("[H-]\n", ION),
    "gate_chloride.smi": ("[Cl-]\n", {"weights": "Cl", "note": "A monatomic ion"}),
    "gate_bromide.smi": ("[Br-]\n", {"weights": "Br", "note": "A monatomic ion"}),
    "gate_smiles_oxygen_minus_6.smi": ("[O-6]\n", FORMAL.format("O")),
    "gate_smiles_hydroxide_minus_6.smi": ("[OH-6]\n", FORMAL.format("O")),
    "gate_smiles_carbon_minus_5.smi": ("[C-5]\n", FORMAL.format("C")),
    "gate_smiles_hydrogen_minus_2.smi": ("[H-2]\n", FORMAL.format("H")),
    "gate_smiles_nitrogen_plus_6.smi": ("[N+6]\n", FORMAL.format("N")),
    "gate_hydrogens_049A.xyz": (xyz([("H", 0, 0, 0), ("H", 0.49, 0, 0)]), "only 0.490 Å apart"),
    "gate_ch_bond_055A.xyz": (xyz([("C", 0, 0, 0), ("H", 0.55, 0, 0), ("H", -0.36, 1.03, 0), ("H", -0.36, -0.51, 0.89),
                                   ("H", -0.36, -0.51, -0.89)]), {"note": "far shorter than a bond"}),
    "gate_duplicate_atom.xyz": (xyz(WATER + [WATER[0]], "multiplicity=1"), "0.000 Å apart"),
    "gate_transition_metal.smi": ("[Fe]\n", {"refusal": "do not support Fe"}),
    "gate_trication.smi": ("[NH3+]CC([NH3+])C[NH3+]\n", {"note": BUILT}),
    "gate_tetra_anion.smi": ("[O-]C(=O)CC([O-])(CC(=O)[O-])C(=O)[O-]\n", {"note": BUILT}),
    # -- XYZ: formats that must read cleanly, and ones that must not
    "xyz_count_with_word.xyz": ("3 atoms\nwater\n" + WATER_LINES, "expected the number of atoms"),
    "xyz_count_plus_sign.xyz": ("+3\nwater\n" + WATER_LINES, CLEAN),
    "xyz_count_leading_zero.xyz": ("03\nwater\n" + WATER_LINES, CLEAN),
    "xyz_count_negative_zero.xyz": ("-0\nwater\n", "must be positive"),
    "xyz_count_huge_integer.xyz": ("99999999999999999999\n\nO 0 0 0\n", "limit is 200 atoms"),
    "xyz_header_only.xyz": ("3\n", "truncated"),
    "xyz_comment_only.xyz": ("3\nwater\n", "only 0 atom lines"),
    "xyz_five_columns.xyz": ("3\nwater\n" + "".join(f"{s} {x} {y} {z} 0.0\n" for s, x, y, z in WATER), CLEAN),
    "xyz_three_columns.xyz": ("3\nwater\nO 0 0\nH 0 0.7572\nH 0 -0.7572\n", "expected 'element x y z'"),
    "xyz_fortran_exponent.xyz": ("3\nwater\nO 0.0D+00 0.0D+00 1.173D-01\nH 0.0 7.572D-01 -4.692D-01\n"
                                 "H 0.0 -7.572D-01 -4.692D-01\n", CLEAN),
    "xyz_hex_float.xyz": ("3\nwater\nO 0 0 0x1p-3\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n", NOT_NUMBER),
    "xyz_decimal_comma.xyz": ("3\nwater\nO 0 0 0,1173\nH 0 0,7572 -0,4692\nH 0 -0,7572 -0,4692\n", NOT_NUMBER),
    "xyz_label_not_element.xyz": ("3\nwater\nO1 0 0 0.1173\nH2 0 0.7572 -0.4692\nH3 0 -0.7572 -0.4692\n",
                                  "'O1' is not an element"),
    "xyz_atomic_number_0.xyz": ("1\n\n0 0 0 0\n", "atomic number 0 is not an element"),
    "xyz_atomic_numbers.xyz": ("3\nwater\n8 0 0 0.1173\n1 0 0.7572 -0.4692\n1 0 -0.7572 -0.4692\n", CLEAN),
    "xyz_lowercase_symbols.xyz": ("3\nwater\no 0 0 0.1173\nh 0 0.7572 -0.4692\nh 0 -0.7572 -0.4692\n", CLEAN),
    "xyz_uppercase_chlorine.xyz": ("2\nHCl\nCL 0 0 0\nH 0 0 1.27\n", {"weights": "Cl"}),
    "xyz_deuterium.xyz": ("3\nD2O\nO 0 0 0.1173\nD 0 0.7572 -0.4692\nD 0 -0.7572 -0.4692\n", "'D' is not an element"),
    "xyz_tabs.xyz": ("3\t\nwater\tmolecule\nO\t0\t0\t0.1173\nH\t0\t0.7572\t-0.4692\nH\t0\t-0.7572\t-0.4692\n", CLEAN),
    "xyz_crlf.xyz": (crlf(xyz(WATER, "water")), CLEAN),
    "xyz_cr_only.xyz": (crlf(xyz(WATER, "water"), "\r"), CLEAN),
    "xyz_double_cr.xyz": (crlf(xyz(WATER, "water"), "\r\r\n"), CLEAN),
    "xyz_mixed_line_ends.xyz": ("3\r\nwater\nO 0 0 0.1173\rH 0 0.7572 -0.4692\r\nH 0 -0.7572 -0.4692\n", CLEAN),
    "xyz_utf16le_bom.xyz": (xyz(WATER, "water").encode("utf-16"), CLEAN),
    "xyz_utf16be_bom.xyz": (b"\xfe\xff" + xyz(WATER, "water").encode("utf-16-be"), CLEAN),
    "xyz_utf8_bom.xyz": (b"\xef\xbb\xbf" + xyz(WATER, "water").encode(), CLEAN),
    "xyz_latin1_name.xyz": (xyz(WATER, "eau caf\u00e9").encode("latin-1"), CLEAN),
    "xyz_emoji_name.xyz": (xyz(WATER, "\U0001f4a7 water"), CLEAN),
    "xyz_utf16_without_bom.xyz": (xyz(WATER, "water").encode("utf-16-le"), "NUL bytes"),
    "xyz_c1_control_bytes.xyz": (b"3\nwater \x85\x90\n" + WATER_LINES.encode(), "not valid UTF-8"),
    "xyz_nul_in_middle.xyz": (b"3\nwa\x00ter\n" + WATER_LINES.encode(), "NUL bytes"),
    "xyz_long_comment_line.xyz": ("3\n" + "w" * 150_000 + "\n" + WATER_LINES, "150,000 characters long"),
    "xyz_201_atoms.xyz": (xyz([("C", 1.5 * (k % 6), 1.5 * (k // 6 % 6), 1.5 * (k // 36)) for k in range(201)]),
                          "limit is 200 atoms"),
    "xyz_trailing_garbage.xyz": (xyz(WATER, "water") + "hello world\n", "expected the number of atoms"),
    "xyz_two_molecules.xyz": (xyz(WATER, "water") + xyz([("C", *p[1:]) if p[0] == "N" else p for p in AMMONIUM],
                                                        "methane"), CLEAN),
    "xyz_frame_2_truncated.xyz": (xyz(WATER, "water") + "3\nwater\nO 0 0 0.1173\n", "truncated"),
    "xyz_blank_lines_between_frames.xyz": (xyz(WATER, "a") + "\n\n" + xyz(WATER, "b"), CLEAN),
    "xyz_negative_zero.xyz": ("3\nwater\nO -0.0 -0.0 0.1173\nH -0.0 0.7572 -0.4692\nH 0.0 -0.7572 -0.4692\n", CLEAN),
    "xyz_multiplicity_word.xyz": (xyz(WATER, "multiplicity=two"), "is not a whole number"),
    "xyz_charge_plus_sign.xyz": (xyz(AMMONIUM, "charge=+1"), {"charge_note": "quadrupole"}),
    "xyz_charge_quoted.xyz": (xyz(HYDROXIDE, 'charge="-1"'), {"charge_note": "quadrupole"}),
    "xyz_nan_word.xyz": ("3\nwater\nO 0 0 NaN\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n", "not a finite number"),
    "xyz_minus_infinity.xyz": ("3\nwater\nO 0 0 -Infinity\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n",
                               "not a finite number"),
    "xyz_1e309.xyz": ("3\nwater\nO 0 0 1e309\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n", "not a finite number"),
    "xyz_hydrogen_9999A_away.xyz": (xyz(WATER + [("H", 9999, 0, 0)], "multiplicity=2"), EXTENT),
    "xyz_blank_lines_only.xyz": ("\n\n\n", "is empty"),
    "xyz_spaces_only.xyz": ("   \n \t \n", "is empty"),
    # -- SMILES: lengths, syntax, chemistry
    "smiles_2001_characters.smi": ("C" * 2001 + "\n", "2,001 characters long; the limit is 2,000"),
    "smiles_150k_line.smi": ("C" * 150_000 + "\n", "150,000 characters long"),
    "smiles_unbalanced_parenthesis.smi": ("C((C)\n", "Invalid SMILES"),
    "smiles_unknown_bracket_atom.smi": ("[Xx]\n", "Invalid SMILES"),
    "smiles_double_dot.smi": ("C..C\n", "Invalid SMILES"),
    "smiles_not_kekulizable.smi": ("c1cccc1\n", "kekulize"),
    "smiles_pentavalent_carbon.smi": ("C(C)(C)(C)(C)C\n", "valence"),
    "smiles_wildcard_in_ring.smi": ("c1ccc*c1\n", "dummy"),
    "smiles_latin1_byte.smi": (b"CC\xe9O\n", ASCII),
    "smiles_nul_byte.smi": (b"C\x00C\n", "NUL bytes"),
    "smiles_header_only.smi": ("smiles,name\n", "contains no SMILES"),
    "smiles_whitespace_only.smi": ("   \n\t\n", "is empty"),
    "smiles_chiral_alanine.smi": ("N[C@@H](C)C(=O)O alanine\n", CLEAN),
    "smiles_heavy_water.smi": ("[2H]O[2H]\n", CLEAN),
    "smiles_ring_closure_99.smi": ("C%99CC%99\n", CLEAN),
    "smiles_nitromethane.smi": ("C[N+](=O)[O-]\n", CLEAN),
    "smiles_trailing_spaces.smi": ("CCO   \n", CLEAN),
    "smiles_tab_name.smi": ("CCO\tethanol\n", CLEAN),
    "smiles_comma_name.smi": ("CCO,ethanol\n", CLEAN),
    "smiles_long_name.smi": ("CCO " + "x" * 1000 + "\n", CLEAN),
    "smiles_crlf_two.smi": ("CCO\r\nO\r\n", CLEAN),
    "smiles_utf16_bom.smi": ("CCO ethanol\n".encode("utf-16"), CLEAN),
    "smiles_hydrogen_molecule.smi": ("[H][H]\n", {"note": "MMFF94 has no parameters for this molecule"}),
    "smiles_four_fragments.smi": ("C.C.C.C\n", {"note": "4 disconnected fragments"}),
    "smiles_dioxygen_diradical.smi": ("[O][O]\n", {"note": OPEN + " 3"}),
    "smiles_ethyl_radical.smi": ("C[CH2]\n", {"note": OPEN + " 2"}),
    "smiles_methyl_cation.smi": ("[CH3+]\n", {"charge_note": "quadrupole"}),
    # -- not text at all, whatever the name says
    "binary_png.xyz": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG image"),
    "binary_jpeg.sdf": (b"\xff\xd8\xff\xe0" + bytes(64), "JPEG image"),
    "binary_gif.smi": (b"GIF89a" + bytes(64), "GIF image"),
    "binary_zip.xyz": (b"PK\x03\x04" + bytes(64), "ZIP archive"),
    "binary_bzip2.sdf": (b"BZh91AY&SY" + bytes(32), "bzip2 archive"),
    "binary_elf.smi": (b"\x7fELF\x02\x01\x01" + bytes(64), "executable"),
    "binary_hdf5.xyz": (b"\x89HDF\r\n\x1a\n" + bytes(64), "HDF5 file"),
    "binary_npy.xyz": (b"\x93NUMPY\x01\x00" + bytes(64), "NumPy file"),
    "binary_office.sdf": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Office document"),
    "binary_all_nul.xyz": (bytes(4096), "NUL bytes"),
    "binary_xz.xyz": (b"\xfd7zXZ\x00\x00" + bytes(32), "NUL bytes"),
    "binary_truncated_gzip.sdf": (b"\x1f\x8b\x08", "gzip archive"),
    "binary_random.smi": (bytes((k * 197 + 13) % 256 for k in range(4096)), "not a text file"),
    "binary_tar.xyz": (b"water.xyz" + bytes(91) + b"0000644" + bytes(400), "NUL bytes"),
    # -- names and extensions
    "WATER_UPPERCASE.XYZ": (xyz(WATER, "water"), CLEAN),
    "water_no_extension": (xyz(WATER, "water"), "Unsupported file type (none)"),
    "molecule.json": ('{"atoms": ["O", "H", "H"]}\n', "Unsupported file type .json"),
    "script.py": ("print('water')\n", "Unsupported file type .py"),
}
#: per-path expectations that differ from reading the whole file (see tests/test_corpus.py)
OVERRIDES = {name: ALL_MOLS for name in ("frames_501.xyz", "records_501.sdf", "smiles_501_lines.smi")}
CASES.update(CASES_21)
# the plausibility gate (issue 21): charges the DFT reference calls meaningless get no ML answer either
CASES["mellitate_minus_6.smi"] = (CASES["mellitate_minus_6.smi"][0], {"refusal": DFT, "dft_refusal": DFT})
CASES["pentacation_plus_5.smi"] = (CASES["pentacation_plus_5.smi"][0], {"refusal": DFT, "dft_refusal": DFT})

#: points files for ``--points`` (tests/bad_inputs/points), with water as the molecule
WATER_POINTS = {
    "points_on_nucleus.csv": ("x,y,z\n0,0,0.1173\n", "inside the minimum distance of 0.1 Å"),
    "points_1p5_milliangstrom.csv": ("x,y,z\n3,0,0\n0,0,0.1188\n", "point 2 lies 0.0015 Å from atom 1 (O)"),
    "points_nan.csv": ("x,y,z\n0,0,nan\n", "non-finite"),
    "points_inf.csv": ("x,y,z\ninf,0,0\n", "non-finite"),
    "points_text.csv": ("x,y,z\na,b,c\n", "expected numbers in columns x, y, z"),
    "points_missing_column.csv": ("x,y,z\n1,2\n", "expected numbers in columns x, y, z"),
    "points_no_header.csv": ("1,2,3\n", "must name columns x, y, z"),
    "points_semicolons.csv": ("x;y;z\n1;2;3\n", "must name columns x, y, z"),
    "points_empty.csv": ("", "is empty"),
    "points_header_only.csv": ("x,y,z\n", "has no points"),
    "points_png.csv": (b"\x89PNG\r\n\x1a\n" + bytes(32), "PNG image"),
    "points_object_array.npy": (None, "Object arrays cannot be loaded"),
    "points_two_columns.npy": (None, "shape (P, 3)"),
    "points_strings.npy": (None, "expected a numeric array"),
    "points_near_nucleus.csv": ("x,y,z\n0,0,0.4173\n3,0,0\n", {"note": "1 point within 0.5 Å of a nucleus"}),
    "points_utf16.csv": ("x,y,z\n3,0,0\n0,3,0\n".encode("utf-16"), CLEAN),
    "points_quoted.csv": ('"x","y","z"\n"3","0","0"\n', CLEAN),
    "points_extra_columns.csv": ("id,x,y,z,label\n1,3,0,0,a\n2,0,0,4,b\n", CLEAN),
}


def _npy(name: str) -> bytes:
    buf = io.BytesIO()
    arr = {"points_object_array.npy": np.array([[1, 2, 3], None], dtype=object),
           "points_two_columns.npy": np.zeros((4, 2)),
           "points_strings.npy": np.array([["a", "b", "c"]])}[name]
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def main() -> int:
    expected = json.loads((BAD / "expected.json").read_text())
    (BAD / "points").mkdir(exist_ok=True)
    cases = {**CASES, **{f"points/{k}": v for k, v in WATER_POINTS.items()}}
    for name, (content, expect) in cases.items():
        if name == "water.xyz.gz" or name == "gzip_named.xyz":
            content = gzip.compress(xyz(WATER).encode(), mtime=0)
        if content is None and name.endswith(".npy"):
            content = _npy(name.split("/")[-1])
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (BAD / name).write_bytes(data)
        if name in OVERRIDES:           # a reading error with per-path exceptions: {"error": …, …}
            expect = {**({"error": expect} if isinstance(expect, str) else expect), **OVERRIDES[name]}
        expected[name] = expect
    (BAD / "expected.json").write_text(json.dumps(dict(sorted(expected.items())), indent=1,
                                                  ensure_ascii=False) + "\n")
    print(f"{len(cases)} generated cases; {len(expected)} in the corpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
