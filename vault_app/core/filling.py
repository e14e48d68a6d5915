"""Filling a buffer from a file: the one loop over short reads.

A ``read``/``readinto`` may return fewer bytes than asked (pipes, network file systems,
signals), so every caller that needs a whole block, segment or header would otherwise
write the same loop; here it is once, sequential or at an offset.
"""

from __future__ import annotations

import os
from typing import BinaryIO

#: Reading at an offset, straight into a buffer, without moving the file position
#: (``os.preadv``: Linux, the BSDs, macOS 11+; elsewhere seek and read).
CAN_PREAD = hasattr(os, "preadv")


def fill(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src`` until full or end of file; return bytes read.

    Uses ``readinto`` where ``src`` has it (no copy), else ``read``.
    """
    done = 0
    readinto = getattr(src, "readinto", None)
    while done < len(view):
        if readinto is not None:
            n = readinto(view[done:])
        else:
            data = src.read(len(view) - done)
            n = len(data)
            view[done : done + n] = data
        if not n:
            break
        done += n
    return done


def fill_at(src: BinaryIO, offset: int, view: memoryview, *, positional: bool) -> int:
    """Fill ``view`` from ``src`` at absolute ``offset``; return bytes read.

    ``positional`` reads with ``os.preadv`` on ``src``'s descriptor: the file position
    stays where it was, and threads may read one file at once. Otherwise ``src`` is
    seeked to ``offset`` and left after the bytes read.
    """
    if not positional:
        src.seek(offset)
        return fill(src, view)
    done = 0
    while done < len(view):
        n = os.preadv(src.fileno(), [view[done:]], offset + done)
        if not n:
            break
        done += n
    return done
