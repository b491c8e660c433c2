"""Image folders (JPEG/PNG) and CelebA, decoded with Pillow into uint8 arrays kept in memory.

CelebA (Liu et al., 2015, "Deep Learning Face Attributes in the Wild", ICCV) is used by Pythae
(Chadebec et al., 2022, arXiv:2206.08309, Section 4 and Appendix C) at 64x64 with the official
train/validation/test partition. The aligned images are 178x218; the usual preprocessing for
autoencoders at 64x64 takes the centred 140x140 square and resizes it to 64x64 (the setting of
Tolstikhin et al., 2018, "Wasserstein Auto-Encoders", arXiv:1711.01558, kept by Ghosh et al., 2020,
"From Variational to Deterministic Autoencoders", arXiv:1903.12436, and by most later VAE work).
The crop is expressed as a fraction of the image width (140/178), so a copy of CelebA stored at
another scale (e.g. the 89x109 sample in ``../shared/datasets/celeba-sample``) gives the same faces.

Pillow is imported only when images are decoded.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.data.dataset import ArrayDataset
from gaekit.data.sources import _SPLITS, _candidate_dirs, _check_split, _not_found
from gaekit.errors import ConfigError, DataError

__all__ = [
    "CELEBA_CROP_FRACTION",
    "IMAGE_EXTENSIONS",
    "decode_image",
    "list_images",
    "load_celeba",
    "load_image_folder",
]

PathLike = str | os.PathLike
Crop = str | tuple[int, int] | tuple[float, float] | None

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
"""File name endings (case-insensitive) taken as images."""

CELEBA_CROP_FRACTION = 140 / 178
"""Side of the centred square crop of aligned CelebA, as a fraction of the image width."""

# Official CelebA partition (the README of the dataset's Eval folder): images 1-162770 train,
# 162771-182637 validation, 182638-202599 test. Used when list_eval_partition.txt is absent.
_CELEBA_RANGES = {"train": (1, 162770), "validation": (162771, 182637), "test": (182638, 202599)}
_CELEBA_NAME = re.compile(r"^(\d{6})\.(jpg|jpeg|png)$", re.IGNORECASE)
_PARTITION_CODES = {0: "train", 1: "validation", 2: "test"}

_PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
_ATTRIBUTE_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
_AUX_SUBDIRS = ("", "Eval", "Anno")

_RESAMPLE = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")
_SPLITS_OR_ALL = (*_SPLITS, "all")


# ---------------------------------------------------------------------- small files
def list_images(folder: PathLike) -> list[Path]:
    """The image files (:data:`IMAGE_EXTENSIONS`) directly in ``folder``, sorted by name.

    Hidden files (name starting with ".") and sub-folders are skipped.

    Raises
    ------
    DataError
        ``folder`` is not a folder, or holds no image.
    """
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise DataError(f"image folder {p} does not exist or is not a folder")
    with os.scandir(p) as it:
        names = sorted(
            e.name for e in it
            if not e.name.startswith(".") and e.name.lower().endswith(IMAGE_EXTENSIONS) and e.is_file()
        )  # fmt: skip
    if not names:
        raise DataError(f"image folder {p} holds no image (looked for {', '.join(IMAGE_EXTENSIONS)} files)")
    return [p / n for n in names]


def _has_image(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    with os.scandir(folder) as it:
        return any(e.name.lower().endswith(IMAGE_EXTENSIONS) and not e.name.startswith(".") for e in it)


def _find_aux(folder: Path, names: Sequence[str]) -> Path | None:
    """First of ``names`` in the image folder, its parent or grandparent (also in Eval/ or Anno/,
    the layout of the official CelebA download)."""
    for base in (folder, folder.parent, folder.parent.parent):
        for sub in _AUX_SUBDIRS:
            for name in names:
                cand = base / sub / name if sub else base / name
                if cand.is_file():
                    return cand
    return None


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty lines of a text or CSV list file as (line number, fields)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line:
            out.append((i, [f.strip() for f in line.split(",")] if "," in line else line.split()))
    return out


def _read_partition(path: Path) -> dict[str, str]:
    """``list_eval_partition.txt`` (``000001.jpg 0``) or Kaggle's CSV: file name -> split name."""
    out: dict[str, str] = {}
    for i, fields in _rows(path):
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) in _PARTITION_CODES:
            out[fields[0]] = _PARTITION_CODES[int(fields[1])]
        elif i == 1 and not (len(fields) == 2 and fields[1].lstrip("-").isdigit()):
            continue  # a CSV header ("image_id,partition")
        else:
            raise DataError(
                f"{path}, line {i}: expected '<file name> <0|1|2>' (0 train, 1 validation, 2 test); "
                f"got {' '.join(fields)!r}"
            )
    return out


