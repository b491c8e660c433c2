"""dSprites: its factors against the published description, statistics of the rendered images, determinism,
splits, the packed dataset, and the checksummed cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaekit.data import (
    DSpritesDataset,
    PackedBitsDataset,
    dsprites_latents,
    generate_dsprites,
    iterate_batches,
    load_dataset,
    load_dsprites,
)
from gaekit.data import dsprites as dsprites_module
from gaekit.errors import ConfigError, DataError

N = 737_280
SIZES = (1, 3, 6, 40, 32, 32)


def unpack(packed: np.ndarray) -> np.ndarray:
    return np.unpackbits(packed, axis=1).reshape(-1, 64, 64)


@pytest.fixture(scope="module")
def one_position():
    """Every (shape, scale, orientation) sprite at posX = 7, posY = 20: the images and their factors."""
    idx = np.arange(3 * 6 * 40) * 1024 + 7 * 32 + 20
    classes, values = dsprites_latents(idx)
    return unpack(generate_dsprites(idx)), classes, values


def test_factors_match_the_published_description():
    classes, values = dsprites_latents()
    assert classes.shape == values.shape == (N, 6) and classes.dtype == np.int64
    for k, size in enumerate(SIZES):  # every value of every factor equally often
        assert np.array_equal(np.bincount(classes[:, k]), np.full(size, N // size))
    assert np.array_equal(np.unique(values[:, 1]), [1, 2, 3])
    assert np.allclose(np.unique(values[:, 2]), np.linspace(0.5, 1, 6))
    assert np.isclose(values[:, 3].min(), 0) and np.isclose(values[:, 3].max(), 2 * np.pi)
    assert np.allclose(np.unique(values[:, 4]), np.linspace(0, 1, 32))
    # posY varies fastest, then posX, ... (the README's order)
    assert np.array_equal(classes[:33, 5], np.r_[np.arange(32), 0]) and classes[32, 4] == 1
    assert len({tuple(r) for r in classes[::97]}) == len(classes[::97])  # no combination twice


def test_pixel_occupancy_grows_with_scale_and_matches_the_shapes_areas(one_position):
    images, classes, values = one_position
    count = images.reshape(len(images), -1).sum(1).reshape(3, 6, 40).astype(float)
    mean = count.mean(2)  # by shape and scale
    assert np.all(np.diff(mean, axis=1) > 0)  # monotone in scale, for every shape
    scale = np.linspace(0.5, 1, 6)
    side = 20 * scale  # the square's side in pixels
    assert np.allclose(mean[0], side**2, rtol=0.03)
    assert np.allclose(mean[1] / mean[0], math.pi / 4, rtol=0.05)  # ellipse in the square's circumcircle, 2:1
    assert np.all((mean[2] / mean[0] > 0.8) & (mean[2] / mean[0] < 1.2))  # a heart about the square's area
    # rotation leaves the area unchanged up to the pixel grid: within 4 % of the mean (scale 0.5: 100 px)
    assert np.all(np.abs(count - mean[..., None]) <= 0.08 * mean[..., None])
    assert np.all(count.std(2) / mean < 0.04)


def test_rotation_and_translation(one_position):
    images, classes, _ = one_position
    square0 = images[0]
    rows, cols = np.nonzero(square0)
    assert np.ptp(rows) + 1 == np.ptp(cols) + 1 == 10  # scale 0.5, orientation 0: an axis-aligned 10x10 square
    assert not np.array_equal(images[1], images[0])  # orientation 1 differs
    # another position: the same sprite shifted by one pixel a step, never cut by the border
    moved = unpack(generate_dsprites([7 * 32 + 20 + 32 * 3 + 5]))[0]  # posX 10, posY 25
    assert np.array_equal(np.roll(np.roll(square0, 3, axis=1), 5, axis=0), moved)
    corners = unpack(generate_dsprites([(2 * 6 + 5) * 40 * 1024 + p for p in (0, 31, 992, 1023)]))
    assert np.all(corners.reshape(4, -1).sum(1) == images[-1].sum())  # heart, scale 1 at the four corners
    assert np.all(corners[:, [0, -1], :].sum((1, 2)) == 0) and np.all(corners[:, :, [0, -1]].sum((1, 2)) == 0)


def test_generation_is_deterministic_and_independent_of_the_selection():
    idx = np.array([3, 70_000, 123_456, 700_001, 5])
    a = generate_dsprites(idx)
    assert np.array_equal(a, generate_dsprites(idx))
    assert all(np.array_equal(a[i], generate_dsprites([j])[0]) for i, j in enumerate(idx))
    first = load_dsprites("train", num=300, seed=4)
    again = load_dsprites("train", num=300, seed=4)
    assert np.array_equal(first.index, again.index) and torch.equal(first.packed, again.packed)
    assert not np.array_equal(first.index, load_dsprites("train", num=300, seed=5).index)
    assert torch.equal(first.packed, torch.from_numpy(generate_dsprites(first.index)))


def test_splits_partition_the_set():
    parts = {s: dsprites_module.split_indices(s) for s in ("train", "validation", "test")}
    joined = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(joined, np.arange(N)) and len(dsprites_module.split_indices("train_full")) == N
    for name, share in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert abs(len(parts[name]) / N - share) < 0.005
        assert np.allclose(np.bincount(dsprites_latents(parts[name])[0][:, 1]) / len(parts[name]), 1 / 3, atol=0.01)


def test_the_dataset_gives_batches_and_keeps_its_factors():
    ds = load_dsprites("test", num=50, seed=0)
    assert isinstance(ds, PackedBitsDataset) and ds.sample_shape == (1, 64, 64) and len(ds) == 50
    assert ds.packed.shape == (50, 512) and ds.data.shape == (50, 1, 64, 64)
    batches = list(iterate_batches(ds, 16, shuffle=False, generator=None))
    x = torch.cat([b.data for b in batches])
    assert x.dtype == torch.float32 and set(x.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(x, ds.as_float()) and torch.equal(x * 255, ds.data.float())
    assert torch.equal(ds.get_batch([3, 1]).data, x[[3, 1]])
    assert torch.equal(ds.labels, torch.from_numpy(ds.latents_classes[:, 1]))
    sub = ds.subset([4, 2])
    assert isinstance(sub, DSpritesDataset) and np.array_equal(sub.index, ds.index[[4, 2]])
    assert np.array_equal(sub.latents_values, ds.latents_values[[4, 2]])
    assert torch.equal(sub.as_float(), x[[4, 2]]) and ds.to("cpu") is ds


def test_a_corrupted_cache_is_refused(tmp_path):
    folder = tmp_path / "dsprites"
    folder.mkdir()
    np.save(folder / dsprites_module.CACHE_FILE, np.zeros((4, 512), np.uint8))
    with pytest.raises(DataError, match="shape") as info:
        load_dsprites(root=tmp_path)
    assert dsprites_module.CACHE_FILE in str(info.value)
    (folder / dsprites_module.CACHE_FILE).write_bytes(b"not an npy file")
    with pytest.raises(DataError, match="unreadable"):
        load_dataset("dsprites", "train", root=tmp_path)


@pytest.mark.parametrize(("kwargs", "match"), [({"split": "all"}, "split"), ({"num": 0}, "num"),
                                               ({"num": 3, "seed": -1}, "seed")])
def test_bad_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_dsprites(**kwargs)


def test_bad_indices_are_data_errors():
    with pytest.raises(DataError, match="indices"):
        generate_dsprites([N])
    with pytest.raises(DataError, match="integers"):
        dsprites_latents(np.array([0.5]))


@pytest.mark.slow
def test_the_whole_set_matches_its_recorded_checksum_and_is_cached(tmp_path):
    ds = load_dsprites(root=tmp_path)  # generated, checked against DSPRITES_SHA256, written
    assert len(ds) == N and (tmp_path / "dsprites" / dsprites_module.CACHE_FILE).is_file()
    again = load_dsprites("validation", root=tmp_path)  # read back and checked
    assert torch.equal(again.packed, ds.packed[torch.from_numpy(again.index)])
