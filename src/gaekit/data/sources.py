"""Dataset files: locating, checksumming, reading (IDX, npz), downloading, and the dataset registry.

No pickle is ever loaded: IDX files are parsed by hand and ``.npz`` files are opened with
``allow_pickle=False``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.data.dataset import ArrayDataset
from gaekit.errors import ConfigError, DataError
from gaekit.registry import Registry, spelling_key
from gaekit.serialization import as_folder_path

__all__ = [
    "DATASETS",
    "download_mnist",
    "find_data_dir",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_npz",
    "read_idx",
]

PathLike = str | os.PathLike

# ---------------------------------------------------------------------- file tables
_IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# Known md5 sums by dataset folder name, then file name. MNIST: the published sums of the gz files
# and the sums of the uncompressed files. Fashion-MNIST: Zalando's published sums of the gz files;
# no official sums exist for uncompressed Fashion-MNIST files, which are checked by their IDX
# header and size only.
_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

# Files a data folder must hold (each either as ``stem`` or ``stem.gz``).
_REQUIRED_STEMS: dict[str, tuple[str, ...]] = {
    "mnist": tuple(_IDX_STEMS.values()),
    "fashion-mnist": tuple(_IDX_STEMS.values()),
}

_MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# In-process caches, keyed by (resolved path, size, mtime_ns) so a changed file is read again.
_MD5_CACHE: dict[tuple[str, int, int], str] = {}
_IDX_CACHE: dict[tuple[str, int, int], np.ndarray] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _clear_caches() -> None:
    """Forget cached checksums and decoded arrays (for tests)."""
    _MD5_CACHE.clear()
    _IDX_CACHE.clear()
    _DIGITS_CACHE.clear()


# ---------------------------------------------------------------------- locating
def _user_data_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "gaekit" / "data"


def _holds(folder: Path, stems: Sequence[str]) -> bool:
    if not folder.is_dir():
        return False
    return all((folder / s).is_file() or (folder / f"{s}.gz").is_file() for s in stems)


def _candidate_dirs(name: str, root: PathLike | None) -> list[Path]:
    """Where dataset ``name`` may be: ``root`` and ``root/name`` only when ``root`` is given (whether or not
    it exists: see :func:`_not_found`), else the usual places."""
    if root is not None:
        r = as_folder_path(root, "root", DataError, named=False).expanduser()
        return [r, r / name]
    cands: list[Path] = []
    env = os.environ.get("GAEKIT_DATA_DIR")
    if env:
        cands.append(Path(env).expanduser() / name)
    cands.append(_user_data_dir() / name)
    cands.append(Path.cwd().parent / "shared" / "datasets" / name)
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():  # the repository root of a source checkout
            cands.append(parent.parent / "shared" / "datasets" / name)
            break
    unique: list[Path] = []
    seen: set[str] = set()
    for c in cands:
        key = os.path.abspath(c)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def _not_found(name: str, root: PathLike | None, cands: Sequence[Path], missing: str, hint: str) -> DataError:
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
    ``$GAEKIT_DATA_DIR/name``, the user data folder ``$XDG_CACHE_HOME/gaekit/data/name`` (default
    ``~/.cache/gaekit/data/name``), then ``../shared/datasets/name`` relative to the current folder
    and to the source checkout.

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
    cands = _candidate_dirs(name, root)
    for c in cands:
        if _holds(c, stems):
            return c
    missing = f"no folder with {', '.join(stems)} (each possibly .gz)" if stems else "no such folder"
    if name in _MIRRORS:
        args = "root, fashion=True" if name == "fashion-mnist" else "root"
        hint = f"download it into {{where}} with gaekit.data.download_mnist({args})"
    else:
        hint = "put the files in {where}"
    raise _not_found(name, root, cands, missing, hint)


# ---------------------------------------------------------------------- checksums
def _md5_of(path: Path) -> str:
    key = _file_key(path)
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


def _verify_md5(path: Path, expected: str) -> None:
    actual = _md5_of(path)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {path}: expected md5 {expected}, got {actual}; the file is corrupted "
            "or not the official one — delete it and download it again"
        )


# ---------------------------------------------------------------------- IDX
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_file_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(
            f"{path} is truncated: the gzip stream ends early; delete it and get it again"
        ) from None
    except (OSError, zlib.error) as exc:
        raise DataError(f"{path} is not a valid gzip file ({exc}); delete it and get it again") from None


def _parse_idx(buf: bytes, path: Path) -> np.ndarray:
    """Decode IDX bytes into an array with native byte order (read-only when it shares ``buf``)."""
    if len(buf) < 4:
        raise DataError(f"{path} is truncated: {len(buf)} bytes, expected at least a 4-byte IDX header")
    zero, code, ndim = struct.unpack(">HBB", buf[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path} is not an IDX file: magic number 0x{buf[:4].hex()}, expected 0x0000 followed by a "
            f"type code in {{{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)}}} and a dimension count >= 1"
        )
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(f"{path} is truncated: {len(buf)} bytes, shorter than its {header}-byte IDX header")
    dims = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) != expected:
        state = "truncated" if len(buf) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {state}: {len(buf)} bytes, expected {expected} for an IDX array of shape "
            f"{tuple(dims)} and dtype {dtype.newbyteorder('=').name}"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed).

    Parameters
    ----------
    path : str or Path
        The file; gzip compression is detected from its content.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order (uint8, int8, int16, int32, float32 or float64).

    Raises
    ------
    DataError
        A missing, truncated or malformed file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"IDX file {p} does not exist")
    buf = _read_file_bytes(p)
    arr = _parse_idx(bytearray(buf), p)
    return arr


def _load_idx_cached(path: Path, md5: str | None) -> np.ndarray:
    """Verify (when ``md5`` is given) and decode an IDX file; the decoded array is cached read-only."""
    if md5 is not None:
        _verify_md5(path, md5)
    key = _file_key(path)
    arr = _IDX_CACHE.get(key)
    if arr is None:
        arr = _parse_idx(_read_file_bytes(path), path)
        arr.flags.writeable = False
        _IDX_CACHE[key] = arr
    return arr


# ---------------------------------------------------------------------- MNIST-like
_SPLITS = ("train", "validation", "test", "train_full")


def _check_split(split: str, allowed: Sequence[str] = _SPLITS) -> None:
    if split not in allowed:
        raise ConfigError(f"unknown split {split!r}; allowed splits: {', '.join(allowed)}")


def _idx_file(folder: Path, stem: str) -> Path:
    gz = folder / f"{stem}.gz"
    return gz if gz.is_file() else folder / stem


def _load_mnist_like(name: str, split: str, root: PathLike | None, verify: bool) -> ArrayDataset:
    _check_split(split)
    folder = find_data_dir(name, root)
    part = "test" if split == "test" else "train"
    arrays = []
    for kind in ("images", "labels"):
        path = _idx_file(folder, _IDX_STEMS[f"{part}_{kind}"])
        md5 = _MD5.get(name, {}).get(path.name) if verify else None
        arrays.append(_load_idx_cached(path, md5))
    images, labels = arrays
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"{name} {part} images have shape {images.shape} and dtype {images.dtype}; "
            "expected uint8 images of shape (N, 28, 28)"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{name} {part} labels have shape {labels.shape}; expected ({images.shape[0]},), "
            "one label per image"
        )
    n = images.shape[0]
    n_val = n // 6  # 10,000 of the 60,000 official training images
    sel = {
        "train": slice(0, n - n_val),
        "validation": slice(n - n_val, n),
        "test": slice(0, n),
        "train_full": slice(0, n),
    }[split]
    # Copies: the cached arrays stay untouched whatever callers do with their dataset.
    data = np.array(images[sel, None], copy=True)
    lab = labels[sel].astype(np.int64)
    return ArrayDataset(data, lab)


def load_mnist(split: str = "train", root: PathLike | None = None, verify: bool = True) -> ArrayDataset:
    """Load MNIST as uint8 images of shape ``(N, 1, 28, 28)`` with int64 labels.

    Splits follow Pythae (Appendix C): "train" is the first 50,000 official training images,
    "validation" the last 10,000, "test" the official 10,000 test images and "train_full" all 60,000.

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full"}
        Which part.
    root : str or Path, optional
        Folder holding the IDX files (see :func:`find_data_dir` for the search order).
    verify : bool, optional
        Check the files' md5 sums (cached per file in-process).

    Returns
    -------
    ArrayDataset

    Raises
    ------
    ConfigError
        Unknown split.
    DataError
        Files missing, corrupted or of the wrong shape.
    """
    return _load_mnist_like("mnist", split, root, verify)


def load_fashion_mnist(
    split: str = "train", root: PathLike | None = None, verify: bool = True
) -> ArrayDataset:
    """Load Fashion-MNIST (folder name ``fashion-mnist``), like :func:`load_mnist`.

    The gz files are checked against Zalando's published md5 sums. Uncompressed files have no
    official sums and are checked by their IDX header, size and shape only.
    """
    return _load_mnist_like("fashion-mnist", split, root, verify)


def download_mnist(root: PathLike | None = None, fashion: bool = False) -> Path:
    """Download the four gz files of MNIST (or Fashion-MNIST) into ``root``.

    Each file goes to a temporary file, is md5-checked, then renamed into place; files already
    present with the right md5 are kept.

    Parameters
    ----------
    root : str or Path, optional
        Target folder; default the user data folder (``~/.cache/gaekit/data/mnist`` or
        ``.../fashion-mnist``).
    fashion : bool, optional
        Fetch Fashion-MNIST instead of MNIST.

    Returns
    -------
    Path
        The folder holding the files.

    Raises
    ------
    DataError
        When a file cannot be downloaded (offline?) or its md5 does not match.
    """
    import http.client
    import urllib.error
    import urllib.request

    name = "fashion-mnist" if fashion else "mnist"
    folder = Path(root).expanduser() if root is not None else _user_data_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem in _IDX_STEMS.values():
        fname = f"{stem}.gz"
        target = folder / fname
        md5 = _MD5[name][fname]
        if target.is_file() and _md5_of(target) == md5:
            continue
        reasons = []
        for mirror in _MIRRORS[name]:
            url = mirror + fname
            fd, tmp_name = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=folder)
            tmp = Path(tmp_name)
            try:
                h = hashlib.md5(usedforsecurity=False)
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                    for block in iter(lambda: resp.read(1 << 20), b""):
                        h.update(block)
                        out.write(block)
                if h.hexdigest() != md5:
                    reasons.append(f"{url}: md5 {h.hexdigest()}, expected {md5}")
                    continue
                os.replace(tmp, target)
                break
            except (OSError, http.client.HTTPException, urllib.error.URLError, ValueError) as exc:
                reasons.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
            finally:
                if tmp.exists():
                    tmp.unlink()
        else:
            raise DataError(
                f"could not download {fname} (offline?): {'; '.join(reasons)}; put the four files in "
                f"{folder} or set GAEKIT_DATA_DIR to a folder holding a {name!r} subfolder with them"
            )
    return folder


# ---------------------------------------------------------------------- digits
_DIGITS_SIZES = {"train": 1297, "validation": 200, "test": 300}
_DIGITS_SEED = 20240611
_DIGITS_CACHE: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _fixed_permutation(n: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n)`` that depends on nothing but ``seed`` (Fisher-Yates driven by
    splitmix64), so splits are identical across numpy and torch versions."""
    mask = (1 << 64) - 1
    state = seed & mask
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        j = z % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


