"""Physical constants and unit conversions used everywhere in MEPviz (docs/physics.md).

Internal units: lengths Å, charges e, dipoles e·Å, quadrupoles e·Å² (traceless
Buckingham), potentials kcal/mol/e.
"""

from .registry import POTENTIAL_UNIT_NAMES

DEBYE_PER_E_ANGSTROM = 4.80320        # 1 e·Å = 4.80320 D (also e·Å² -> D·Å)
HARTREE_TO_KCAL_MOL = 627.5095        # 1 hartree/e = 627.5095 kcal/mol/e
COULOMB_KCAL_ANGSTROM = 332.0637      # k_e in kcal·Å/(mol·e²)
KCAL_TO_KJ = 4.184
HARTREE_TO_VOLT = 27.211386245988     # 1 hartree/e in volts
BOHR_ANGSTROM = 0.52917721092         # 1 bohr in Å (PySCF's value)
KCAL_MOL_TO_VOLT = HARTREE_TO_VOLT / HARTREE_TO_KCAL_MOL

_FACTORS = {
    "kcal/mol/e": 1.0,
    "kJ/mol/e": KCAL_TO_KJ,
    "V": KCAL_MOL_TO_VOLT,
    "hartree/e": 1.0 / HARTREE_TO_KCAL_MOL,
}
#: potential units offered to users (names and order: mepviz.registry.POTENTIAL_UNIT_NAMES);
#: factor converts from kcal/mol/e
POTENTIAL_UNITS = {name: _FACTORS[name] for name in POTENTIAL_UNIT_NAMES}


def convert_potential(values, to_unit: str, from_unit: str = "kcal/mol/e"):
    """Convert potential values between any two of POTENTIAL_UNITS."""
    try:
        return values * (POTENTIAL_UNITS[to_unit] / POTENTIAL_UNITS[from_unit])
    except KeyError as exc:
        raise ValueError(f"unknown potential unit {exc.args[0]!r}; "
                         f"choose one of {sorted(POTENTIAL_UNITS)}") from None


def debye(dipole_e_angstrom):
    """e·Å -> D (works for e·Å² -> D·Å too)."""
    return dipole_e_angstrom * DEBYE_PER_E_ANGSTROM
