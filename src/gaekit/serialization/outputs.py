"""Output folder paths: checked before anything is written, and created with one ``ConfigError`` (never an
``OSError``) naming what they are for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gaekit.errors import ConfigError


def as_folder_path(value: Any, what: str, error: type[Exception] = ConfigError, named: bool = True) -> Path:
    """``value`` as a ``Path``; ``error`` unless it is a non-empty str or path-like, and (``named``: a folder
    that is saved or loaded as a whole) one whose last part is a name, not ``.`` or ``..``."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise error(f"{what}={value!r} is invalid: expected a path (a str or os.PathLike), got "
                    f"{type(value).__name__}")
    path = Path(value)
    if not os.fspath(value).strip() or (named and path.name in ("", ".", "..")):
        allowed = "not empty, '.' or '..'" if named else "not empty"
        raise error(f"{what}={os.fspath(value)!r} is invalid: expected a path naming a folder ({allowed})")
    return path


def folder_path_problem(path: Path) -> str | None:
    """Why no folder can be created at ``path`` (it, or a folder above it, is a file; the first existing
    folder is not writable), or None."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.is_dir():
            return None if os.access(p, os.W_OK | os.X_OK) else f"{p} is not writable by this user"
        if p.exists() or p.is_symlink():
            return "it is a file, not a folder" if p == path else f"{p} above it is a file, not a folder"
    return None


def check_output_folder(path: Any, what: str, error: type[Exception] = ConfigError) -> Path:
    """``path`` as a ``Path`` if a folder can be created there (nothing is created); else ``error`` naming
    ``what``, the path and the reason (not a path; it, or a folder above it, is a file)."""
    path = as_folder_path(path, what, error, named=False)
    problem = folder_path_problem(path)
    if problem is not None:
        raise error(f"{what} {path} is not usable as an output folder: {problem}; nothing was changed")
    return path


def ensure_output_folder(path: Any, what: str, error: type[Exception] = ConfigError) -> Path:
    """``check_output_folder``, then create the folder (and its parents); return it.

    Every output folder of gaekit (pipelines, evaluation, caches, the parent of a saved folder) is made
    here, so that a bad path is one ``ConfigError`` (or ``error``) naming ``what``, never an ``OSError``.
    """
    path = check_output_folder(path, what, error)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise error(f"{what} {path} is not usable as an output folder: it cannot be created "
                    f"({err.strerror or err})") from None
    return path