def _read_attributes(path: Path) -> dict[str, np.ndarray]:
    """``list_attr_celeba.txt`` (count line, names line, then ``000001.jpg -1 1 ...``) or Kaggle's
    CSV (header ``image_id,<names>``): file name -> int64 vector of 0/1 attributes."""
    rows = _rows(path)
    if rows and len(rows[0][1]) == 1 and rows[0][1][0].isdigit():
        rows = rows[1:]  # the count line of the .txt format
    if not rows:
        raise DataError(f"{path} holds no attribute names")
    header = rows[0][1]
    n_attr = len(header) - 1 if header[0].lower() in ("image_id", "filename", "file") else len(header)
    out: dict[str, np.ndarray] = {}
    for i, fields in rows[1:]:
        values = fields[1:]
        if len(values) != n_attr or any(v not in ("1", "-1", "0") for v in values):
            raise DataError(
                f"{path}, line {i}: expected a file name and {n_attr} attributes in {{-1, 1}}; "
                f"got {len(values)} values"
            )
        out[fields[0]] = (np.asarray([int(v) for v in values], dtype=np.int64) > 0).astype(np.int64)
    return out


def _read_checksums(path: Path) -> dict[str, str]:
    """A ``sha256sum`` list (``<64 hex>  <name>`` or ``<64 hex> *<name>``): file name -> digest."""
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read checksum list {path}: {exc}") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = re.match(r"^([0-9a-fA-F]{64}) [ *](.+)$", line.rstrip("\r\n"))
        if m is None:
            raise DataError(f"{path}, line {i}: expected '<sha256 hex>  <file name>' (sha256sum format)")
        out[m.group(2).rsplit("/", 1)[-1]] = m.group(1).lower()
    return out


# ---------------------------------------------------------------------- decoding
def _parse_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                                 for s in size):  # fmt: skip
        raise ConfigError(f"image_size must be a positive int or (height, width) ints; got {image_size!r}")
    return int(size[0]), int(size[1])


def _check_crop(crop: Crop) -> None:
    if crop is None or crop in ("celeba", "square"):
        return
    ok = (
        isinstance(crop, (tuple, list))
        and len(crop) == 2
        and (
            all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in crop)
            or all(isinstance(c, float) and 0.0 < c <= 1.0 for c in crop)
        )
    )
    if not ok:
        raise ConfigError(
            f"crop must be None, 'celeba', 'square', (height, width) in pixels (positive ints) or "
            f"(height, width) as fractions of the image (floats in (0, 1]); got {crop!r}"
        )


def _crop_box(width: int, height: int, crop: Crop, where: str) -> tuple[float, float, float, float]:
    """The centred crop box (left, top, right, bottom), in float pixel coordinates."""
    if crop is None:
        return (0.0, 0.0, float(width), float(height))
    if crop == "celeba":
        ch = cw = width * CELEBA_CROP_FRACTION
    elif crop == "square":
        ch = cw = float(min(width, height))
    elif isinstance(crop[0], float):
        ch, cw = height * crop[0], width * crop[1]
    else:
        ch, cw = float(crop[0]), float(crop[1])
    if ch > height + 1e-9 or cw > width + 1e-9:
        raise DataError(
            f"{where} is {width}x{height} (width x height); the crop {crop!r} needs {cw:g}x{ch:g}, which "
            "does not fit"
        )
    left, top = (width - cw) / 2.0, (height - ch) / 2.0
    return (left, top, left + cw, top + ch)


