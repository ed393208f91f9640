"""Small 2D structure pictures (RDKit SVG as data URIs) for tables (st.column_config.ImageColumn)."""
from __future__ import annotations

import base64
from functools import lru_cache


@lru_cache(maxsize=2048)
def _svg_uri(molblock: str, width: int, height: int) -> str | None:
    from rdkit import Chem
    from rdkit.Chem import AllChem
    from rdkit.Chem.Draw import rdMolDraw2D
    rd = Chem.MolFromMolBlock(molblock, removeHs=False, sanitize=True)
    if rd is None:
        return None
    rd = Chem.RemoveHs(rd, sanitize=False)
    AllChem.Compute2DCoords(rd)
    d = rdMolDraw2D.MolDraw2DSVG(width, height)
    d.drawOptions().clearBackground = False
    d.DrawMolecule(rd)
    d.FinishDrawing()
    return "data:image/svg+xml;base64," + base64.b64encode(d.GetDrawingText().encode()).decode()


def thumbnail(mol, width: int = 140, height: int = 90) -> str | None:
    """A data URI of a 2D drawing of `mol` (bonds and formal charges perceived from its 3D
    geometry and total charge), or None when RDKit cannot draw it."""
    from mepviz.io.export import sdf_3d
    try:
        return _svg_uri(sdf_3d(mol).split("$$$$")[0], width, height)
    except Exception:   # noqa: BLE001 — a missing picture never breaks the table
        return None
