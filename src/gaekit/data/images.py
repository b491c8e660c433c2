"""Decoding images with Pillow: one file into a uint8 array, centre-cropped and resized, or a list of files into
one preallocated array by a thread pool.

The "celeba" crop is the usual preprocessing of aligned CelebA (178x218) for autoencoders at 64x64: the centred
140x140 square, resized to 64x64 (the setting of Tolstikhin et al., 2018, "Wasserstein Auto-Encoders",
arXiv:1711.01558, kept by Ghosh et al., 2020, "From Variational to Deterministic Autoencoders", arXiv:1903.12436,
and by most later VAE work). It is expressed as a fraction of the image width (140/178), so a copy of CelebA
stored at another scale (e.g. a half-size 89x109 sample) gives the same faces.

Pillow is imported only when images are decoded.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.data.lookup import PathLike
from gaekit.errors import ConfigError, DataError

__all__ = ["CELEBA_CROP_FRACTION", "IMAGE_EXTENSIONS", "decode_image"]

Crop = str | tuple[int, int] | tuple[float, float] | None

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
"""File name endings (case-insensitive) taken as images."""

CELEBA_CROP_FRACTION = 140 / 178
"""Side of the centred square crop of aligned CelebA, as a fraction of the image width."""

_RESAMPLE = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")


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


def decode_all(
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
            data = _read_verified(files[i], None if checksums is None else checksums[files[i].name])
            out[i] = _decode(data, str(files[i]), size, crop, channels, filt)
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


def _read_verified(path: Path, sha256: str | None) -> bytes:
    """The bytes of an image file, checked against ``sha256`` when given."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise DataError(
                f"checksum mismatch for {path}: expected sha256 {sha256}, got {actual}; the file "
                "is corrupted or not the listed one"
            )
    return data


def check_decode_options(image_size: int | Sequence[int], crop: Crop, channels: int, resample: str) -> tuple[int, int]:
    """Check the decoding options before any file is read (``ConfigError``); return the (height, width)."""
    _check_crop(crop)
    size = _parse_size(image_size)
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3; got {channels!r}")
    _resample_filter(resample)
    return size