def _resample_filter(resample: str) -> Any:
    from PIL import Image

    if resample not in _RESAMPLE:
        raise ConfigError(f"unknown resample filter {resample!r}; allowed: {', '.join(_RESAMPLE)}")
    enum = getattr(Image, "Resampling", Image)  # Pillow >= 9.1 has the enum
    return getattr(enum, resample.upper())


def _decode(
    data: bytes, where: str, size: tuple[int, int], crop: Crop, channels: int, resample: Any
) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    mode = "RGB" if channels == 3 else "L"
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            img = im if im.mode == mode else im.convert(mode)
            box = _crop_box(img.width, img.height, crop, where)
            out = img.resize((size[1], size[0]), resample=resample, box=box)
            arr = np.asarray(out, dtype=np.uint8)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {where}: {exc}") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_image(
    path: PathLike,
    image_size: int | Sequence[int] = 64,
    crop: Crop = None,
    channels: int = 3,
    resample: str = "bilinear",
) -> np.ndarray:
    """Decode one image, crop its centre and resize it: a uint8 array ``(channels, H, W)``.

    Parameters
    ----------
    path : str or Path
        A JPEG or PNG file (any format Pillow reads works).
    image_size : int or (int, int)
        Output side, or (height, width).
    crop : None, "celeba", "square" or (h, w)
        The centred region kept before resizing: None the whole image; "celeba" a square of side
        :data:`CELEBA_CROP_FRACTION` times the width (140x140 of a 178x218 aligned CelebA image,
        70x70 of the half-size copy); "square" the largest centred square; (h, w) ints a region in
        pixels; (h, w) floats in (0, 1] a fraction of the height and width. The box is centred
        exactly (half-pixel positions allowed); Pillow resamples from it in one step.
    channels : {3, 1}
        RGB or greyscale (other modes are converted; alpha is dropped).
    resample : {"bilinear", "bicubic", "lanczos", "box", "hamming", "nearest"}
        Pillow's filter (antialiased when shrinking).

    Raises
    ------
    DataError
        The file is missing or not a readable image (the message names it), or the crop does not fit.
    """
    _check_crop(crop)
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3; got {channels!r}")
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read image {p}: {exc}") from None
    return _decode(data, str(p), _parse_size(image_size), crop, channels, _resample_filter(resample))


def _decode_all(
    files: Sequence[Path],
    checksums: dict[str, str] | None,
    size: tuple[int, int],
    crop: Crop,
    channels: int,
    resample: str,
    num_workers: int | None,
    progress: bool | None,
    desc: str,
) -> np.ndarray:
    """Decode ``files`` into one preallocated uint8 array, blocks of files in a thread pool (Pillow
    releases the GIL while it decodes and resizes)."""
    filt = _resample_filter(resample)
    n = len(files)
    out = np.empty((n, channels, *size), dtype=np.uint8)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            path = files[i]
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read image {path}: {exc}") from None
            if checksums is not None:
                expected = checksums[path.name]
                actual = hashlib.sha256(data).hexdigest()
                if actual != expected:
                    raise DataError(
                        f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; the file "
                        "is corrupted or not the listed one"
                    )
            out[i] = _decode(data, str(path), size, crop, channels, filt)
        return stop - start

    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    if not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(f"num_workers must be a positive int or None; got {num_workers!r}")
    block = 256
    spans = [(s, min(s + block, n)) for s in range(0, n, block)]
    show = n >= 20000 if progress is None else bool(progress)
    from tqdm import tqdm

    with tqdm(total=n, desc=desc, unit="img", disable=not show) as bar:
        if num_workers == 1 or len(spans) == 1:
            for s, e in spans:
                bar.update(work(s, e))
        else:
            with ThreadPoolExecutor(max_workers=num_workers) as pool:
                futures = [pool.submit(work, s, e) for s, e in spans]
                try:
                    for fut in futures:
                        bar.update(fut.result())
                finally:
                    for fut in futures:
                        fut.cancel()
    return out


