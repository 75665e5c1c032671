"""Reproducible Office files: the same parts give the same bytes, whenever they are written.

Zip writers stamp each member with the current time; Office packages written by python-pptx
and others therefore differ from run to run although nothing inside changed. Patching the
two timestamp fields of every member in place keeps the file otherwise untouched (no
recompression), so fingerprints, caches and diffs of generated documents mean something.
"""

from __future__ import annotations

import datetime as dt
import struct

# 1980-01-01 00:00, the earliest time a zip can hold (MS-DOS date and time fields).
DOS_TIME = 0
DOS_DATE = (0 << 9) | (1 << 5) | 1
FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # for document properties

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"


def fix_zip_timestamps(data: bytes) -> bytes:
    """The same zip with every member's modification time set to 1980-01-01 00:00."""
    end = data.rfind(_END)
    if end < 0:
        raise ValueError("not a zip file: no end of central directory")
    count, _size, start = struct.unpack_from("<HIL", data, end + 10)
    out = bytearray(data)
    position = start
    for _ in range(count):
        if out[position : position + 4] != _CENTRAL:
            raise ValueError(f"not a zip file: bad central directory entry at {position}")
        struct.pack_into("<HH", out, position + 12, DOS_TIME, DOS_DATE)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, position + 28)
        (local,) = struct.unpack_from("<L", out, position + 42)
        if out[local : local + 4] != _LOCAL:
            raise ValueError(f"not a zip file: bad local header at {local}")
        struct.pack_into("<HH", out, local + 10, DOS_TIME, DOS_DATE)
        position += 46 + name_len + extra_len + comment_len
    return bytes(out)
