"""CSV text as nnctl reads it: the one reader of a CSV's records and of its header, for training
(tabular), init (infer), predict and eval --data (features, runs.checkpoint_data).

    read(path)             the file as text: capped, regular files only, UTF-8 (a spreadsheet's
                           byte-order mark dropped)
    records(text)          (line, cells) of every record that is not blank; `line` is where the
                           record starts (a quoted cell may hold the delimiter or a newline)
    header(text)           the first record's names (each cell stripped) and the lines it spans;
                           read_header(path) the same, reading no more of the file than that
    names(cells)           a header's cells as column names: stripped of surrounding spaces

Lines end with \\n, \\r\\n or \\r, as the csv module reads them; a quoted cell keeps its newline, so
training, init and predict all see the same header. A cell may be as long as the file: the
csv module's own limit (128 KB) is raised, once and for the process, to the data cap.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterator

from .. import files
from ..errors import DataError


@dataclass(frozen=True)
class Header:
    """A CSV's first record, as names, and how many lines it spans (a quoted newline makes it two
    or more): what NumPy's loadtxt skips (`skiprows`) to reach the rows."""

    names: list[str]
    lines: int


def read(path, what: str = "a CSV") -> str:
    """The text of the CSV file `path`, read through the capped, regular-file-only reader."""
    raw = files.read_limited(path, files.MAX_DATA_BYTES, DataError, what, files.DATA_TOO_BIG)
    return decode(raw, str(path))


def decode(raw: bytes, source: str) -> str:
    """`raw` as UTF-8 text (-sig: a spreadsheet's byte-order mark is not part of the header)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{source}: not a UTF-8 text file (byte {e.start} is not UTF-8)") from None


def _allow_long_cells() -> None:
    # raised, never lowered: another thread reading meanwhile keeps a limit at least this large
    if csv.field_size_limit() < files.MAX_DATA_BYTES:
        csv.field_size_limit(files.MAX_DATA_BYTES)


def records(text: str, delimiter: str = ",", source: str = "<csv>") -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each record of CSV `text` that holds something but spaces, in order."""
    for first, _, cells in _records(io.StringIO(text, newline=""), delimiter, source):
        yield first, cells


def _records(lines, delimiter: str, source: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of each record that is not blank, read from the iterable
    `lines` (each with its line end) only as far as the records asked for need."""
    _allow_long_cells()
    reader = csv.reader(lines, delimiter=delimiter)
    first = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # whatever the csv module refuses is the file's fault
            raise DataError(f"{source}:{first}: not readable as CSV ({e})") from None
        if cells and any(cell.strip() for cell in cells):
            yield first, reader.line_num, cells
        first = reader.line_num + 1


def names(cells: list[str]) -> list[str]:
    """A header's cells as column names: the spaces around each are not part of it."""
    return [cell.strip() for cell in cells]


def header(text: str, delimiter: str = ",", source: str = "<csv>") -> Header:
    """The first record of CSV `text` as names (none when it has no record), and the lines up to its end."""
    return _header(io.StringIO(text, newline=""), delimiter, source)


def _header(lines, delimiter: str, source: str) -> Header:
    first = next(_records(lines, delimiter, source), None)
    return Header([], 0) if first is None else Header(names(first[2]), first[1])


def read_header(path, delimiter: str = ",") -> Header:
    """The header of the CSV file `path` (as `header` reads it), reading no more than its first record."""
    # errors="replace": text is decoded a block at a time, and a bad byte further on is for `read`
    # to refuse, by its position, once the file is read
    with files.open_capped(path, files.MAX_DATA_BYTES, DataError, "a CSV", files.DATA_TOO_BIG) as handle, \
            io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="") as lines:
        return _header(lines, delimiter, str(path))
