"""The DFT isodensity surface evaluated in a band around the surface equals the full-grid one."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.inputs import from_smiles
from mepviz.reference import ReferenceEngine
from mepviz.surfaces import mesh_from_grid


@pytest.mark.parametrize("smiles", ["O", "[NH4+]"])
def test_banded_density_surface_equals_full_grid(smiles):
    mol = from_smiles(smiles)
    r = ReferenceEngine(cache_dir=False).run(mol)
    values, origin = r.density_grid(spacing=0.2, padding=4.0)
    full = mesh_from_grid(values, origin, 0.2, 0.001)
    banded = r.density_isosurface(isovalue=0.001, spacing=0.2, padding=4.0)
    assert full.n_vertices == banded.n_vertices > 100
    np.testing.assert_allclose(banded.vertices, full.vertices, atol=1e-9)
    # and the band really skips points: far inside/outside the DFT density is not evaluated
    band_values, _ = r.density_grid(spacing=0.2, padding=4.0, band=(5e-5, 2e-2))
    assert np.abs(band_values - values).max() > 0
