"""The Color-dSprites and Noisy-dSprites ground-truth sources: dSprites' factor bookkeeping, observations that
apply the variant's noise as the training datasets do, and metrics that stay pure functions of their seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaekit.data import ColorDSpritesDataset, NoisyDSpritesDataset, generate_dsprites, load_dataset
from gaekit.errors import ConfigError
from gaekit.metrics.disentanglement import (
    ColorDSpritesGroundTruth,
    DSpritesGroundTruth,
    NoisyDSpritesGroundTruth,
    beta_vae_score,
    compute_mig,
    factor_vae_score,
    ground_truth_for_dataset,
)

SOURCES = {"color": (ColorDSpritesGroundTruth, ColorDSpritesDataset),
           "noisy": (NoisyDSpritesGroundTruth, NoisyDSpritesDataset)}


def channel_means(x: torch.Tensor) -> np.ndarray:
    """A cheap representation that sees the noise: each channel's mean intensity."""
    return x.mean(dim=(2, 3)).numpy()


@pytest.mark.parametrize("variant", ["color", "noisy"])
def test_the_sources_keep_dsprites_factors_and_apply_the_variant(variant):
    source_cls, dataset_cls = SOURCES[variant]
    data, plain = source_cls(seed=3), DSpritesGroundTruth()
    assert data.factor_sizes == plain.factor_sizes == (3, 6, 40, 32, 32)
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY") and data.seed == 3
    factors = plain.sample_factors(20, np.random.default_rng(0))
    idx = data.indices(factors)
    assert np.array_equal(idx, plain.indices(factors))
    x, bits = data.observe(factors), plain.observe(factors)
    assert x.shape == (20, 3, 64, 64) and x.dtype == torch.float32
    sprite = bits[:, 0].bool()
    if variant == "color":
        assert torch.equal((x > 0).all(1), sprite) and torch.equal((x > 0).any(1), sprite)
        assert torch.all(x.permute(1, 0, 2, 3)[:, sprite] >= 0.5) and x.max() <= 1
    else:
        assert torch.equal((x == 1).all(1), sprite) and x.min() >= 0
    # a pure function of (seed, factor rows), and the draw the training dataset makes for the same images
    assert torch.equal(x, source_cls(seed=3).observe(factors))
    assert not torch.equal(x, source_cls(seed=4).observe(factors))
    assert not torch.equal(x[1:], data.observe(factors[1:]))  # another batch: fresh noise
    assert torch.equal(x, dataset_cls(generate_dsprites(idx), idx, seed=3).get_batch(np.arange(20)).data)
    # a source backed by the packed set observes what the renderer does
    packed = np.zeros((737_280, 512), np.uint8)
    packed[idx] = generate_dsprites(idx)
    assert torch.equal(source_cls(packed, seed=3).observe(factors), x)


@pytest.mark.parametrize("variant", ["color", "noisy"])
def test_metrics_on_a_variant_are_reproducible_with_their_seed(variant):
    source_cls, _ = SOURCES[variant]
    data = source_cls(seed=1)
    first = compute_mig(data, channel_means, num_train=256, seed=7)
    assert first == compute_mig(source_cls(seed=1), channel_means, num_train=256, seed=7)  # a fresh source
    assert first == compute_mig(data, channel_means, num_train=256, seed=7)  # the same source again
    assert first["mutual_info"] != compute_mig(data, channel_means, num_train=256, seed=8)["mutual_info"]
    assert first["mutual_info"] != compute_mig(source_cls(seed=2), channel_means, num_train=256,
                                               seed=7)["mutual_info"]  # other noise, other codes
    settings = {"batch_size": 8, "num_train": 24, "num_eval": 12}
    beta = beta_vae_score(data, channel_means, seed=3, **settings)
    assert beta == beta_vae_score(source_cls(seed=1), channel_means, seed=3, **settings)
    factor = factor_vae_score(data, channel_means, seed=3, num_variance_estimate=64, **settings)
    assert factor == factor_vae_score(source_cls(seed=1), channel_means, seed=3, num_variance_estimate=64, **settings)


def test_ground_truth_for_dataset_refuses_other_names_and_bad_seeds():
    with pytest.raises(ConfigError, match="dsprites, color-dsprites, noisy-dsprites") as info:
        ground_truth_for_dataset("mnist")
    assert "'mnist'" in str(info.value)
    with pytest.raises(ConfigError, match="seed"):
        ground_truth_for_dataset("noisy-dsprites", seed=-1)
    with pytest.raises(ConfigError, match="seed"):
        ColorDSpritesGroundTruth(seed=1.5)


@pytest.mark.slow
def test_ground_truth_for_dataset_gives_the_cached_sources(tmp_path):
    noisy = ground_truth_for_dataset("Noisy_dSprites", root=tmp_path, seed=2)  # generates the set once (~10 s)
    assert type(noisy) is NoisyDSpritesGroundTruth and noisy.seed == 2
    factors = noisy.sample_factors(16, np.random.default_rng(1))
    assert torch.equal(noisy.observe(factors), NoisyDSpritesGroundTruth(seed=2).observe(factors))
    color = ground_truth_for_dataset("color-dsprites", root=tmp_path, seed=2)  # read back from the cache
    assert type(color) is ColorDSpritesGroundTruth and color.seed == 2
    assert type(ground_truth_for_dataset("dsprites", root=tmp_path)) is DSpritesGroundTruth
    # the registered dataset, read from the same cache, draws what the source observes for the same images
    test = load_dataset("noisy-dsprites", "test", root=tmp_path)
    assert type(test) is NoisyDSpritesDataset and test.seed == 0 and test.sample_shape == (3, 64, 64)
    rows = np.array([5, 0, 9])
    factors = test.latents_classes[rows, 1:]
    source = ground_truth_for_dataset("noisy-dsprites", root=tmp_path)
    assert torch.equal(test.get_batch(rows).data, source.observe(factors))
