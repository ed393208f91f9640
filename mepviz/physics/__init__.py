"""physics: electrostatics of atomic multipoles, the DFT reference (PySCF) and its timing,
the baseline charge models (RDKit, GFN2-xTB), and where the physics has an answer at all."""