def load_digits(split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """Load scikit-learn's bundled 8x8 digits (1797 images) as float32 in [0, 1], shape ``(N, 1, 8, 8)``.

    A fixed-seed permutation splits them into "train" (1297), "validation" (200) and "test" (300);
    "train_full" is train + validation (1497). Needs no download.

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full"}
        Which part.
    root : ignored
        Accepted so that every registered loader has the same signature.

    Returns
    -------
    ArrayDataset
        Float32 images and int64 labels.
    """
    _check_split(split)
    if "all" not in _DIGITS_CACHE:
        from sklearn.datasets import load_digits as _sk_load_digits

        bunch = _sk_load_digits()
        images = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
        labels = np.asarray(bunch.target, dtype=np.int64)
        perm = _fixed_permutation(images.shape[0], _DIGITS_SEED)
        for a in (images, labels, perm):
            a.flags.writeable = False
        _DIGITS_CACHE["all"] = (images, labels, perm)
    images, labels, perm = _DIGITS_CACHE["all"]
    n_tr, n_va = _DIGITS_SIZES["train"], _DIGITS_SIZES["validation"]
    idx = {
        "train": perm[:n_tr],
        "validation": perm[n_tr : n_tr + n_va],
        "test": perm[n_tr + n_va :],
        "train_full": perm[: n_tr + n_va],
    }[split]
    return ArrayDataset(images[idx], labels[idx])  # fancy indexing copies


# ---------------------------------------------------------------------- npz
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
        if key is None:
            if len(names) == 1:
                key = names[0]
            else:
                key = next((k for k in _DATA_KEYS if k in names), None)
                if key is None:
                    raise DataError(
                        f"{p} holds arrays {names}; none is named {' / '.join(_DATA_KEYS)} — pass key=<name>"
                    )
        elif key not in names:
            raise DataError(f"{p} has no array {key!r}; it holds {names}")
        data = _npz_array(f, key, p)
        labels = None
        if labels_key is not None:
            if labels_key not in names:
                raise DataError(f"{p} has no labels array {labels_key!r}; it holds {names}")
            labels = _npz_array(f, labels_key, p)
        else:
            for k in _LABEL_KEYS:
                if k in names and k != key:
                    cand = _npz_array(f, k, p)
                    if (
                        cand.dtype.kind in "iu"
                        and cand.ndim >= 1
                        and data.ndim >= 1
                        and len(cand) == len(data)
                    ):
                        labels = cand
                    break
    return _npz_dataset(p, data, labels)


# ---------------------------------------------------------------------- registry
DATASETS: Registry[Callable[..., ArrayDataset]] = Registry("dataset")
DATASETS.register("digits")(load_digits)
DATASETS.register("mnist")(load_mnist)
DATASETS.register("fashion-mnist")(load_fashion_mnist)


def _lazy_loader(module: str, attr: str) -> Callable[..., ArrayDataset]:
    """``gaekit.data.<module>.<attr>``, imported at call time (those modules import this one)."""

    def load(split: str = "train", root: PathLike | None = None) -> ArrayDataset:
        import importlib

        return getattr(importlib.import_module(f"gaekit.data.{module}"), attr)(split=split, root=root)

    load.__name__ = attr
    load.__doc__ = f"Call :func:`gaekit.data.{module}.{attr}` with ``split`` and ``root``."
    return load


DATASETS.register("cifar10")(_lazy_loader("cifar", "load_cifar10"))
DATASETS.register("celeba")(_lazy_loader("images", "load_celeba"))


def _load_npz_split(path: str, split: str) -> ArrayDataset:
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
        if any(name in _SPLITS for name in names):
            raise DataError(f"{p} holds the arrays {names} but no {split!r} array; add one named {split!r} "
                            f"(arrays named after splits: {', '.join(_SPLITS)})")
    return load_npz(p)


def load_dataset(name: str, split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """Load a registered dataset (see ``DATASETS.names()``), an ``npz:<path>`` or ``images:<folder>``.

    For ``npz:<path>``: if the file holds an array named ``split`` (e.g. "train", "test") it is the
    data, with labels from ``<split>_labels`` or ``<split>_y`` when present; a file holding arrays
    named after other splits only is a ``DataError``; otherwise the file is loaded by :func:`load_npz`
    with its default keys and ``split`` is ignored. ``root`` is ignored.

    Also "cifar10", "celeba", and ``images:<folder>`` for any folder of JPEG/PNG images, loaded by
    :func:`gaekit.data.images.load_image_folder` at 64x64 without crop: ``split`` follows a partition
    file (``list_eval_partition.txt``) when present, else an 80/10/10 split by a hash of each file
    name; "all" loads every image. ``root`` is ignored.

    For the datasets read from files (mnist, fashion-mnist, cifar10, celeba) a given ``root`` is the
    only place looked at: a ``root`` that does not exist or does not hold the dataset is a ``DataError``
    naming it (see :func:`find_data_dir`).

    Raises
    ------
    ConfigError
        Unknown dataset name or split.
    DataError
        Missing or unreadable files.
    """
    if not isinstance(name, str):
        raise ConfigError(f"dataset name {name!r} is invalid: expected a str, one of {', '.join(DATASETS.names())}, "
                          "npz:PATH or images:FOLDER")
    if name.startswith("npz:"):
        return _load_npz_split(name[len("npz:") :], split)
    if name.startswith("images:"):
        from gaekit.data.images import load_image_folder

        return load_image_folder(name[len("images:") :], split=split)
    key = spelling_key(name)
    loader = DATASETS.get(key)
    return loader(split=split, root=root)
