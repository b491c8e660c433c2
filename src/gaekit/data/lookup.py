"""The data lookup, and what the file-based sources share: where a dataset's folder is searched, the error when
it is not found, the split names every loader takes, md5 checks and the cache key of a file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from gaekit.errors import ConfigError, DataError
from gaekit.serialization import as_folder_path

__all__ = ["find_data_dir"]

PathLike = str | os.PathLike

SPLITS = ("train", "validation", "test", "train_full")
"""The splits every registered loader takes."""

# The files of MNIST and Fashion-MNIST by role, each either as ``stem`` or ``stem.gz``.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# What find_data_dir expects of the known datasets when not told: the files their folder must hold, and how
# to get them (``{where}`` becomes the folder(s) to put them in).
_REQUIRED_STEMS: dict[str, tuple[str, ...]] = {
    "mnist": tuple(MNIST_FILES.values()),
    "fashion-mnist": tuple(MNIST_FILES.values()),
}
_HOW_TO_GET: dict[str, str] = {
    "mnist": "download it into {where} with gaekit.data.download_mnist(root)",
    "fashion-mnist": "download it into {where} with gaekit.data.download_mnist(root, fashion=True)",
}

# In-process cache of md5 sums, keyed by (resolved path, size, mtime_ns) so a changed file is hashed again.
_MD5_CACHE: dict[tuple[str, int, int], str] = {}


def check_split(split: str, allowed: Sequence[str] = SPLITS) -> None:
    """Raise ``ConfigError`` unless ``split`` is one of ``allowed``, listing them."""
    if split not in allowed:
        raise ConfigError(f"unknown split {split!r}; allowed splits: {', '.join(allowed)}")


def file_key(path: Path) -> tuple[str, int, int]:
    """The cache key of a file: (resolved path, size, mtime_ns), so a changed file is read again."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _clear_cache() -> None:
    """Forget cached checksums (for tests)."""
    _MD5_CACHE.clear()


# ---------------------------------------------------------------------- locating
def user_data_dir() -> Path:
    """The user data folder, ``$XDG_CACHE_HOME/gaekit/data`` (default ``~/.cache/gaekit/data``)."""
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "gaekit" / "data"


def _holds(folder: Path, stems: Sequence[str]) -> bool:
    if not folder.is_dir():
        return False
    return all((folder / s).is_file() or (folder / f"{s}.gz").is_file() for s in stems)


def candidate_dirs(name: str, root: PathLike | None) -> list[Path]:
    """Where dataset ``name`` may be: ``root`` and ``root/name`` only when ``root`` is given (whether or not
    it exists: see :func:`not_found`), else the usual places: ``$GAEKIT_DATA_DIR/name``, then the user data
    folder's ``name``."""
    if root is not None:
        r = as_folder_path(root, "root", DataError, named=False).expanduser()
        return [r, r / name]
    user = user_data_dir() / name
    env = os.environ.get("GAEKIT_DATA_DIR")
    if env and os.path.abspath(Path(env).expanduser() / name) != os.path.abspath(user):
        return [Path(env).expanduser() / name, user]
    return [user]


def not_found(name: str, root: PathLike | None, cands: Sequence[Path], missing: str, hint: str) -> DataError:
    """The error for dataset ``name`` found in none of ``cands``: it names the given ``root`` (and says when it
    does not exist) or lists the usual places, says what was ``missing`` and how to get the data (``hint``,
    whose ``{where}`` becomes the folder(s) to put it in)."""
    places = "\n".join(f"  - {c}" for c in cands)
    if root is not None:
        r = Path(root).expanduser()
        state = " (it does not exist)" if not r.exists() else ""
        return DataError(f"dataset {name!r} not found in the given data folder {r}{state}: {missing}; searched:\n"
                         f"{places}\n{hint.format(where='that folder')}, or give the folder that holds the data")
    return DataError(f"dataset {name!r} not found: {missing}; searched:\n{places}\n"
                     f"{hint.format(where='one of these folders')}, or set GAEKIT_DATA_DIR to a folder holding a "
                     f"{name!r} subfolder with the data")


def find_data_dir(name: str, root: PathLike | None = None, *, required: Sequence[str] | None = None) -> Path:
    """Find the folder holding the files of dataset ``name``.

    With ``root`` given, only ``root`` itself and ``root/name`` are looked at. Without it, in order:
    ``$GAEKIT_DATA_DIR/name``, then the user data folder ``$XDG_CACHE_HOME/gaekit/data/name`` (default
    ``~/.cache/gaekit/data/name``).

    Parameters
    ----------
    name : str
        Dataset folder name ("mnist", "fashion-mnist", ...).
    root : str or Path, optional
        The only folder (with its ``name`` subfolder) looked at when given.
    required : sequence of str, optional
        File names (each also accepted with ``.gz``) the folder must hold; default: the known files
        of ``name``, or none (any existing folder) for other names.

    Returns
    -------
    Path
        The first candidate that exists and holds the expected files.

    Raises
    ------
    DataError
        A given ``root`` that does not exist or does not hold the files; otherwise none of the usual
        places holds them. The message lists every place searched and how to get the data.
    """
    stems = tuple(required) if required is not None else _REQUIRED_STEMS.get(name, ())
    cands = candidate_dirs(name, root)
    for c in cands:
        if _holds(c, stems):
            return c
    missing = f"no folder with {', '.join(stems)} (each possibly .gz)" if stems else "no such folder"
    raise not_found(name, root, cands, missing, _HOW_TO_GET.get(name, "put the files in {where}"))


# ---------------------------------------------------------------------- checksums
def md5_of(path: Path) -> str:
    """The md5 of a file, cached in-process by :func:`file_key`."""
    key = file_key(path)
    cached = _MD5_CACHE.get(key)
    if cached is not None:
        return cached
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    _MD5_CACHE[key] = digest
    return digest


def verify_md5(path: Path, expected: str) -> None:
    """Raise ``DataError`` naming the file and both sums unless its md5 is ``expected``."""
    actual = md5_of(path)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {path}: expected md5 {expected}, got {actual}; the file is corrupted "
            "or not the official one — delete it and download it again"
        )
