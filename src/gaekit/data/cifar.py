"""CIFAR-10 from the official "python version" files, read without running pickled code.

The official distribution (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny
Images"; https://www.cs.toronto.edu/~kriz/cifar.html) is ``cifar-10-python.tar.gz``, holding the
folder ``cifar-10-batches-py`` with ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``. Each
batch is a Python 2 pickle of a dict ``{b"data": uint8 array (10000, 3072), b"labels": [int] * 10000,
b"batch_label": ..., b"filenames": [...]}``; a row of ``data`` is the red, green then blue 32x32
plane, row-major.

Pickles can run arbitrary code when loaded, so these files are read with a restricted unpickler:
every global is refused except the four a plain numpy array needs (``numpy.core.multiarray.
_reconstruct``, ``numpy.ndarray``, ``numpy.dtype`` and, for pickles written by Python 3 at
protocol 2, ``_codecs.encode``; plus ``numpy.core.numeric._frombuffer`` of protocol 5). Those
names are *not* resolved to the real numpy functions: they resolve to inert stand-ins that only
record their arguments (made afresh for every load, so a pickle that sets attributes on them
changes nothing beyond its own load), and the recorded shape, dtype code and raw bytes are checked
and turned into an array by :func:`numpy.frombuffer` afterwards. No real function or class named
in the file is ever called.

Checksums: the md5 of ``cifar-10-python.tar.gz`` is the one published on the dataset page
(c58f30108f718f92721af3b95e74349a); the md5 sums of the six extracted batch files are the ones
used by the common loaders of the extracted folder (e.g. torchvision's ``CIFAR10`` table). Both
were checked against public sources when this module was written.
"""

from __future__ import annotations

import io
import pickle
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.data.containers import ArrayDataset
from gaekit.data.lookup import PathLike, candidate_dirs, check_split, file_key, not_found, verify_md5
from gaekit.errors import DataError

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "read_cifar_batch"]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
"""Class names in label order (the ``label_names`` of the official ``batches.meta``)."""

_FOLDER = "cifar-10-batches-py"
_ARCHIVE = "cifar-10-python.tar.gz"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCH = "test_batch"
_ALL_BATCHES = (*_TRAIN_BATCHES, _TEST_BATCH)

# Official md5 sums (see the module docstring for the sources).
_MD5: dict[str, str] = {
    _ARCHIVE: "c58f30108f718f92721af3b95e74349a",
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

_PIXELS = 3 * 32 * 32
_NUM_CLASSES = len(CIFAR10_CLASSES)

# Decoded batches, read-only, keyed by (file key of the batch file or archive, batch name).
_CACHE: dict[tuple[tuple[str, int, int], str], tuple[np.ndarray, np.ndarray]] = {}


def _clear_cache() -> None:
    """Forget decoded batches (for tests)."""
    _CACHE.clear()


# ---------------------------------------------------------------------- restricted unpickling
class _Refused(pickle.UnpicklingError):
    """A pickle referenced a global that is not on the allow-list."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


class _NdarrayType:
    """Stands for ``numpy.ndarray`` inside a pickle; never instantiated."""


class _Dtype:
    """Records ``numpy.dtype(code, align, copy)`` and its pickled state, nothing else."""

    def __init__(self, code: Any, *args: Any):
        self.code = code
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _Array:
    """Records the pickled state of a numpy array, nothing else."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _latin1_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # How Python 3 writes ``bytes`` at protocol 2: _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only accepted as encode(str, 'latin1')")
    return text.encode("latin-1")


