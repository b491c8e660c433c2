"""Image folders and CelebA as in-memory datasets: the image files, their partition, attribute and sha256
list files, the split rules, :func:`load_image_folder` and :func:`load_celeba`.

CelebA (Liu et al., 2015, "Deep Learning Face Attributes in the Wild", ICCV) is used by Pythae
(Chadebec et al., 2022, arXiv:2206.08309, Section 4 and Appendix C) at 64x64 with the official
train/validation/test partition; the aligned 178x218 images are cropped as described in
:mod:`gaekit.data.images` (``crop="celeba"``).

Splits of a folder: a partition file (``list_eval_partition.txt`` or ``.csv``, ``<name> <0|1|2>`` for
train / validation / test, found in the folder, its parent or grandparent, also in ``Eval/``) decides, and
every image must be listed. Without one, each file goes to "train", "validation" or "test" by the first 4
bytes of the sha256 of its name modulo 100 (0-79, 80-89, 90-99): an 80/10/10 split that is the same on
every machine and does not move a file when others are added. "train_full" is train + validation; ``None``
or "all" is every image.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gaekit.data.containers import ArrayDataset
from gaekit.data.images import IMAGE_EXTENSIONS, Crop, check_decode_options, decode_all
from gaekit.data.lookup import SPLITS, PathLike, candidate_dirs, check_split, not_found
from gaekit.errors import DataError

__all__ = ["list_images", "load_celeba", "load_image_folder"]

# Official CelebA partition (the README of the dataset's Eval folder): images 1-162770 train,
# 162771-182637 validation, 182638-202599 test. Used when list_eval_partition.txt is absent.
_CELEBA_RANGES = {"train": (1, 162770), "validation": (162771, 182637), "test": (182638, 202599)}
_CELEBA_NAME = re.compile(r"^(\d{6})\.(jpg|jpeg|png)$", re.IGNORECASE)
_PARTITION_CODES = {0: "train", 1: "validation", 2: "test"}

_PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
_ATTRIBUTE_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
_AUX_SUBDIRS = ("", "Eval", "Anno")
_SPLITS_OR_ALL = (*SPLITS, "all")


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
    """The images of ``folder`` in ``split`` (by the partition file, else by ``rule``: "hash" or "celeba"),
    checked against their sha256 list and labelled by their attributes when those files are found."""
    if split is not None:
        check_split(split, _SPLITS_OR_ALL)
    size = check_decode_options(image_size, crop, channels, resample)
    files = list_images(folder)
    chosen = _chosen_files(folder, files, split, partition, rule)
    sums = _checksums_of(folder, files, chosen, split, checksums)
    labels = _attribute_labels(folder, chosen) if attributes else None
    data = decode_all(
        chosen, sums, size, crop, channels, resample, num_workers, progress, desc=f"decoding {folder.name}"
    )
    return ArrayDataset(data, labels)


def _chosen_files(
    folder: Path, files: list[Path], split: str | None, partition: PathLike | str | None, rule: str
) -> list[Path]:
    """The ``files`` in ``split``; an empty split is a ``DataError`` saying how the folder was split."""
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
    return chosen


def _checksums_of(
    folder: Path, files: list[Path], chosen: list[Path], split: str | None, checksums: PathLike | str | None
) -> dict[str, str] | None:
    """The sha256 list for the ``chosen`` files (``checksums``; "auto": ``<folder>.sha256`` or ``SHA256SUMS``
    when present), which must list each of them and, when the whole folder is loaded, name no missing file."""
    if checksums == "auto":
        sums_path = next(
            (p for p in (folder.parent / f"{folder.name}.sha256", folder / "SHA256SUMS") if p.is_file()), None
        )
    else:
        sums_path = None if checksums is None else Path(checksums)
    if sums_path is None:
        return None
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
    return sums


def _attribute_labels(folder: Path, chosen: list[Path]) -> np.ndarray | None:
    """The CelebA attributes of the ``chosen`` files, shape ``(N, 40)``, when an attribute file is found."""
    attr_path = _find_aux(folder, _ATTRIBUTE_FILES)
    if attr_path is None:
        return None
    attrs = _read_attributes(attr_path)
    unlisted = [f.name for f in chosen if f.name not in attrs]
    if unlisted:
        raise DataError(
            f"attribute file {attr_path} does not list {len(unlisted)} images of {folder} "
            f"(e.g. {', '.join(unlisted[:3])}); pass attributes=False to load without labels"
        )
    return np.stack([attrs[f.name] for f in chosen])


def load_image_folder(path: PathLike, image_size: int | Sequence[int] = 64, crop: Crop = None,
                      split: str | None = None, *, channels: int = 3, resample: str = "bilinear",
                      checksums: PathLike | str | None = "auto", partition: PathLike | str | None = "auto",
                      attributes: bool = True, num_workers: int | None = None,
                      progress: bool | None = None) -> ArrayDataset:  # fmt: skip
    """Load the JPEG/PNG images of a folder as uint8 ``(N, channels, H, W)``, kept in memory.

    Images are the :data:`IMAGE_EXTENSIONS` files directly in ``path``, sorted by name; each is
    decoded with Pillow, converted to RGB (or greyscale), centre-cropped and resized (see
    :func:`decode_image`). Memory: ``channels * H * W`` bytes per image, 12,288 bytes at 64x64 RGB
    (2.5 GB for the 202,599 CelebA images, 2.0 GB for its 162,770 training images). Splits follow a
    partition file when one is found, else an 80/10/10 split by a hash of each file name (see the
    module docstring).

    Parameters
    ----------
    path : str or Path
        The folder.
    image_size : int or (int, int), optional
        Output side, or (height, width); default 64.
    crop : None, "celeba", "square" or (h, w), optional
        Centred crop before resizing (see :func:`decode_image`); default None (the whole image).
    split : {"train", "validation", "test", "train_full", "all"} or None, optional
        Which images; default None (all); "train_full" is train + validation.
    channels : {3, 1}, optional
        RGB or greyscale.
    resample : str, optional
        Pillow filter used to resize; default "bilinear".
    checksums : "auto", str, Path or None, optional
        A ``sha256sum`` list to verify every loaded file against; "auto" uses ``<folder>.sha256``
        next to the folder or ``SHA256SUMS`` inside it when present; None checks nothing.
    partition : "auto", str, Path or None, optional
        The partition file (``list_eval_partition.txt`` or ``.csv``); "auto" looks for one in the
        folder, its parent or grandparent (also in ``Eval/``); None uses the name-hash rule.
    attributes : bool, optional
        When a CelebA attribute file (``list_attr_celeba.txt`` / ``.csv``) is found like the
        partition file, return its 40 attributes as labels, int64 0/1 of shape ``(N, 40)``;
        otherwise labels are None.
    num_workers, progress : optional
        Decoding threads (default ``min(8, os.cpu_count())``); a progress bar (default: for 20,000
        images or more).

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


