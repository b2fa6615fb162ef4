"""What this machine has to give: the memory available, and byte counts as people read them.

The memory available is $NNCTL_MEMORY_LIMIT when set (bytes, or with a unit: 512M, 2G, 1.5GiB),
else /proc/meminfo's MemAvailable, else the free pages the C library reports.
"""

from __future__ import annotations

import math
import os
import re

from .errors import ConfigError

ENV = "NNCTL_MEMORY_LIMIT"
UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
         "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def available() -> tuple[int | None, str]:
    """(bytes of memory available, where that number comes from); None when nothing says."""
    value = os.environ.get(ENV)
    if value:
        return parse_size(value), ENV
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free pages"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def parse_size(text: str) -> int:
    """Bytes from '123', '512M', '2G', '1.5GiB' (binary units); ConfigError for anything else."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise ConfigError(f"{ENV}={text!r}: expected a number of bytes, optionally with a unit (512M, 2G, 1.5GiB)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def size(n: int) -> str:
    """A byte count as people read it, in binary units: 812 B, 3.4 MiB, 7.3 TiB. The one way nnctl
    shows a size (check's memory estimate, summary's parameters, data list's cache)."""
    if n < 1024:
        return f"{n} B"
    exponent = min(int(math.log(n, 1024)), 5)
    return f"{n / 1024**exponent:.1f} {['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][exponent]}"