class _DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, tuples, str, bytes, numbers and inert array
    records: ``find_class`` maps the few names a numpy array needs to recording stand-ins and
    refuses every other global, so no callable from the file is ever reached.

    The stand-ins are made afresh for every load (classes) or are bound methods (which take no
    attributes): a pickle can set attributes on what ``find_class`` returns (BUILD with a slot
    state), and nothing it sets may outlive its own load.
    """

    def __init__(self, file: io.BytesIO):
        super().__init__(file, encoding="bytes")
        self._ndarray = type("ndarray", (_NdarrayType,), {})
        dtype = type("dtype", (_Dtype,), {})
        self._allowed: dict[tuple[str, str], Any] = {
            ("numpy.core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy.core.numeric", "_frombuffer"): self._frombuffer,
            ("numpy._core.numeric", "_frombuffer"): self._frombuffer,
            ("numpy", "ndarray"): self._ndarray,
            ("numpy", "dtype"): dtype,
            ("_codecs", "encode"): self._encode,
        }

    def _reconstruct(self, cls: Any, shape: Any, typecode: Any) -> _Array:
        if cls is not self._ndarray:
            raise pickle.UnpicklingError("_reconstruct called with something other than numpy.ndarray")
        return _Array()

    def _frombuffer(self, buf: Any, dtype: Any, shape: Any, order: Any) -> _Array:
        arr = _Array()
        raw = bytes(buf) if isinstance(buf, (bytes, bytearray, memoryview, pickle.PickleBuffer)) else buf
        arr.state = (1, shape, dtype, order == "F", raw)
        return arr

    def _encode(self, text: Any, encoding: Any = "utf-8") -> bytes:
        return _latin1_encode(text, encoding)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise _Refused(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


_DTYPE_CODE = re.compile(r"^[|<>=]?([uif])([1248])$")


def _to_numpy(obj: _Array, what: str) -> np.ndarray:
    """Validate a recorded array state and build the array from its raw bytes."""
    state = obj.state
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise DataError(f"{what} is not a plain numpy array (unexpected pickled state)")
    _, shape, dt, fortran, raw = state
    if not (isinstance(shape, tuple) and all(type(s) is int and s >= 0 for s in shape)):
        raise DataError(f"{what} has an invalid shape {shape!r}")
    if not isinstance(dt, _Dtype):
        raise DataError(f"{what} has no plain numpy dtype")
    code = _text(dt.code)
    m = _DTYPE_CODE.match(code or "")
    if m is None:
        raise DataError(f"{what} has dtype {dt.code!r}; expected a plain integer or float dtype")
    order = "|"
    if isinstance(dt.state, tuple):
        if len(dt.state) < 5 or any(x is not None for x in dt.state[2:5]):
            raise DataError(f"{what} has a structured or sub-array dtype; expected a plain numeric dtype")
        order = _text(dt.state[1]) or "?"
        if order not in "|<>=" or len(order) != 1:
            raise DataError(f"{what} has an invalid dtype byte order {dt.state[1]!r}")
    if isinstance(raw, str):  # a pickle read with another encoding; latin-1 maps bytes 1:1
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)):
        raise DataError(f"{what} has no raw data bytes")
    dtype = np.dtype(("" if order == "|" else order) + m.group(1) + m.group(2))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != count * dtype.itemsize:
        raise DataError(
            f"{what} holds {len(raw)} bytes of data; expected {count * dtype.itemsize} for shape "
            f"{shape} and dtype {dtype.name}"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=count)
    return arr.reshape(shape, order="F" if fortran else "C")


def read_cifar_batch(source: PathLike | bytes, name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch with the restricted unpickler.

    Parameters
    ----------
    source : str, Path or bytes
        The batch file, or its content.
    name : str, optional
        Name used in error messages (default: the path, or "batch").

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(N, 3, 32, 32)`` (channels R, G, B).
    labels : numpy.ndarray
        int64, shape ``(N,)``, values 0..9 (see :data:`CIFAR10_CLASSES`).

    Raises
    ------
    DataError
        A missing or malformed file, a pickle that references anything but a plain numpy array
        (e.g. a function such as ``os.system``: refused before anything runs), or content that is not
        ``{b"data": uint8 (N, 3072), b"labels": N ints in 0..9}``.
    """
    raw, what = _batch_bytes(source, name)
    entries = _unpickle_entries(raw, what)
    images, labels = _batch_images(entries["data"], what), _batch_labels(entries["labels"], what)
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{what} has {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= _NUM_CLASSES):
        raise DataError(
            f"{what} has labels in {int(labels.min())}..{int(labels.max())}; expected 0..{_NUM_CLASSES - 1}"
        )
    return images.reshape(-1, 3, 32, 32), labels