def load_celeba(split: str = "train", root: PathLike | None = None, image_size: int | Sequence[int] = 64, *,
                crop: Crop = "celeba", verify: bool = True, attributes: bool = True, resample: str = "bilinear",
                num_workers: int | None = None, progress: bool | None = None) -> ArrayDataset:  # fmt: skip
    """Load aligned CelebA as uint8 RGB images ``(N, 3, 64, 64)``, cropped and resized as in the
    VAE literature (centred 140x140 of 178x218, then 64x64; see :mod:`gaekit.data.images`).

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
        ``~/.cache/gaekit/data/celeba``. In each, the images are taken from
        ``img_align_celeba/img_align_celeba/``, ``img_align_celeba/``, ``Img/img_align_celeba/`` or the
        folder itself, the first that holds images.
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
    check_split(split, _SPLITS_OR_ALL)
    cands = candidate_dirs("celeba", root)
    folder = next((d for d in map(_celeba_image_dir, cands) if d is not None), None)
    if folder is None:
        raise not_found("celeba", root, cands, "no aligned CelebA images (.jpg) in img_align_celeba/, "
                         "img_align_celeba/img_align_celeba/, Img/img_align_celeba/ or the folder itself",
                         "download img_align_celeba.zip and list_eval_partition.txt from "
                         "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html into {where}")
    return _load(folder, image_size, crop, split, 3, resample, "auto" if verify else None, "auto", attributes,
                 num_workers, progress, rule="celeba")  # fmt: skip