# ---------------------------------------------------------------------- splits
def _hash_split(name: str) -> str:
    """Deterministic 80/10/10 split by the file name alone: stable across machines and versions, and
    unchanged for a file when others are added or removed."""
    bucket = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big") % 100
    return "train" if bucket < 80 else "validation" if bucket < 90 else "test"


def _celeba_index_split(name: str) -> str | None:
    m = _CELEBA_NAME.match(name)
    if m is None:
        return None
    idx = int(m.group(1))
    for split, (lo, hi) in _CELEBA_RANGES.items():
        if lo <= idx <= hi:
            return split
    return None


def _in_split(assigned: str, split: str) -> bool:
    return assigned == split or (split == "train_full" and assigned in ("train", "validation"))


def _select(
    files: list[Path], split: str | None, partition: dict[str, str] | None, rule: str, where: str
) -> list[Path]:
    if split is None or split == "all":
        return files
    if partition is not None:
        unlisted = [f.name for f in files if f.name not in partition]
        if unlisted:
            raise DataError(
                f"the partition file of {where} does not list {len(unlisted)} of its images "
                f"(e.g. {', '.join(unlisted[:3])}); pass split=None to load every image"
            )
        return [f for f in files if _in_split(partition[f.name], split)]
    if rule == "celeba":
        assigned = [(f, _celeba_index_split(f.name)) for f in files]
        odd = [f.name for f, s in assigned if s is None]
        if odd:
            raise DataError(
                f"{where} has no list_eval_partition.txt and {len(odd)} image names are not CelebA's "
                f"000001.jpg..202599.jpg (e.g. {', '.join(odd[:3])}); put the official partition file next "
                "to the images or use load_image_folder"
            )
        return [f for f, s in assigned if _in_split(s, split)]
    return [f for f in files if _in_split(_hash_split(f.name), split)]


# ---------------------------------------------------------------------- loaders
def _load(
    folder: Path,
    image_size: int | Sequence[int],
    crop: Crop,
    split: str | None,
    channels: int,
    resample: str,
    checksums: PathLike | str | None,
    partition: PathLike | str | None,
    attributes: bool,
    num_workers: int | None,
    progress: bool | None,
    rule: str,
) -> ArrayDataset:
    if split is not None:
        _check_split(split, _SPLITS_OR_ALL)
    _check_crop(crop)
    size = _parse_size(image_size)
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3; got {channels!r}")
    _resample_filter(resample)
    files = list_images(folder)

    part_path = _find_aux(folder, _PARTITION_FILES) if partition == "auto" else partition
    part = None if part_path is None else _read_partition(Path(part_path))
    chosen = _select(files, split, part, rule, str(folder))
    if not chosen:
        how = (
            f"partition file {part_path}" if part is not None
            else "the official CelebA index ranges" if rule == "celeba"
            else "the file-name hash rule (80/10/10)"
        )  # fmt: skip
        raise DataError(f"{folder} holds {len(files)} images but none in split {split!r} (split by {how})")

    sums = None
    if checksums == "auto":
        sums_path = next(
            (p for p in (folder.parent / f"{folder.name}.sha256", folder / "SHA256SUMS") if p.is_file()), None
        )
    else:
        sums_path = None if checksums is None else Path(checksums)
    if sums_path is not None:
        sums = _read_checksums(sums_path)
        unlisted = [f.name for f in chosen if f.name not in sums]
        if unlisted:
            raise DataError(
                f"checksum list {sums_path} does not list {len(unlisted)} images of {folder} "
                f"(e.g. {', '.join(unlisted[:3])})"
            )
        if split is None or split == "all":
            present = {f.name for f in files}
            absent = sorted(n for n in sums if n not in present)
            if absent:
                raise DataError(
                    f"{folder} lacks {len(absent)} images listed in {sums_path} (e.g. {', '.join(absent[:3])}); "
                    "the folder is incomplete"
                )

    labels = None
    attr_path = _find_aux(folder, _ATTRIBUTE_FILES) if attributes else None
    if attr_path is not None:
        attrs = _read_attributes(attr_path)
        unlisted = [f.name for f in chosen if f.name not in attrs]
        if unlisted:
            raise DataError(
                f"attribute file {attr_path} does not list {len(unlisted)} images of {folder} "
                f"(e.g. {', '.join(unlisted[:3])}); pass attributes=False to load without labels"
            )
        labels = np.stack([attrs[f.name] for f in chosen])

    data = _decode_all(
        chosen, sums, size, crop, channels, resample, num_workers, progress, desc=f"decoding {folder.name}"
    )
    return ArrayDataset(data, labels)