def _batch_bytes(source: PathLike | bytes, name: str | None) -> tuple[bytes, str]:
    """The content of a batch, and the name it goes by in messages."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name or "batch"
    path = Path(source)
    if not path.is_file():
        raise DataError(f"CIFAR-10 batch {path} does not exist")
    return path.read_bytes(), name or str(path)


def _unpickle_entries(raw: bytes, what: str) -> dict[str | None, Any]:
    """The batch dict, unpickled by :class:`_DataOnlyUnpickler`, its keys as text; it must hold data and labels."""
    try:
        obj = _DataOnlyUnpickler(io.BytesIO(raw)).load()
    except _Refused as exc:
        raise DataError(
            f"refused to unpickle {what}: it references the global {exc.module}.{exc.name}, and only the "
            "few names a plain numpy array needs are allowed (a pickled global can run code); a CIFAR-10 "
            "batch holds only a dict of a numpy uint8 array and a list of labels — the file is not an "
            "official CIFAR-10 batch"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, RecursionError, MemoryError) as exc:  # fmt: skip
        raise DataError(f"{what} is not a readable CIFAR-10 batch pickle: {exc!r}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{what} holds a {type(obj).__name__}; expected a dict with b'data' and b'labels'")
    entries = {_text(k): v for k, v in obj.items()}
    missing = [k for k in ("data", "labels") if k not in entries]
    if missing:
        keys = sorted(repr(k) for k in obj)
        raise DataError(f"{what} has no {' / '.join(missing)} entry; it holds keys {', '.join(keys)}")
    return entries


def _batch_images(data: Any, what: str) -> np.ndarray:
    """The batch's ``data`` entry as uint8 rows of 3072 values (one 32x32 RGB image each)."""
    if not isinstance(data, _Array):
        raise DataError(f"{what}: 'data' is a {type(data).__name__}; expected a uint8 numpy array")
    images = _to_numpy(data, f"{what}: 'data'")
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != _PIXELS:
        raise DataError(
            f"{what}: 'data' has shape {images.shape} and dtype {images.dtype}; expected uint8 of shape "
            f"(N, {_PIXELS}) (N 32x32 RGB images, one row each)"
        )
    return images


def _batch_labels(labels_obj: Any, what: str) -> np.ndarray:
    """The batch's ``labels`` entry (a list of ints, or an integer array) as int64 of shape ``(N,)``."""
    if isinstance(labels_obj, _Array):
        labels = _to_numpy(labels_obj, f"{what}: 'labels'")
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise DataError(f"{what}: 'labels' is a {labels.dtype} array of shape {labels.shape}; expected N ints")
        return labels.astype(np.int64)
    if isinstance(labels_obj, (list, tuple)) and all(type(v) is int for v in labels_obj):
        return np.asarray(labels_obj, dtype=np.int64).reshape(-1)
    raise DataError(f"{what}: 'labels' is not a list of ints")


# ---------------------------------------------------------------------- locating
def _locate(root: PathLike | None) -> tuple[str, Path]:
    """Return ("folder", batches folder) or ("archive", tar.gz path), searching the usual places."""
    if root is not None and Path(root).expanduser().is_file():
        return "archive", Path(root).expanduser()
    cands = candidate_dirs("cifar10", root)
    for c in cands:
        for folder in (c / _FOLDER, c):
            if all((folder / b).is_file() for b in _ALL_BATCHES):
                return "folder", folder
        if (c / _ARCHIVE).is_file():
            return "archive", c / _ARCHIVE
    raise not_found("cifar10", root, cands, f"no folder with {', '.join(_ALL_BATCHES)} (also looked for in "
                     f"{_FOLDER}/ of each) and no {_ARCHIVE}",
                     "get the python version from https://www.cs.toronto.edu/~kriz/cifar.html and put the archive (or "
                     "its extracted cifar-10-batches-py folder) in {where}")


