"""Text from user files and uploads: decoding (UTF-8, UTF-16, Latin-1), binary detection with
the file type named, size limits (``limits.MAX_FILE_BYTES``) and line-end normalisation."""
from __future__ import annotations

import re

from ..core import limits
from .validate import _err

_MAGIC = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\x7fELF", "an executable"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy file"),
]
_HELP = "Upload a text file in .xyz, .sdf, .mol or .smi format."


def _check_text(text, what: str) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text), what)
    if not isinstance(text, str):
        raise _err(f"{what} must be text, got {type(text).__name__}.")
    if "\x00" in text:
        raise _err(f"{what} is not a text file (it contains NUL bytes). {_HELP}")
    if not text.strip():
        raise _err(f"{what} is empty.")
    return _normalise_newlines(text)


def _normalise_newlines(text: str) -> str:
    """Windows (\r\n), doubled (\r\r\n) and old Mac (\r) line endings -> \n."""
    return re.sub(r"\r+\n", "\n", text).replace("\r", "\n")


def _decode(data: bytes, label: str) -> str:
    limits.check_file_size(len(data), label)
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise _err(f"{label} is not a text file (it looks like {kind}). {_HELP}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _err(f"{label} is not a text file (undecodable UTF-16). {_HELP}") from None
    if b"\x00" in data:
        raise _err(f"{label} is not a text file (it contains NUL bytes, i.e. binary data). {_HELP}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("latin-1")
    ctrl = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v") + sum(
        1 for c in text if 0x7F <= ord(c) < 0xA0)
    if ctrl:
        raise _err(f"{label} is not a text file (it contains binary data and is not valid UTF-8). {_HELP}")
    return text
