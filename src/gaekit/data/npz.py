"""``.npz`` / ``.npy`` arrays as gaekit datasets, opened with ``allow_pickle=False`` so nothing is unpickled."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.data.containers import ArrayDataset
from gaekit.data.lookup import SPLITS, PathLike
from gaekit.errors import DataError
from gaekit.serialization import as_folder_path

__all__ = ["load_npz"]

_DATA_KEYS = ("data", "x", "images")
_LABEL_KEYS = ("labels", "y", "targets")
_PICKLE_REFUSED = (
    "{what}, which needs pickle to load; pickled arrays are refused (loading them can run code) — "
    "save plain numeric arrays instead"
)


def _open_npz(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"npz file {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    with open(path, "rb") as f:
        magic = f.read(6)
    if not magic.startswith((b"PK", b"\x93NUMPY")):
        raise DataError(f"{path} is not a .npz or .npy file: it starts with {magic!r}, not a zip or npy header")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(_PICKLE_REFUSED.format(what=f"{path} holds an object array")) from None
        raise DataError(f"{path} could not be read as .npz/.npy: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # a truncated zip is a BadZipFile
        raise DataError(f"{path} is not a readable .npz file: {exc}") from None


def _npz_array(f: Any, key: str, path: Path) -> np.ndarray:
    try:
        return f[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                _PICKLE_REFUSED.format(what=f"array {key!r} in {path} is an object array")
            ) from None
        raise DataError(f"array {key!r} in {path} could not be read: {exc}") from None


def _npz_dataset(path: Path, data: np.ndarray, labels: np.ndarray | None = None) -> ArrayDataset:
    """``ArrayDataset(data, labels)``, its refusal naming the file the arrays came from."""
    try:
        return ArrayDataset(data, labels)
    except DataError as err:
        raise DataError(f"{path}: {err}") from None


def load_npz(path: PathLike, key: str | None = None, labels_key: str | None = None) -> ArrayDataset:
    """Load an array (and optional labels) from a ``.npz`` file, never unpickling anything.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file (a plain ``.npy`` file works too).
    key : str, optional
        Array holding the samples; default the only array, else "data", "x" or "images".
    labels_key : str, optional
        Array holding the labels; default "labels", "y" or "targets" when present with an integer
        dtype and one entry per sample, else no labels.

    Returns
    -------
    ArrayDataset

    Raises
    ------
    DataError
        Missing file, unknown or ambiguous key, or an object (pickled) array.
    """
    p = as_folder_path(path, "load_npz: path", DataError, named=False)
    f = _open_npz(p)
    if isinstance(f, np.ndarray):  # a .npy file
        if key is not None or labels_key is not None:
            raise DataError(f"{p} holds a single array (.npy); key and labels_key do not apply")
        return _npz_dataset(p, f)
    with f:
        names = list(f.files)
        key = _data_key(names, key, p)
        data = _npz_array(f, key, p)
        if labels_key is not None:
            if labels_key not in names:
                raise DataError(f"{p} has no labels array {labels_key!r}; it holds {names}")
            labels = _npz_array(f, labels_key, p)
        else:
            labels = _default_labels(f, names, key, data, p)
    return _npz_dataset(p, data, labels)


def _data_key(names: list[str], key: str | None, path: Path) -> str:
    """The array holding the samples: ``key`` if the file has it, else the only array or a usual name."""
    if key is not None:
        if key not in names:
            raise DataError(f"{path} has no array {key!r}; it holds {names}")
        return key
    if len(names) == 1:
        return names[0]
    found = next((k for k in _DATA_KEYS if k in names), None)
    if found is None:
        raise DataError(f"{path} holds arrays {names}; none is named {' / '.join(_DATA_KEYS)} — pass key=<name>")
    return found


def _default_labels(f: Any, names: list[str], key: str, data: np.ndarray, path: Path) -> np.ndarray | None:
    """The first array with a usual labels name (other than ``key``), when it holds one integer per sample."""
    for k in _LABEL_KEYS:
        if k in names and k != key:
            cand = _npz_array(f, k, path)
            if cand.dtype.kind in "iu" and cand.ndim >= 1 and data.ndim >= 1 and len(cand) == len(data):
                return cand
            return None
    return None


def load_npz_split(path: str, split: str) -> ArrayDataset:
    """``npz:<path>`` of :func:`gaekit.data.load_dataset`: the array named ``split`` (with its labels) when the
    file has one, else :func:`load_npz` with the default keys (a file of other splits only is refused)."""
    p = Path(path).expanduser()
    f = _open_npz(p)
    if isinstance(f, np.ndarray):
        return _npz_dataset(p, f)
    with f:
        names = list(f.files)
        if split in names:
            data = _npz_array(f, split, p)
            labels_key = next((k for k in (f"{split}_labels", f"{split}_y") if k in names), None)
            labels = None if labels_key is None else _npz_array(f, labels_key, p)
            return _npz_dataset(p, data, labels)
        if any(name in SPLITS for name in names):
            raise DataError(f"{p} holds the arrays {names} but no {split!r} array; add one named {split!r} "
                            f"(arrays named after splits: {', '.join(SPLITS)})")
    return load_npz(p)
