""".npy and .npz headers checked before NumPy allocates what they claim.

np.load allocates shape x itemsize bytes first and reads the data after, so a 100-byte file whose
header says (10**12, 3) asks for 24 TB. `check` reads only the headers: each array's bytes must
be held by the file (for a .npz member, by the size the zip directory declares for it, which
zipfile then holds the stream to) and fit in the memory available.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..machine import available, size


def check(handle, path: Path) -> None:
    """Refuse (DataError) a .npy file, or a .npz file with a member, whose header claims more
    bytes than the file holds or than memory has; anything unreadable is left to np.load.
    `handle` is the file, already opened as a regular file (files.open_capped), or its bytes read
    already (io.BytesIO): it is read from the start and left at the start."""
    try:
        stored = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        if handle.read(6) == b"\x93NUMPY":
            handle.seek(0)
            _check_header(handle, stored, str(path))
            return
        handle.seek(0)
        if not zipfile.is_zipfile(handle):
            return
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    with archive.open(info) as member:
                        _check_header(member, info.file_size, f"{path}: '{info.filename[:-4]}'")
    except (OSError, zipfile.BadZipFile, EOFError):
        return  # np.load says what is wrong with the file
    finally:
        handle.seek(0)


def _check_header(f, stored: int, where: str) -> None:
    """The array whose header starts `f` fits in `stored` bytes (header included) and in memory."""
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
        start = f.tell()
    except ValueError:
        return  # a malformed header: np.load refuses it with its own message
    if dtype.hasobject:
        return  # refused by np.load without pickle
    claimed = math.prod(shape) * dtype.itemsize
    if claimed > stored - start:
        raise DataError(f"{where}: its header claims shape {shape} {dtype} ({size(claimed)}), but holds "
                        f"{size(max(stored - start, 0))} of data: the file is truncated or crafted")
    have, source = available()
    if have is not None and claimed > have:
        raise DataError(f"{where}: an array of shape {shape} {dtype} needs {size(claimed)}, this machine has "
                        f"{size(have)} available ({source})")
