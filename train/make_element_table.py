"""Write mepviz/data/elements.json: element symbols, isotope-averaged masses (amu) and Bondi
van der Waals radii (bohr), copied from PySCF's tables, so the library needs PySCF only for
the DFT reference (the ``[dft]`` extra).

    python -m train.make_element_table          # tests/test_packaging.py checks it equals PySCF's
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyscf
from pyscf.data import elements, radii

OUT = Path(__file__).resolve().parents[1] / "mepviz" / "data" / "elements.json"


def table() -> dict:
    return {"source": f"pyscf {pyscf.__version__}: pyscf.data.elements.ELEMENTS, .MASSES; pyscf.data.radii.VDW",
            "symbols": list(elements.ELEMENTS), "masses_amu": [float(m) for m in elements.MASSES],
            "vdw_radii_bohr": [float(r) for r in np.asarray(radii.VDW, float)]}


if __name__ == "__main__":
    OUT.write_text(json.dumps(table(), indent=1) + "\n")
    print("wrote", OUT)
