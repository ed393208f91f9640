"""The one bounded reader of user files and uploads, and their text.

Every file the project opens from a user (molecule inputs, ``--points``, batch files) is
opened by :func:`open_user_file`: regular files only — folders, devices (``/dev/zero``,
``/dev/urandom``), named pipes and sockets are refused by type (``os.stat``) before opening,
and the file is opened with ``O_NONBLOCK`` and checked again on the open descriptor, so a
pipe swapped in meanwhile cannot block. :func:`read_user_bytes` reads at most limit + 1
bytes (``limits.MAX_FILE_BYTES`` by default): a larger file is refused without being read.
:func:`user_lines` reads a text file of any size lazily, a line of more than
``limits.MAX_LINE_CHARS`` characters never held (it becomes a :class:`LongLine`).

Text: the encoding is decided once, from the start of the data (UTF-16 by its byte-order
mark, else UTF-8, else Latin-1 when that gives printable text); binary data is refused with
the file type named; line ends (\\r\\n, \\r\\r\\n, \\r) become \\n; lines longer than the limit
are refused before anything parses them.
"""
from __future__ import annotations

import codecs
import io
import os
import re
import stat
from typing import BinaryIO, Iterator

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
#: bytes of a file's start from which its encoding is decided (lazy reading)
SNIFF_BYTES = 65536


# --------------------------------------------------------------------------- files
def _kind_refusal(mode: int, label: str) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{label} is a folder, not a file."
    if stat.S_ISFIFO(mode):
        return (f"{label} is a named pipe (FIFO), not a regular file: reading it could wait forever. "
                f"Save the content to a file and give that file.")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return (f"{label} is a device, not a regular file (a device such as /dev/zero or /dev/urandom "
                f"never ends). Give a file that holds the data.")
    if stat.S_ISSOCK(mode):
        return f"{label} is a socket, not a regular file. Give a file that holds the data."
    return f"{label} is not a regular file. Give a file that holds the data."


def _os_refusal(exc: OSError, path: str, label: str) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{label} does not exist (no such file)."
    if isinstance(exc, PermissionError):
        return f"{label} cannot be read: permission denied."
    return f"{label} cannot be read: {exc.strerror or exc}."


def open_user_file(path, label: str | None = None) -> BinaryIO:
    """A user's file opened for binary reading; MoleculeInputError (naming the problem) for a
    missing or unreadable path, a folder, device, named pipe or socket (refused by type before
    opening, and checked again on the descriptor, which is opened non-blocking)."""
    p = os.fspath(path)
    label = label or f"'{p}'"
    try:
        why = _kind_refusal(os.stat(p).st_mode, label)
        if why:
            raise _err(why)
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _err(_os_refusal(exc, p, label)) from None
    try:
        why = _kind_refusal(os.fstat(fd).st_mode, label)
        if why:
            raise _err(why)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_user_bytes(path, limit: int = limits.MAX_FILE_BYTES, label: str | None = None) -> bytes:
    """The bytes of a user's file (:func:`open_user_file`), reading at most `limit` + 1 bytes:
    MoleculeInputError naming the limit when the file is larger."""
    label = label or f"'{os.fspath(path)}'"
    with open_user_file(path, label) as fh:
        data = fh.read(limit + 1)
        size = os.fstat(fh.fileno()).st_size
    if len(data) > limit:
        limits.check_file_size(max(size, len(data)), label, limit, at_least=size < len(data))
    return data


# --------------------------------------------------------------------------- encodings
def _binary_refusal(data: bytes, label: str) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return f"{label} is not a text file (it looks like {kind}). {_HELP}"
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{label} is not a text file (it contains NUL bytes, i.e. binary data). {_HELP}"
    return None


def _control_characters(text: str) -> bool:
    return any((ord(c) < 32 and c not in "\t\n\r\f\v") or 0x7F <= ord(c) < 0xA0 for c in text)


def decide_encoding(start: bytes, label: str, complete: bool = True) -> str:
    """The encoding of data that starts with `start` (`complete`: `start` is all of it):
    'utf-16' (byte-order mark), 'utf-8-sig', or 'latin-1' when that gives printable text;
    MoleculeInputError for binary data, naming the file type when known."""
    why = _binary_refusal(start, label)
    if why:
        raise _err(why)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(start, final=complete)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if _control_characters(start.decode("latin-1")):
        raise _err(f"{label} is not a text file (it contains binary data and is not valid UTF-8). {_HELP}")
    return "latin-1"


