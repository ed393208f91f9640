"""surface: molecular surfaces (promolecular isodensity, scaled vdW), their names, 2D slices,
extrema, the one surface-statistics function and the MEP colour map."""
