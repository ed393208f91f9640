"""Surface names used by the app: the library's one grammar (:mod:`mepviz.surface.names`),
including an isodensity surface at a user-chosen value, ``"isodensity@<value>"`` (e/bohr³).
No Streamlit here: the DFT worker process builds the same surfaces.

    kind = surfacekinds.kind_for("isodensity", 0.002)     # "isodensity@0.002"
    surf = surfacekinds.make(mol, kind)
"""
from __future__ import annotations

from mepviz.surface.names import (DEFAULT_ISOVALUE, ISOVALUE_RANGE, PRESET_ISOVALUES,  # noqa: F401
                                  isovalue_of, kind_for, label)
from mepviz.surface.surfaces import surface_for as make  # noqa: F401  (the Surface named `kind`)
