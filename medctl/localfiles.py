"""Small local files medctl reads and writes: keys, settings, exports (SECURITY.md, "Local files").

- Reading takes only a regular file of bounded size: a FIFO planted at the path cannot
  hang medctl (it is opened without blocking and refused), and ``/dev/zero`` or a huge
  file is refused before it is read whole.
- Writing is atomic and private: a temporary file created exclusively (``O_EXCL``, a
  random name, by :func:`tempfile.mkstemp`) beside the target, mode 0600, flushed to
  disk, then renamed over the target. Nothing is ever written through a name someone
  else could have planted first.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

#: Keys, settings: a few kilobytes at most.
MAX_SMALL_FILE: Final = 256 * 1024
PRIVATE_FILE: Final = 0o600
PRIVATE_DIR: Final = 0o700
#: Opening a FIFO for reading blocks until a writer appears, unless non-blocking (POSIX only).
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)


class LocalFileError(OSError):
    """A local file medctl will not read: not a regular file, or too large. The message says which."""


def read_small_file(path: Path, limit: int = MAX_SMALL_FILE) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file *path* (at most *limit*) and its status; FileNotFoundError if absent."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LocalFileError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise LocalFileError(f"{path} is {info.st_size} bytes, more than the {limit} a file of medctl's can be")
        data = os.read(fd, limit + 1)
        if len(data) > limit:  # grew meanwhile
            raise LocalFileError(f"{path} is more than {limit} bytes")
        return data, info
    finally:
        os.close(fd)


def ensure_private_directory(directory: Path) -> None:
    """Create *directory* (and its parents) with mode 0700 if it does not exist."""
    if not directory.exists():
        directory.mkdir(mode=PRIVATE_DIR, parents=True)
        directory.chmod(PRIVATE_DIR)


def write_atomically(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Replace *path* with *data*: a fresh exclusive temporary file beside it, fsync, rename."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable where the platform can (POSIX); Windows cannot open a directory."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