def _decode(data: bytes, label: str) -> str:
    limits.check_file_size(len(data), label)
    enc = decide_encoding(data, label)
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        raise _err(f"{label} is not a text file (undecodable {enc.upper()}). {_HELP}") from None


def _check_text(text, what: str) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text), what)
    if not isinstance(text, str):
        raise _err(f"{what} must be text, got {type(text).__name__}.")
    limits.check_file_size(len(text), what)
    if "\x00" in text:
        raise _err(f"{what} is not a text file (it contains NUL bytes). {_HELP}")
    if not text.strip():
        raise _err(f"{what} is empty.")
    text = _normalise_newlines(text)
    _check_line_lengths(text, what)
    return text


def _check_line_lengths(text: str, what: str) -> None:
    """Refuse a line longer than ``limits.MAX_LINE_CHARS`` before anything parses it."""
    if len(text) > limits.MAX_LINE_CHARS:
        for number, line in enumerate(text.split("\n"), 1):
            if len(line) > limits.MAX_LINE_CHARS:
                raise _err(long_line_message(number, len(line), what))


def long_line_message(number: int, length: int | None, what: str = "The file") -> str:
    size = f"{length:,} characters long" if length else f"longer than {limits.MAX_LINE_CHARS:,} characters"
    return (f"{what}: line {number} is {size}; the limit is {limits.MAX_LINE_CHARS:,} characters per "
            f"line (a molecule's line is far shorter: is this the right file?).")


def _normalise_newlines(text: str) -> str:
    """Windows (\r\n), doubled (\r\r\n) and old Mac (\r) line endings -> \n."""
    return re.sub(r"\r+\n", "\n", text).replace("\r", "\n")


# --------------------------------------------------------------------------- lazy lines
class LongLine(str):
    """A line longer than ``limits.MAX_LINE_CHARS``, never held: its text is the `problem`
    (which no parser reads as a molecule); readers turn it into an error for its record."""

    def __new__(cls, problem: str):
        obj = super().__new__(cls, f"\u27e8{problem}\u27e9")
        obj.problem = problem
        return obj


def user_lines(path, label: str | None = None) -> Iterator[str]:
    """The lines (without line ends) of a user's text file of any size, read lazily through
    :func:`open_user_file`. The encoding is decided once from the first ``SNIFF_BYTES``
    (:func:`decide_encoding`); a later line that does not decode, or holds NUL bytes, ends
    the reading with a MoleculeInputError naming the line. A line longer than
    ``limits.MAX_LINE_CHARS`` is skipped without being held and yielded as a :class:`LongLine`."""
    label = label or f"'{os.fspath(path)}'"
    fh = open_user_file(path, label)
    with fh:
        start = fh.read(SNIFF_BYTES)
        enc = decide_encoding(start, label, complete=len(start) < SNIFF_BYTES)
        fh.seek(0)                                      # a regular file: seekable
        text = io.TextIOWrapper(fh, encoding=enc, errors="strict", newline="\n")
        number, cap = 0, limits.MAX_LINE_CHARS
        try:
            while True:
                line = text.readline(cap + 1)
                if not line:
                    return
                if len(line) > cap and not line.endswith("\n"):
                    number += 1
                    length = len(line)
                    while line and not line.endswith("\n"):
                        line = text.readline(1 << 16)
                        length += len(line)
                    yield LongLine(long_line_message(number, length - line.endswith("\n"), label))
                    continue
                if "\x00" in line:
                    raise _err(f"{label}: line {number + 1} contains NUL bytes (binary data). {_HELP}")
                for part in line.rstrip("\n").rstrip("\r").split("\r"):     # old Mac line ends
                    number += 1
                    yield part
        except UnicodeDecodeError:
            raise _err(f"{label}: near line {number + 1} the file is not valid {enc.upper().replace('-SIG', '')} "
                       f"(the encoding was decided from the start of the file); save it as UTF-8.") from None
