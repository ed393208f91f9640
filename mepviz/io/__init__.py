"""io: molecules in (SMILES, XYZ, SDF/MOL, arrays, files and uploads; one record reader for
every batch path) and results out (cube files, tables, SDF/PQR, JSON).

    from mepviz.io import from_smiles, read_file
"""
from .arrays import from_arrays  # noqa: F401
from .files import SUPPORTED_EXTENSIONS, parse_text, read_file  # noqa: F401
from .sdf import from_mol, from_sdf  # noqa: F401
from .smiles import from_smiles  # noqa: F401
from .validate import input_warnings, validate  # noqa: F401
from .xyz import from_xyz  # noqa: F401
