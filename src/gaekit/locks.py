"""Folder locks: ``folder/.lock`` holds ``"<host> <pid>"`` of its owner.

A lock left by a process that is gone (on this host) is taken over; one held by a live process, or by a
process on another host (which cannot be checked), is respected. Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".lock"
# the hidden leftovers of gaekit's atomic writes: ``.<name>.tmp-<pid>`` and ``.<name>.old-<pid>``
_LEFTOVER = re.compile(r"^\..+\.(?:tmp|old)-(\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (the one check, also used by ``gaekit.serialization``)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; a pid too large to check
        return True
    return True


def _holder(lock: Path) -> tuple[str, int] | None:
    """``(host, pid)`` written in ``lock``; None when unreadable or half-written (treated as stale)."""
    try:
        host, pid = lock.read_text().split()
        return host, int(pid)
    except (OSError, ValueError):
        return None


def acquire_lock(folder: Path) -> tuple[str, int] | None:
    """Take ``folder/.lock``; return None on success, else ``(host, pid)`` of the live process holding it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    host = socket.gethostname()
    holder: tuple[str, int] | None = None
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _holder(lock)
            if holder is not None and (holder[0] != host or pid_alive(holder[1])):
                return holder
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{host} {os.getpid()}")
        return None
    return holder or (host, 0)


def release_lock(folder: Path) -> None:
    """Remove ``folder/.lock`` if this process holds it."""
    lock = Path(folder) / LOCK_FILE
    if _holder(lock) == (socket.gethostname(), os.getpid()):
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[bool]:
    """Hold ``folder/.lock`` while the block runs; yields False (holding nothing) when another live
    process holds it. A lock left by a dead process on this host is taken over."""
    held = acquire_lock(folder) is None
    try:
        yield held
    finally:
        if held:
            release_lock(folder)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the hidden ``.<name>.tmp-<pid>`` / ``.<name>.old-<pid>`` files and folders that other processes
    (killed while writing) left in ``folder``; return what was removed. Call it while holding the folder's lock.

    A ``.<name>.old-<pid>`` whose ``<name>`` is missing is the previous version of a folder whose replacement
    was cut short: it is kept, for ``gaekit.serialization`` to restore on the next save or load of ``<name>``.
    """
    removed = []
    for path in sorted(Path(folder).iterdir()):
        match = _LEFTOVER.match(path.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        final = path.with_name(path.name[1:path.name.rindex(".")])
        if path.name.rsplit(".", 1)[1].startswith("old") and not final.exists():
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(path)
    return removed
