"""The one record reader: a multi-molecule file cut into records, one per molecule, each parsed
on its own (one bad record does not spoil the others). Every batch path reads through it:
the Batch page (:func:`split_records`, an upload's bytes) and ``mepviz batch``
(:func:`iter_records`, a file of any size, read lazily).

Formats by extension: .xyz (multi-frame; a frame whose atom lines do not match its count
line becomes an error record and the reader resynchronises at the next count line),
.sdf/.sd/.mol (records separated by ``$$$$``), .smi/.smiles (one SMILES per line, an optional
name after a blank or comma; on the command line also .txt and .csv).
"""
from __future__ import annotations

import dataclasses
import itertools
import os
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from .export import sdf_3d
from .sdf import from_sdf
from .smiles import from_smiles, smiles_entries
from .text import LongLine, _check_text, _decode, user_lines
from .validate import _err, _guard
from .xyz import COUNT_LINE, _looks_like_atom_line, _parse_comment, from_xyz

#: file extension -> record format (uploads)
BATCH_FORMATS = {".xyz": "xyz", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf", ".smi": "smi", ".smiles": "smi"}
#: the command line also reads SMILES lists named .txt or .csv
FILE_FORMATS = {**BATCH_FORMATS, ".txt": "smi", ".csv": "smi"}
#: extensions (without the dot) read as SMILES lists on the command line
SMILES_EXTENSIONS = tuple(e[1:] for e, f in FILE_FORMATS.items() if f == "smi")


@dataclasses.dataclass
class Record:
    """One molecule record of a file: its 1-based number, a label and its text."""

    number: int
    label: str
    text: str
    fmt: str                      # "xyz", "sdf" or "smi"
    error: str | None = None      # set when the record could not even be cut out


def record_format(filename: str, formats: dict = BATCH_FORMATS) -> str:
    """The record format of `filename` by its extension; MoleculeInputError when unsupported."""
    ext = os.path.splitext(str(filename).lower())[1]
    if ext not in formats:
        raise _err(f"'{filename}': unsupported file type '{ext or '(none)'}'. Use a multi-molecule "
                   f".xyz or .sdf file or a .smi SMILES list.")
    return formats[ext]


# --------------------------------------------------------------------------- the splitter
def records(lines: Iterable[str], fmt: str) -> Iterator[Record]:
    """The records of `lines` (without line ends) in format `fmt`, lazily. A line too long to
    hold (:class:`~mepviz.io.text.LongLine`) or a record of more than ``limits.MAX_RECORD_CHARS``
    characters becomes an error record; the reader goes on with the next record."""
    if fmt == "smi":
        return _smi_records(lines)
    if fmt == "sdf":
        return _sdf_records(lines)
    if fmt == "xyz":
        return _xyz_records(lines)
    raise ValueError(f"unknown record format {fmt!r}")


class _Body:
    """The lines of one record, held up to ``limits.MAX_RECORD_CHARS`` characters; `count`
    lines were added; `problem`: why the record cannot be read (a long line, its size)."""

    def __init__(self, number: int):
        self.number, self.lines, self.count, self.size, self.problem = number, [], 0, 0, None

    def add(self, line: str) -> None:
        self.count += 1
        if isinstance(line, LongLine):
            self.problem = self.problem or line.problem
        else:
            self.size += len(line) + 1
            if self.size > limits.MAX_RECORD_CHARS and self.problem is None:
                self.problem = (f"record {self.number} holds more than {limits.MAX_RECORD_CHARS / 1e6:.0f} MB of "
                                f"text, the limit of one molecule's record (a missing record separator?)")
        if self.problem is None:
            self.lines.append(line)
        else:
            del self.lines[1:]                  # keep the first line (the record's name)

    def text(self) -> str:
        return "\n".join(self.lines)


def _smi_records(lines) -> Iterator[Record]:
    for k, (ln, smi, name) in enumerate(smiles_entries(lines), 1):
        problem = getattr(smi, "problem", None)
        yield (Record(k, f"line {ln}", "", "smi", error=problem) if problem else
               Record(k, name or smi, smi, "smi"))


def _sdf_records(lines) -> Iterator[Record]:
    n, body = 0, _Body(1)
    for line in itertools.chain(lines, ["$$$$"]):
        if line.strip() != "$$$$":
            body.add(line)
            continue
        if body.problem or any(x.strip() for x in body.lines):
            n += 1
            first = body.lines[0].strip() if body.lines else ""
            yield Record(n, first or f"record {n}", body.text() + "\n$$$$\n", "sdf", error=body.problem)
        body = _Body(n + 1)


class _Lines:
    """Lines with look-ahead and 1-based line numbers (``number``: of the next line)."""

    def __init__(self, lines):
        self._it, self._ahead, self.number = iter(lines), deque(), 1

    def peek(self, k: int = 0) -> str | None:
        while len(self._ahead) <= k:
            line = next(self._it, None)
            if line is None:
                return None
            self._ahead.append(line)
        return self._ahead[k]

    def pop(self) -> str | None:
        line = self.peek()
        if line is not None:
            self._ahead.popleft()
            self.number += 1
        return line

    def only_blank_left(self) -> bool:
        k = 0
        while (line := self.peek(k)) is not None:
            if line.strip():
                return False
            k += 1
        return True


def _xyz_label(comment: str, number: int) -> str:
    try:
        name = _parse_comment(comment, 1)[0]
    except MoleculeInputError:
        name = ""
    return name.split()[0] if name else f"record {number}"


def _xyz_records(lines) -> Iterator[Record]:
    """XYZ frames cut by their count lines (see the module docstring)."""
    src, number = _Lines(lines), 0
    while (line := src.peek()) is not None:
        if not line.strip():
            src.pop()
            continue
        number += 1
        start, body = src.number, _Body(number)
        if not COUNT_LINE.fullmatch(line):
            body.add(src.pop())
            while src.peek() is not None and not COUNT_LINE.fullmatch(src.peek()):
                body.add(src.pop())
            yield Record(number, f"record {number}", body.text(), "xyz", error=body.problem or
                         f"line {start}: expected the number of atoms, found '{line.strip()[:40]}'")
            continue
        count = int(src.pop())
        comment = src.pop()
        body.add(line)
        if comment is not None:
            body.add(comment)
        label = _xyz_label(comment or "", number)
        while (body.count < count + 2 and (nxt := src.peek()) is not None and nxt.strip()
               and not COUNT_LINE.fullmatch(nxt)):
            body.add(src.pop())
        found, error = max(0, body.count - 2), None
        if found < count:
            rest = src.only_blank_left()
            error = (f"{'truncated' if rest else 'atom-count mismatch'}: the count line (line {start}) "
                     f"says {count} atoms but only {found} atom lines follow")
        else:
            extra = 0
            while (nxt := src.peek()) is not None and _looks_like_atom_line(nxt):
                body.add(src.pop())
                extra += 1
            if extra:
                error = (f"atom-count mismatch: the count line (line {start}) says {count} atoms "
                         f"but {count + extra} atom lines follow")
        yield Record(number, label, body.text() + "\n", "xyz", error=body.problem or error)


# --------------------------------------------------------------------------- entry points
def split_records(data: bytes, filename: str) -> list[Record]:
    """Upload bytes -> records (each parsed later with :func:`parse_record`). Raises
    MoleculeInputError for unsupported types, empty or binary files, and files with more than
    ``limits.MAX_FRAMES`` molecules."""
    fmt = record_format(filename)
    text = _check_text(_decode(bytes(data), f"'{filename}'"), f"'{filename}'")
    out = list(records(text.split("\n"), fmt))
    if not out:
        raise _err(f"'{filename}' holds no molecules.")
    limits.check_frames(len(out), f"'{filename}'")
    if fmt == "xyz" and len(out) == 1 and out[0].error:
        raise _err(f"'{filename}' is not an XYZ file: {out[0].error}.")
    return out


def iter_records(path) -> Iterator[Record]:
    """The records of the file `path`, read lazily through the one bounded reader
    (:func:`mepviz.io.text.user_lines`: a regular file, the encoding decided once, no line
    longer than ``limits.MAX_LINE_CHARS`` held), never the whole file at once; any size."""
    path = Path(path)
    if not path.exists():
        raise MoleculeInputError(f"{path}: no such file")
    fmt = record_format(path.name, FILE_FORMATS)
    yield from records(user_lines(path, f"'{path.name}'"), fmt)


def records_from_text(text: str, filename: str) -> list[Record]:
    """The records of a file's text (format from the file name)."""
    return list(records((ln.rstrip("\r") for ln in text.split("\n")), record_format(filename, FILE_FORMATS)))


@_guard
def parse_record(record: Record) -> Molecule:
    """One record -> Molecule (named after the record when the file gives no name)."""
    if record.error:
        raise _err(record.error)
    if record.fmt == "smi":
        return from_smiles(record.text, name=record.label)
    mol = (from_xyz(record.text) if record.fmt == "xyz" else from_sdf(record.text))[0]
    return mol if mol.name else dataclasses.replace(mol, name=record.label)


def smiles_as_sdf(record: Record) -> Record:
    """A SMILES record as an SDF record (3D conformer from :func:`from_smiles`, formal charges
    kept), for readers that take XYZ/SDF; a bad SMILES becomes an error record."""
    if record.fmt != "smi":
        return record
    try:
        mol = parse_record(record)
    except MoleculeInputError as exc:
        return Record(record.number, record.label, record.text, "sdf", error=str(exc))
    return Record(record.number, record.label, sdf_3d(mol), "sdf")
