"""MNIST and Fashion-MNIST: IDX files read by hand (raw or gzip, no pickle), md5-checked, split as Pythae does,
and downloaded from the official mirrors."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from gaekit.data.containers import ArrayDataset
from gaekit.data.lookup import (
    MNIST_FILES,
    PathLike,
    check_split,
    file_key,
    find_data_dir,
    md5_of,
    user_data_dir,
    verify_md5,
)
from gaekit.errors import DataError

__all__ = ["download_mnist", "load_fashion_mnist", "load_mnist", "read_idx"]


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


# In-process cache of decoded arrays, keyed by (resolved path, size, mtime_ns) so a changed file is read again.
_IDX_CACHE: dict[tuple[str, int, int], np.ndarray] = {}


def _clear_cache() -> None:
    """Forget decoded arrays (for tests)."""
    _IDX_CACHE.clear()


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
        verify_md5(path, md5)
    key = file_key(path)
    arr = _IDX_CACHE.get(key)
    if arr is None:
        arr = _parse_idx(_read_file_bytes(path), path)
        arr.flags.writeable = False
        _IDX_CACHE[key] = arr
    return arr


# ---------------------------------------------------------------------- MNIST-like
def _idx_file(folder: Path, stem: str) -> Path:
    gz = folder / f"{stem}.gz"
    return gz if gz.is_file() else folder / stem


def _load_mnist_like(name: str, split: str, root: PathLike | None, verify: bool) -> ArrayDataset:
    check_split(split)
    folder = find_data_dir(name, root)
    part = "test" if split == "test" else "train"
    arrays = []
    for kind in ("images", "labels"):
        path = _idx_file(folder, MNIST_FILES[f"{part}_{kind}"])
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
    name = "fashion-mnist" if fashion else "mnist"
    folder = Path(root).expanduser() if root is not None else user_data_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem in MNIST_FILES.values():
        fname = f"{stem}.gz"
        target = folder / fname
        md5 = _MD5[name][fname]
        if target.is_file() and md5_of(target) == md5:
            continue
        reasons = []
        for mirror in _MIRRORS[name]:
            reason = _fetch(mirror + fname, target, md5)
            if reason is None:
                break
            reasons.append(reason)
        else:
            raise DataError(
                f"could not download {fname} (offline?): {'; '.join(reasons)}; put the four files in "
                f"{folder} or set GAEKIT_DATA_DIR to a folder holding a {name!r} subfolder with them"
            )
    return folder


def _fetch(url: str, target: Path, md5: str) -> str | None:
    """Download ``url`` into a temporary file next to ``target``, check its md5, then rename it into place.

    Returns None when done, else why not (the temporary file is removed either way).
    """
    import http.client
    import urllib.error
    import urllib.request

    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if h.hexdigest() != md5:
            return f"{url}: md5 {h.hexdigest()}, expected {md5}"
        os.replace(tmp, target)
        return None
    except (OSError, http.client.HTTPException, urllib.error.URLError, ValueError) as exc:
        return f"{url}: {getattr(exc, 'reason', None) or exc}"
    finally:
        if tmp.exists():
            tmp.unlink()
