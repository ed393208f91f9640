"""core: what everything else stands on — the Molecule (with its reading notes), elements,
units, geometry (bonds, fragments), the registry of named choices, limits and paths."""
