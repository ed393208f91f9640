"""MEPviz: molecular electrostatic potentials from equivariant atomic multipoles.

The library grows in wings that follow the data (docs/architecture.md): ``mepviz.core``
(molecule, elements, units, registry, limits, paths) → ``mepviz.io`` (readers, records,
exports) → ``mepviz.surface`` → ``mepviz.physics`` → ``mepviz.ml`` (network, cards,
prediction, applicability) → ``mepviz.report`` and ``mepviz.cli``.
"""
from .core.molecule import Molecule, MoleculeInputError

__all__ = ["Molecule", "MoleculeInputError"]
__version__ = "0.1.0"
