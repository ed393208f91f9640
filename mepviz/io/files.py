"""Files and uploads: a path, bytes, text or an uploaded file object → molecules, the format
from the file name's extension (or sniffed from the content). A path is read through the one
bounded reader (:func:`mepviz.io.text.read_user_bytes`: regular files only, at most
``limits.MAX_FILE_BYTES`` + 1 bytes read).

    read_file("water.xyz")                        # [Molecule]
    parse_text("CCO ethanol", "smi")              # [Molecule]
"""
from __future__ import annotations

import os
import re

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from .sdf import from_mol, from_sdf
from .smiles import _from_smiles_text
from .text import _check_text, _decode, read_user_bytes
from .validate import DEFAULT_MAX_ATOMS, _err, _guard
from .xyz import from_xyz

#: file extension -> format understood by :func:`parse_text`
SUPPORTED_EXTENSIONS = {
    ".xyz": "xyz",
    ".sdf": "sdf",
    ".sd": "sdf",
    ".mol": "mol",
    ".mdl": "mol",
    ".smi": "smi",
    ".smiles": "smi",
    ".txt": "txt",
}
_FORMATS = ("xyz", "sdf", "mol", "smi", "smiles", "txt")

def _sniff(text: str) -> str:
    first = next((l.strip() for l in text.splitlines() if l.strip()), "")
    if re.fullmatch(r"[+-]?\d+", first.split()[0] if first else ""):
        return "xyz"
    if re.search(r"^M  END", text, re.M) or re.search(r"^\$\$\$\$", text, re.M) or "V2000" in text or "V3000" in text:
        return "sdf"
    return "smi"


@_guard
def parse_text(text: str, fmt: str, *, charge=None, multiplicity=None, seed: int = 42,
               max_atoms: int | None = DEFAULT_MAX_ATOMS, check_charge: bool = True) -> list[Molecule]:
    """Parse text in format ``fmt`` ('xyz', 'sdf', 'mol', 'smi'/'smiles', or 'txt' = sniffed)."""
    f = str(fmt).lower().lstrip(".")
    if f not in _FORMATS:
        raise _err(f"Unknown format '{fmt}'; supported: xyz, sdf, mol, smi.")
    text = _check_text(text, "The input")
    if f == "txt":
        f = _sniff(text)
    if f == "xyz":
        return from_xyz(text, charge, multiplicity, max_atoms=max_atoms, check_charge=check_charge)
    if f == "sdf":
        return from_sdf(text, charge, multiplicity, seed=seed, max_atoms=max_atoms)
    if f == "mol":
        return [from_mol(text, charge, multiplicity, seed=seed, max_atoms=max_atoms)]
    return _from_smiles_text(text, charge, multiplicity, seed, max_atoms)


def read_file(path_or_bytes, filename: str | None = None, **kw) -> list[Molecule]:
    """Read molecules from a path, bytes, str content or a file-like object (e.g. a Streamlit
    UploadedFile). The format comes from the extension of ``filename`` (or the path / the object's
    ``.name``): .xyz, .sdf/.sd, .mol, .smi/.smiles, .txt (SMILES, or sniffed). Without any
    filename the format is sniffed from the content.

    Keyword arguments go to the parser: ``charge``, ``multiplicity``, ``seed``, ``max_atoms``,
    ``check_charge`` (XYZ only).
    """
    allowed = {"charge", "multiplicity", "seed", "max_atoms", "check_charge"}
    unknown = set(kw) - allowed
    if unknown:
        raise TypeError(f"read_file() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    return _read_file(path_or_bytes, filename, **kw)


@_guard
def _read_file(path_or_bytes, filename: str | None = None, **kw) -> list[Molecule]:
    data: bytes | str
    src = path_or_bytes
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        p = os.fspath(src)
        if isinstance(src, str) and ("\n" in src or len(src) > 4096):
            raise _err("read_file expects a path or bytes; use parse_text() for text content.")
        filename = filename or os.path.basename(p)
        data = read_user_bytes(p, limits.MAX_FILE_BYTES, f"'{filename}'")
    elif hasattr(src, "read") or hasattr(src, "getvalue"):
        filename = filename or os.path.basename(str(getattr(src, "name", "") or "")) or None
        data = src.getvalue() if hasattr(src, "getvalue") else src.read(limits.MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise _err(f"Cannot read a molecule from a {type(src).__name__}.")
    label = f"'{filename}'" if filename else "The file"
    limits.check_file_size(len(data), label)
    if not data.strip():
        raise _err(f"{label} is empty.")
    text = _decode(data, label)
    if not text.strip():
        raise _err(f"{label} is empty.")
    if filename:
        ext = os.path.splitext(filename.lower())[1]
        if ext not in SUPPORTED_EXTENSIONS:
            shown = ext or "(none)"
            raise _err(f"Unsupported file type {shown} for {label}; supported: .xyz, .sdf, .mol, .smi, .txt.")
        fmt = SUPPORTED_EXTENSIONS[ext]
    else:
        fmt = "txt"
    try:
        return parse_text(text, fmt, **kw)
    except MoleculeInputError as exc:
        if filename:
            raise _err(f"{filename}: {exc}") from None
        raise