def _freeze(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    images = np.ascontiguousarray(images)
    if not images.flags.owndata:
        images = images.copy()
    for a in (images, labels):
        a.flags.writeable = False
    return images, labels


def _folder_batches(folder: Path, names: Sequence[str], verify: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for b in names:
        path = folder / b
        if verify:
            verify_md5(path, _MD5[b])
        key = (file_key(path), b)
        if key not in _CACHE:
            _CACHE[key] = _freeze(*read_cifar_batch(path))
        out.append(_CACHE[key])
    return out


def _archive_batches(archive: Path, names: Sequence[str], verify: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    import tarfile

    if verify:
        verify_md5(archive, _MD5[_ARCHIVE])
    fkey = file_key(archive)
    if any((fkey, b) not in _CACHE for b in names):
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:  # one sequential pass; nothing is extracted to disk
                    base = member.name.rsplit("/", 1)[-1]
                    if not member.isfile() or base not in _ALL_BATCHES or base in found:
                        continue
                    f = tar.extractfile(member)
                    if f is None:
                        continue
                    found[base] = _freeze(*read_cifar_batch(f.read(), name=f"{archive}:{member.name}"))
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise DataError(f"{archive} is not a readable tar.gz archive ({exc}); delete it and get it again") from None
        absent = [b for b in names if b not in found]
        if absent:
            raise DataError(
                f"{archive} has no {', '.join(absent)} (looked for {_FOLDER}/<name>); it is not the "
                "CIFAR-10 python version archive"
            )
        for b, arrays in found.items():
            _CACHE[(fkey, b)] = arrays
    return [_CACHE[(fkey, b)] for b in names]


# ---------------------------------------------------------------------- loader
def load_cifar10(split: str = "train", root: PathLike | None = None, verify: bool = True) -> ArrayDataset:
    """Load CIFAR-10 as uint8 images of shape ``(N, 3, 32, 32)`` with int64 labels 0..9.

    Splits follow Pythae (Chadebec et al., 2022, arXiv:2206.08309, Appendix C): "validation" is the
    last 10,000 of the 50,000 official training images (``data_batch_5``; in general the last fifth),
    "train" the first 40,000 (``data_batch_1`` to ``data_batch_4``), "train_full" all 50,000 and
    "test" the official 10,000 test images (``test_batch``). Memory: 3,072 bytes per image
    (184 MB for all 60,000).

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full"}
        Which part.
    root : str or Path, optional
        A folder holding ``cifar-10-batches-py/`` (or the batch files themselves, or
        ``cifar-10-python.tar.gz``), or the path of the archive. Searched like
        :func:`gaekit.data.find_data_dir` with the folder name ``cifar10``: when given, only ``root``
        and ``root/cifar10`` (a ``root`` without the data is a ``DataError`` naming it); else
        ``$GAEKIT_DATA_DIR/cifar10``, ``~/.cache/gaekit/data/cifar10``.
        An extracted folder is preferred to the archive, which is read in memory (never extracted).
    verify : bool, optional
        Check the official md5 of each batch file used, or of the archive (cached per file).

    Returns
    -------
    ArrayDataset

    Raises
    ------
    ConfigError
        Unknown split.
    DataError
        Files not found (the message lists where it looked), an md5 mismatch (file, expected,
        actual), or a malformed or unsafe batch (see :func:`read_cifar_batch`).
    """
    check_split(split)
    kind, where = _locate(root)
    reader = _folder_batches if kind == "folder" else _archive_batches
    if split == "test":
        (images, labels), = reader(where, (_TEST_BATCH,), verify)
        return ArrayDataset(images.copy(), labels.copy())
    batches = reader(where, _TRAIN_BATCHES, verify)
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    n = images.shape[0]
    n_val = n // 5  # 10,000 of the 50,000 official training images
    sel = {"train": slice(0, n - n_val), "validation": slice(n - n_val, n), "train_full": slice(0, n)}[split]
    return ArrayDataset(np.ascontiguousarray(images[sel]), labels[sel].copy())