def load_image_folder(
    path: PathLike,
    image_size: int | Sequence[int] = 64,
    crop: Crop = None,
    split: str | None = None,
    *,
    channels: int = 3,
    resample: str = "bilinear",
    checksums: PathLike | str | None = "auto",
    partition: PathLike | str | None = "auto",
    attributes: bool = True,
    num_workers: int | None = None,
    progress: bool | None = None,
) -> ArrayDataset:
    """Load the JPEG/PNG images of a folder as uint8 ``(N, channels, H, W)``, kept in memory.

    Images are the :data:`IMAGE_EXTENSIONS` files directly in ``path``, sorted by name; each is
    decoded with Pillow, converted to RGB (or greyscale), centre-cropped and resized (see
    :func:`decode_image`). Memory: ``channels * H * W`` bytes per image, 12,288 bytes at 64x64 RGB
    (2.5 GB for the 202,599 CelebA images, 2.0 GB for its 162,770 training images).

    Splits: with a partition file (``list_eval_partition.txt`` or ``.csv``, ``<name> <0|1|2>`` for
    train / validation / test, found in the folder, its parent or grandparent, also in ``Eval/``) it
    decides, and every image must be listed. Without one, each file goes to "train", "validation" or
    "test" by the first 4 bytes of the sha256 of its name modulo 100 (0-79, 80-89, 90-99): an 80/10/10
    split that is the same on every machine and does not move a file when others are added.
    "train_full" is train + validation; ``None`` or "all" loads every image.

    Parameters
    ----------
    path : str or Path
        The folder.
    image_size : int or (int, int), optional
        Output side, or (height, width); default 64.
    crop : None, "celeba", "square" or (h, w), optional
        Centred crop before resizing (see :func:`decode_image`); default None (the whole image).
    split : {"train", "validation", "test", "train_full", "all"} or None, optional
        Which images; default None (all).
    channels : {3, 1}, optional
        RGB or greyscale.
    resample : str, optional
        Pillow filter used to resize; default "bilinear".
    checksums : "auto", str, Path or None, optional
        A ``sha256sum`` list to verify every loaded file against; "auto" uses ``<folder>.sha256``
        next to the folder or ``SHA256SUMS`` inside it when present; None checks nothing.
    partition : "auto", str, Path or None, optional
        The partition file; "auto" looks for one (see above); None uses the name-hash rule.
    attributes : bool, optional
        When a CelebA attribute file (``list_attr_celeba.txt`` / ``.csv``) is found like the
        partition file, return its 40 attributes as labels, int64 0/1 of shape ``(N, 40)``.
        Otherwise labels are None.
    num_workers : int, optional
        Decoding threads; default ``min(8, os.cpu_count())``.
    progress : bool, optional
        Show a progress bar; default: for 20,000 images or more.

    Returns
    -------
    ArrayDataset

    Raises
    ------
    ConfigError
        A bad split, size, crop, channel count or filter name.
    DataError
        The folder is missing or holds no image; an unreadable image (named); a checksum mismatch
        (file, expected, actual); a list file that does not cover the images; an empty split.
    """
    folder = Path(path).expanduser()
    return _load(folder, image_size, crop, split, channels, resample, checksums, partition, attributes,
                 num_workers, progress, rule="hash")  # fmt: skip


