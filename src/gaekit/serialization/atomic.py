"""Atomic folder saves: only gaekit's own folders are replaced, the user's files in them are kept, and a
process killed between the two renames is recovered from.

``atomic_folder`` refuses an existing folder that is not empty and not a gaekit folder of the same
kind (``folder_kind``), keeps the files of the user in a folder it replaces, and recovers from a
process killed between its two renames (``recover_folder``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from gaekit.errors import CheckpointError
from gaekit.locks import pid_alive
from gaekit.serialization.kinds import FOLDER_KINDS, folder_kind
from gaekit.serialization.outputs import as_folder_path, ensure_output_folder


def _siblings(final: Path, tag: str) -> Iterator[tuple[Path, int]]:
    """``(path, pid)`` of the ``.<name>.<tag>-<pid>`` folders next to ``final``."""
    prefix = f".{final.name}.{tag}-"
    if final.parent.is_dir():
        for path in final.parent.iterdir():
            if path.name.startswith(prefix) and path.name[len(prefix):].isdigit():
                yield path, int(path.name[len(prefix):])


def recover_folder(final: Path) -> None:
    """Restore ``final`` when a process was killed between the two renames of ``atomic_folder``.

    Roll back: when ``final`` is missing and a ``.<name>.old-<pid>`` folder of a dead process is
    next to it, that previous version is renamed back to ``final`` (the save never completed, so
    the folder is as before it). Processes are judged alive on this host only.
    """
    final = Path(final)
    if final.exists() or final.is_symlink():
        return
    olds = [path for path, pid in _siblings(final, "old") if not pid_alive(pid)]
    if olds:
        old = max(olds, key=lambda p: p.stat().st_mtime)
        try:
            os.replace(old, final)
        except OSError as err:
            raise CheckpointError(f"{final} is missing and its previous version {old} cannot be restored ({err}); "
                                  f"rename {old.name} back to {final.name}") from None


def _remove_stale(final: Path) -> None:
    """Remove temporary and previous-version folders next to ``final`` left by dead processes."""
    for tag in ("tmp", "old"):
        for path, pid in _siblings(final, tag):
            if not pid_alive(pid):
                shutil.rmtree(path, ignore_errors=True)


def check_replaceable(final: Path, kind: str | None) -> None:
    """Raise ``CheckpointError`` unless a ``kind`` folder may be written at ``final``.

    Allowed: a missing path, an empty folder, or a gaekit folder of the same kind. Anything else
    (a file, a folder of the user, a gaekit folder of another kind) is refused and left untouched.
    """
    final = Path(final)
    if not final.exists() and not final.is_symlink():
        return
    if not final.is_dir():
        reason = "is a file, not a folder"
    elif not any(final.iterdir()):
        return
    else:
        found = folder_kind(final)
        if found is not None and found == kind:
            return
        reason = (f"is a gaekit {found} folder" if found is not None
                  else "is a folder that is not empty and holds no gaekit metadata file")
    what = f"gaekit {kind}" if kind else "gaekit"
    raise CheckpointError(f"refusing to save a {what} folder at {final}: it {reason}; nothing was changed. "
                          f"Save to a new or empty folder, or to a {what} folder (which is replaced)")


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _keep_user_files(final: Path, tmp: Path, kind: str | None) -> None:
    """Hard-link (or copy) into ``tmp`` every entry of ``final`` that gaekit does not write there."""
    if not final.is_dir():
        return
    owned = FOLDER_KINDS[kind][3] if kind in FOLDER_KINDS else frozenset()
    for entry in final.iterdir():
        target = tmp / entry.name
        if entry.name in owned or target.exists():
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


@contextlib.contextmanager
def atomic_folder(final: Path, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``final`` in one rename.

    Only gaekit's own files are replaced: ``final`` must be missing, empty or a gaekit folder of the
    kind written (``kind``, or else the kind of what the block wrote; see ``check_replaceable``),
    checked before the block when ``kind`` is given and again before the rename. Files of the user
    inside a replaced folder are kept (hard-linked, or copied, into the new folder, so that a crash
    at any point leaves them in place). A crash inside the block leaves ``final`` as it was and
    removes the temporary folder. A kill between ``final -> .final.old-PID`` and ``tmp -> final``
    is rolled back by the next save or load (``recover_folder``); temporary and previous-version
    folders left by dead processes are removed by the next save.
    """
    final = as_folder_path(final, "folder", CheckpointError)
    ensure_output_folder(final.parent, f"cannot save {final}: its parent folder", CheckpointError)
    recover_folder(final)
    if kind is not None:
        check_replaceable(final, kind)
    _remove_stale(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        written = kind or folder_kind(tmp)
        check_replaceable(final, written)
        _keep_user_files(final, tmp, written)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old.exists() and not final.exists():
            os.replace(old, final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
