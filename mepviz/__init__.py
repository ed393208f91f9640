"""MEPviz: molecular electrostatic potentials from equivariant atomic multipoles."""
from .molecule import Molecule, MoleculeInputError

__all__ = ["Molecule", "MoleculeInputError"]
__version__ = "0.1.0"
