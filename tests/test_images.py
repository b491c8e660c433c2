"""Image grids: layout, padding, clipping, channel handling, PNG output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gaekit.errors import ConfigError, DataError
from gaekit.images import make_grid, save_image_grid


def test_grid_layout_and_default_nrow():
    images = torch.rand(5, 1, 4, 6)
    grid = make_grid(images, padding=2)
    # ceil(sqrt(5)) = 3 images per row, 2 rows
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (6 + 2) + 2, 1)
    assert grid.dtype == np.uint8
    for i in range(5):
        top, left = 2 + (i // 3) * 6, 2 + (i % 3) * 8
        expected = np.floor(images[i, 0].double().numpy() * 255 + 0.5)
        np.testing.assert_array_equal(grid[top:top + 4, left:left + 6, 0], expected)
    # the empty sixth cell and the borders hold the padding value
    assert (grid[8:12, 18:24] == 255).all()
    assert (grid[:2] == 255).all() and (grid[:, :2] == 255).all()


def test_nrow_padding_and_pad_value():
    images = np.full((4, 3, 3), 0.5, dtype=np.float32)  # (N, H, W)
    grid = make_grid(images, nrow=4, padding=1, pad_value=0.0)
    assert grid.shape == (3 + 2, 4 * 4 + 1, 1)
    assert (grid[0] == 0).all() and (grid[1:4, 1:4] == 128).all()
    assert make_grid(images, nrow=1, padding=0).shape == (12, 3, 1)
    assert make_grid(images, nrow=10, padding=0).shape == (3, 12, 1)  # never wider than N images


def test_values_are_clipped():
    images = torch.tensor([[-1.0, 2.0], [float("inf"), 0.25]]).view(1, 1, 2, 2)
    grid = make_grid(images, padding=0)
    np.testing.assert_array_equal(grid[:, :, 0], [[0, 255], [255, 64]])


def test_nan_images_are_refused_and_nothing_is_written(tmp_path):
    images = torch.rand(3, 1, 4, 4)
    images[1, 0, 2, 2] = float("nan")
    with pytest.raises(DataError, match="1 NaN"):
        make_grid(images)
    with pytest.raises(DataError, match="NaN"):
        save_image_grid(images, tmp_path / "grid.png")
    assert not (tmp_path / "grid.png").exists()


def test_rgb_and_uint8_inputs():
    images = np.random.default_rng(0).integers(0, 256, (2, 3, 5, 5), dtype=np.uint8)
    grid = make_grid(images, padding=0)
    assert grid.shape == (5, 10, 3)
    np.testing.assert_array_equal(grid[:, :5], images[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(grid[:, 5:], images[1].transpose(1, 2, 0))


@pytest.mark.parametrize("shape", [(10, 64), (64,), (3, 2, 4, 4), (2, 1, 1, 4, 4)])
def test_non_image_data_is_refused(shape):
    with pytest.raises(DataError, match="image-shaped"):
        make_grid(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize("kwargs", [{"nrow": 0}, {"nrow": 2.0}, {"padding": -1}, {"padding": True},
                                    {"pad_value": 2.0}, {"pad_value": True}])
def test_bad_arguments(kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(ConfigError, match=f"{name}={value!r} is invalid"):  # also a ValueError, for old callers
        make_grid(torch.rand(2, 1, 3, 3), **kwargs)
    with pytest.raises(DataError, match="0 images"):
        make_grid(torch.rand(0, 1, 3, 3))


@pytest.mark.parametrize("channels", [1, 3])
def test_save_image_grid_writes_a_png(tmp_path, channels):
    images = torch.rand(7, channels, 8, 8)
    path = save_image_grid(images, tmp_path / "a" / "b" / "grid.png", nrow=3)
    assert path == tmp_path / "a" / "b" / "grid.png"
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.mode == ("L" if channels == 1 else "RGB")
        assert picture.size == (3 * 10 + 2, 3 * 10 + 2)  # (width, height)
        pixels = np.asarray(picture)
    expected = make_grid(images, nrow=3)
    np.testing.assert_array_equal(pixels, expected[:, :, 0] if channels == 1 else expected)


def test_scale_enlarges_by_nearest_neighbour(tmp_path):
    from PIL import Image

    images = np.random.default_rng(0).random((4, 1, 8, 8))
    small = np.asarray(Image.open(save_image_grid(images, tmp_path / "a.png")))
    big = np.asarray(Image.open(save_image_grid(images, tmp_path / "b.png", scale=3)))
    assert big.shape == (small.shape[0] * 3, small.shape[1] * 3)
    assert np.array_equal(big[::3, ::3], small)
    for scale in (0, 1.5, True):
        with pytest.raises(ConfigError, match=f"scale={scale!r} is invalid"):
            save_image_grid(images, tmp_path / "c.png", scale=scale)
    assert not (tmp_path / "c.png").exists()