def _celeba_image_dir(base: Path) -> Path | None:
    for cand in (
        base / "img_align_celeba" / "img_align_celeba",  # the Kaggle archive's layout
        base / "img_align_celeba",
        base / "Img" / "img_align_celeba",  # the official download's layout
        base,
    ):
        if _has_image(cand):
            return cand
    return None


def load_celeba(
    split: str = "train",
    root: PathLike | None = None,
    image_size: int | Sequence[int] = 64,
    *,
    crop: Crop = "celeba",
    verify: bool = True,
    attributes: bool = True,
    resample: str = "bilinear",
    num_workers: int | None = None,
    progress: bool | None = None,
) -> ArrayDataset:
    """Load aligned CelebA as uint8 RGB images ``(N, 3, 64, 64)``, cropped and resized as in the
    VAE literature (centred 140x140 of 178x218, then 64x64; see the module docstring).

    Splits are CelebA's official ones, as in Pythae (Appendix C): from ``list_eval_partition.txt``
    when present, otherwise from the image numbers (000001-162770 train, 162771-182637 validation,
    182638-202599 test, the same partition). "train_full" is train + validation.

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full", "all"}
        Which part.
    root : str or Path, optional
        The CelebA folder, or the image folder itself. Searched like :func:`gaekit.data.find_data_dir`
        with the folder name ``celeba``: when given, only ``root`` and ``root/celeba`` (a ``root``
        without the images is a ``DataError`` naming it); else ``$GAEKIT_DATA_DIR/celeba``,
        ``~/.cache/gaekit/data/celeba``, ``../shared/datasets/celeba``. In each, the images are taken
        from ``img_align_celeba/img_align_celeba/``, ``img_align_celeba/``, ``Img/img_align_celeba/``
        or the folder itself, the first that holds images.
    image_size : int or (int, int), optional
        Output side; default 64.
    crop : optional
        Default "celeba"; see :func:`decode_image`.
    verify : bool, optional
        Check each image against a sha256 list ``<image folder>.sha256`` when one exists.
    attributes : bool, optional
        Return the 40 attributes of ``list_attr_celeba.txt`` (0/1, shape ``(N, 40)``) as labels
        when the file is present; otherwise labels are None.
    resample, num_workers, progress : optional
        See :func:`load_image_folder`.

    Returns
    -------
    ArrayDataset
        12,288 bytes per 64x64 image in memory (2.0 GB for the 162,770 training images).

    Raises
    ------
    DataError
        No CelebA images found (the message lists where it looked), an unreadable image, a checksum
        mismatch, or no image of the requested split in the folder.
    """
    _check_split(split, _SPLITS_OR_ALL)
    cands = _candidate_dirs("celeba", root)
    folder = next((d for d in map(_celeba_image_dir, cands) if d is not None), None)
    if folder is None:
        raise _not_found("celeba", root, cands, "no aligned CelebA images (.jpg) in img_align_celeba/, "
                         "img_align_celeba/img_align_celeba/, Img/img_align_celeba/ or the folder itself",
                         "download img_align_celeba.zip and list_eval_partition.txt from "
                         "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html into {where}")
    return _load(folder, image_size, crop, split, 3, resample, "auto" if verify else None, "auto", attributes,
                 num_workers, progress, rule="celeba")  # fmt: skip
