"""Bad inputs to the ground-truth sources: a subclass without factor sizes, bad dSprites factor rows, an ``rng``
that is not a Generator, a data folder that is a file, a ``num`` past the split, and a source that observes
something other than an array. Each is a ``ConfigError`` or ``DataError`` naming what was wrong."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gaekit import create_model
from gaekit.data import dsprites_latents, load_dsprites
from gaekit.data.dsprites import split_indices
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.disentanglement import (
    ColorDSpritesGroundTruth,
    DSpritesGroundTruth,
    GroundTruthData,
    NoisyDSpritesGroundTruth,
    SyntheticGroundTruth,
    beta_vae_score,
    compute_mig,
    ground_truth_for_dataset,
    representation_samples,
)
from gaekit.metrics.disentanglement.beta_vae import beta_vae_points
from gaekit.metrics.disentanglement.factor_vae import factor_vae_votes
from gaekit.metrics.evaluation_disentanglement import resolve_ground_truth


class NoSizes(GroundTruthData):
    """A subclass that forgot ``factor_sizes``."""

    def observe(self, factors):
        return np.asarray(factors, dtype=np.float64)


def identity(observations):
    return np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)


@pytest.mark.parametrize("call", [
    lambda d: d.num_factors,
    lambda d: d.sample_factors(3, np.random.default_rng(0)),
    lambda d: beta_vae_score(d, identity, num_train=10, num_eval=10, batch_size=4),
    lambda d: compute_mig(d, identity, num_train=10, batch_size=4),
], ids=["num_factors", "sample_factors", "beta_vae", "mig"])
def test_a_source_without_factor_sizes_is_a_config_error(call):
    with pytest.raises(ConfigError, match=r"NoSizes\.factor_sizes=\(\).*must set factor_sizes"):
        call(NoSizes())


SOURCES = [DSpritesGroundTruth, ColorDSpritesGroundTruth, NoisyDSpritesGroundTruth]
GOOD = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("source", SOURCES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("rows, match", [
    ([[0, 0, 0, 0, 32]], r"column 4 \(posY\) holds 32 .*\[0, 32\)"),
    ([[0, 6, 0, 0, 0]], r"column 1 \(scale\) holds 6 .*\[0, 6\)"),
    ([[-1, 0, 0, 0, 0]], r"column 0 \(shape\) holds -1 .*\[0, 3\)"),
    ([GOOD + [0]], r"shape \(1, 6\); expected \(n, 5\)"),
    (GOOD, r"shape \(5,\); expected \(n, 5\)"),
    ([[0, 0, 1.7, 0, 0]], r"column 2 \(orientation\) holds 1.7 .*not an integer"),
    ([[0, 0, 0, np.nan, 0]], r"column 3 \(posX\) holds nan .*not an integer"),
], ids=["past-the-end", "scale-6", "negative", "six-columns", "one-d", "float", "nan"])
def test_bad_dsprites_factor_rows_are_data_errors(source, rows, match):
    with pytest.raises(DataError, match=match):
        source().observe(np.asarray(rows))


def test_dsprites_factor_rows_equal_to_integers_are_accepted():
    data = DSpritesGroundTruth()
    ints = np.array([GOOD, [2, 5, 39, 31, 31]])
    idx = data.indices(ints)
    assert np.array_equal(dsprites_latents(idx)[0][:, 1:], ints) and idx[1] == 737_279
    assert np.array_equal(data.indices(ints.astype(np.float64)), idx)
    assert data.observe(ints.tolist()).shape == (2, 1, 64, 64)


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0)], ids=["int", "None", "RandomState"])
@pytest.mark.parametrize("call", [
    lambda d, rng: representation_samples(d, identity, 4, rng),
    lambda d, rng: d.sample_factors(4, rng),
    lambda d, rng: d.sample(4, rng),
    lambda d, rng: d.sample_fixed_factor(0, 4, rng),
    lambda d, rng: d.sample_pairs(0, 4, rng),
    lambda d, rng: beta_vae_points(d, identity, 2, 4, rng),
    lambda d, rng: factor_vae_votes(d, identity, 2, 4, rng, np.ones(2), np.ones(2, bool)),
], ids=["representation_samples", "sample_factors", "sample", "sample_fixed_factor", "sample_pairs",
        "beta_vae_points", "factor_vae_votes"])
def test_an_rng_that_is_not_a_generator_is_a_config_error(call, rng):
    with pytest.raises(ConfigError, match=r"rng=.*expected a numpy\.random\.Generator; pass np\.random\.default_rng"):
        call(SyntheticGroundTruth((2, 3)), rng)


@pytest.mark.parametrize("call", [
    lambda root: ground_truth_for_dataset("dsprites", root=root),
    lambda root: resolve_ground_truth(None, "noisy-dsprites", create_model("VAE", input_dim=(3, 64, 64),
                                                                           latent_dim=2), data_dir=root),
    lambda root: load_dsprites("test", root, num=4),
], ids=["ground_truth_for_dataset", "data_dir", "load_dsprites"])
def test_a_dsprites_root_that_is_a_file_is_a_data_error(tmp_path, call):
    root = tmp_path / "not-a-folder"
    root.write_text("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not be cached" warning: refused before any work
        with pytest.raises(DataError, match=r"given data folder root='.*not-a-folder' is a file, not a folder"):
            call(str(root))


def test_load_dsprites_refuses_a_num_larger_than_the_split():
    size = split_indices("test").size
    with pytest.raises(ConfigError, match=rf"num={size + 1} is invalid: the 'test' split has {size} images"):
        load_dsprites("test", num=size + 1)
    with pytest.raises(ConfigError, match=r"num=10000000 is invalid"):
        load_dsprites("test", num=10**7)
    assert len(load_dsprites("test", num=size)) == size


def test_a_source_observing_a_list_is_checked_like_an_array():
    model = create_model("VAE", input_dim=(2,), latent_dim=2)
    as_list = SyntheticGroundTruth((2, 3), observe=lambda f: f.astype(float).tolist())
    assert resolve_ground_truth(as_list, None, model) is as_list
    with pytest.raises(DataError, match=r"gives observations of shape \(3,\)"):
        resolve_ground_truth(SyntheticGroundTruth((2, 3, 4), observe=lambda f: f.tolist()), None, model)


@pytest.mark.parametrize("result", [None, "pixels", {"x": 1}], ids=["None", "str", "dict"])
def test_a_source_observing_a_non_array_is_a_data_error(result):
    source = SyntheticGroundTruth((2, 3), observe=lambda f: result)
    with pytest.raises(DataError, match=rf"SyntheticGroundTruth\.observe returned {type(result).__name__}; "
                                        r"expected an array"):
        resolve_ground_truth(source, None, create_model("VAE", input_dim=(2,), latent_dim=2))


@pytest.mark.parametrize("rows, named", [([[1.7, 0]], "not an integer index"), ([[3, 0]], "out of range"),
                                         ([[0, -1]], "out of range"), ([0, 1], "shape")])
def test_a_synthetic_source_checks_the_factor_rows_it_observes(rows, named):
    with pytest.raises(DataError, match=f"SyntheticGroundTruth factor rows.*{named}"):
        SyntheticGroundTruth((3, 4)).observe(rows)
    assert SyntheticGroundTruth((3, 4)).observe([[2.0, 3]]).tolist() == [[2.0, 3.0]]
