"""CSV text as nnctl reads it: the one reader of a CSV's records and of its header, for training
(tabular), init (infer), predict and eval --data (features, runs.checkpoint_data).

    read(path)             the file as text: capped, regular files only, UTF-8 (a spreadsheet's
                           byte-order mark dropped; UTF-16 when a byte-order mark says so), or
                           the `encoding` the config names (e.g. cp1252); read_bytes and decode
                           the same in two steps, for a caller that hashes the bytes
    sniff(text)            the delimiter: of , ; tab and |, the one that splits the first records
                           into the same number of fields
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

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from .. import files
from ..errors import DataError


@dataclass(frozen=True)
class Header:
    """A CSV's first record, as names, and how many lines it spans (a quoted newline makes it two
    or more): what NumPy's loadtxt skips (`skiprows`) to reach the rows."""

    names: list[str]
    lines: int


DELIMITERS = (",", ";", "\t", "|")  # what `sniff` chooses from, in the order that breaks a tie
SNIFFED_CHARS = 1 << 16  # the start of the text `sniff` looks at
SNIFFED_RECORDS = 50
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # Excel's "Unicode text" is UTF-16 with one


def read(path, what: str = "a CSV", encoding: str = "utf-8") -> str:
    """The text of the CSV file `path`, read through the capped, regular-file-only reader."""
    return decode(read_bytes(path, what), str(path), encoding)


def read_bytes(path, what: str = "a CSV") -> bytes:
    """The bytes of the data file `path`: capped, regular files only."""
    return files.read_limited(path, files.MAX_DATA_BYTES, DataError, what, files.DATA_TOO_BIG)


def decode(raw: bytes, source: str, encoding: str = "utf-8") -> str:
    """`raw` as text: UTF-8 (-sig: a spreadsheet's byte-order mark is not part of the header), UTF-16
    when it starts with that byte-order mark, else `encoding`."""
    if raw.startswith(UTF16_BOMS):
        encoding = "utf-16"  # the codec reads the byte order from the mark, and drops it
    elif codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        hint = (" (a spreadsheet's 'CSV UTF-8', or data.encoding: cp1252 for a Windows one)" if encoding == "utf-8-sig"
                else "")
        raise DataError(f"{source}: not a {_codec(encoding)} text file (byte {e.start} is not "
                        f"{_codec(encoding)}){hint}") from None


def _codec(encoding: str) -> str:
    return "UTF-8" if encoding == "utf-8-sig" else encoding.upper() if encoding.startswith("utf") else encoding


def sniff(text: str, source: str = "<csv>") -> str:
    """The delimiter of CSV `text`: of DELIMITERS, the one that splits each of the first records
    into the same number of fields, more than one (the csv module's quoting respected, so a quoted
    ';' is not one); the most fields wins, then the order of DELIMITERS; ',' when none does (one
    column, or rows of different lengths, which the reader then reports)."""
    sample = text[:SNIFFED_CHARS]
    if len(text) > SNIFFED_CHARS:
        sample = sample[:sample.rfind("\n") + 1] or sample  # no record cut short
    best, most = ",", 1
    for delimiter in DELIMITERS:
        try:
            widths = {len(cells) for _, cells in itertools.islice(records(sample, delimiter, source), SNIFFED_RECORDS)}
        except DataError:
            continue
        if len(widths) == 1 and (width := widths.pop()) > most:
            best, most = delimiter, width
    return best


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


def read_header(path, delimiter: str | None = ",") -> Header:
    """The header of the CSV file `path` (as `header` reads it), reading no more than its first
    record (the first SNIFFED_CHARS characters when the delimiter, None, is to be sniffed)."""
    # errors="replace": text is decoded a block at a time, and a bad byte further on is for `read`
    # to refuse, by its position, once the file is read
    with files.open_capped(path, files.MAX_DATA_BYTES, DataError, "a CSV", files.DATA_TOO_BIG) as handle:
        encoding = "utf-16" if handle.peek(2)[:2] in UTF16_BOMS else "utf-8-sig"
        with io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="") as lines:
            if delimiter is None:
                start = lines.read(SNIFFED_CHARS) + lines.readline()  # whole lines: a record is never cut
                delimiter = sniff(start, str(path))
                lines = itertools.chain(io.StringIO(start, newline=""), lines)
            return _header(lines, delimiter, str(path))
