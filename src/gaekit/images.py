"""Tile image batches into one grid and write it as an 8-bit PNG (Pillow, imported lazily)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.config import check_count
from gaekit.errors import ConfigError, DataError


def is_image_shape(shape: Any) -> bool:
    """Whether a sample shape is an image ``(C, H, W)`` with 1 or 3 channels (what grids can show)."""
    return len(shape) == 3 and shape[0] in (1, 3)


def display_scale(shape: Any) -> int:
    """Integer upscaling that shows images of this shape about 64 pixels wide (8x8 digits: x8)."""
    return max(1, 64 // int(shape[-1]))


def _as_nchw(images: Any) -> np.ndarray:
    """``images`` as a float64 ``(N, C, H, W)`` array with values in [0, 1] and ``C`` 1 or 3."""
    if hasattr(images, "detach"):  # torch.Tensor, without importing torch here
        images = images.detach().to("cpu")
        if images.is_floating_point():  # also bfloat16 / float16, which numpy may not hold
            images = images.double()
        images = images.numpy()
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"images must be numeric; got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise DataError(
            f"only image-shaped data can be tiled into a grid: expected (N, C, H, W) with C 1 or 3, or "
            f"(N, H, W); got shape {tuple(arr.shape)}"
            + (" (flat feature vectors are not images)" if arr.ndim <= 2 else "")
            + (" (channels-last? move the channel axis to dim 1)" if arr.ndim == 4 and arr.shape[-1] in (1, 3)
               else "")
        )
    if arr.shape[0] == 0:
        raise DataError(f"cannot make a grid of 0 images: got shape {tuple(arr.shape)}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    out = arr.astype(np.float64)
    bad = int(np.isnan(out).sum())
    if bad:
        raise DataError(f"images hold {bad} NaN value(s) (of {out.size}): expected finite pixel values, e.g. "
                        f"check the model's outputs for NaN")
    return np.clip(out, 0.0, 1.0)


def make_grid(images: Any, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images into one uint8 image.

    Parameters
    ----------
    images : Tensor or numpy.ndarray
        ``(N, C, H, W)`` with ``C`` 1 or 3, or ``(N, H, W)``. Float values are clipped to
        [0, 1] (NaN is refused); uint8 values are read as 0..255.
    nrow : int, optional
        Images per row of the grid; default ``ceil(sqrt(N))``.
    padding : int, default 2
        Pixels between images and around the grid.
    pad_value : float, default 1.0
        Grey level of the padding, in [0, 1] (1 is white).

    Returns
    -------
    numpy.ndarray
        ``(rows * (H + padding) + padding, nrow * (W + padding) + padding, C)`` uint8 array.

    Raises
    ------
    DataError
        For data that is not image-shaped (e.g. flat feature vectors), no images, or NaN values.
    ConfigError
        For bad arguments (both subclass ``ValueError``).
    """
    arr = _as_nchw(images)
    n, c, h, w = arr.shape
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    nrow = check_count(nrow, "nrow")
    padding = check_count(padding, "padding", minimum=0)
    if isinstance(pad_value, bool) or not (isinstance(pad_value, (int, float)) and 0.0 <= pad_value <= 1.0):
        raise ConfigError(f"pad_value={pad_value!r} is invalid: expected a number in [0, 1]")
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    grid = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding, c), float(pad_value))
    for i in range(n):
        top = padding + (i // ncol) * (h + padding)
        left = padding + (i % ncol) * (w + padding)
        grid[top:top + h, left:left + w] = arr[i].transpose(1, 2, 0)
    return np.floor(grid * 255.0 + 0.5).astype(np.uint8)


def save_image_grid(images: Any, path: str | Path, nrow: int | None = None, padding: int = 2,
                    pad_value: float = 1.0, scale: int = 1) -> Path:
    """Tile images with :func:`make_grid` and write the grid as an 8-bit PNG.

    Parameters
    ----------
    images : Tensor or numpy.ndarray
        ``(N, C, H, W)`` with ``C`` 1 or 3, or ``(N, H, W)``; see :func:`make_grid`.
    path : str or Path
        Output file; missing parent folders are created. Written in PNG format
        (greyscale for one channel, RGB for three).
    nrow, padding, pad_value
        As in :func:`make_grid`.
    scale : int, default 1
        Enlarge the grid by this factor (nearest neighbour), e.g. 4 for 8x8 digits.

    Returns
    -------
    Path
        ``path``.
    """
    from PIL import Image

    scale = check_count(scale, "scale")
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value)
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a 2-D uint8 array becomes a greyscale ("L") image, an (H, W, 3) one an RGB image
    Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid).save(path, format="PNG")
    return path
