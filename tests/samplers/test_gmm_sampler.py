"""The Gaussian mixture sampler's maths: cluster recovery, log-density, sampling moments, config."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from gaekit.errors import ConfigError, DataError
from gaekit.models import AE, AEConfig
from gaekit.samplers import BaseSampler, GaussianMixtureSampler, GaussianMixtureSamplerConfig, NormalSampler

COV_TYPES = ["full", "diag", "tied", "spherical"]
TRUE_MEANS = np.array([[-5.0, -5.0], [0.0, 5.0], [5.0, 0.0]])


class FlattenEncoder(nn.Module):
    """An encoder whose embedding is the input itself, so the data are the latent codes."""

    def forward(self, x):
        return x.flatten(1)


def identity_ae(latent_dim: int = 2) -> AE:
    torch.manual_seed(0)
    return AE(AEConfig(input_dim=(latent_dim,), latent_dim=latent_dim), encoder=FlattenEncoder())


def clusters(n_per: int = 300, std: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = [m + std * rng.standard_normal((n_per, 2)) for m in TRUE_MEANS]
    return np.concatenate(points).astype(np.float32)


@pytest.fixture(scope="module")
def three_cluster_sampler():
    sampler = GaussianMixtureSampler(identity_ae(), GaussianMixtureSamplerConfig(num_components=3))
    return sampler.fit(clusters())


def test_recovers_well_separated_clusters(three_cluster_sampler):
    s = three_cluster_sampler
    order = np.lexsort(s.means.numpy().T[::-1])  # sort by x then y, as TRUE_MEANS is
    np.testing.assert_allclose(s.means.numpy()[order], TRUE_MEANS, atol=0.1)
    np.testing.assert_allclose(s.weights.numpy(), 1 / 3, atol=0.02)
    cov = s.covariances.numpy()
    np.testing.assert_allclose(cov, np.broadcast_to(0.09 * np.eye(2), cov.shape), atol=0.03)
    torch.testing.assert_close(s.scale_tril, torch.tril(s.scale_tril))


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_log_prob_matches_sklearn(covariance_type):
    rng = np.random.default_rng(1)
    data = clusters(n_per=100) @ rng.standard_normal((2, 2)).astype(np.float32)  # correlated clusters
    sampler = GaussianMixtureSampler(
        identity_ae(), GaussianMixtureSamplerConfig(num_components=3, covariance_type=covariance_type)
    ).fit(data)
    z = torch.from_numpy(rng.standard_normal((50, 2)) * 4)
    expected = sampler.mixture.score_samples(z.numpy())
    np.testing.assert_allclose(sampler.log_prob(z).numpy(), expected, atol=1e-4, rtol=0)
    assert sampler.log_prob(z.float()).dtype == torch.float32


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_sample_moments_match_the_mixture(covariance_type):
    rng = np.random.default_rng(2)
    data = clusters(n_per=100, std=1.0) @ rng.standard_normal((2, 2)).astype(np.float32)
    sampler = GaussianMixtureSampler(
        identity_ae(), GaussianMixtureSamplerConfig(num_components=3, covariance_type=covariance_type)
    ).fit(data)
    _, z = sampler.sample(20_000, batch_size=5_000, seed=0, return_latents=True)
    w, mu, cov = sampler.weights, sampler.means, sampler.covariances
    mean = (w[:, None] * mu).sum(0)
    second = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(0)
    total_cov = second - torch.outer(mean, mean)
    z = z.double()
    scale = float(torch.linalg.matrix_norm(total_cov, ord=2))
    torch.testing.assert_close(z.mean(0), mean, atol=0.05 * scale**0.5, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), total_cov, atol=0.05 * scale, rtol=0)


def test_component_frequencies_follow_the_weights(three_cluster_sampler):
    _, z = three_cluster_sampler.sample(6_000, seed=1, return_latents=True)
    nearest = torch.cdist(z.double(), three_cluster_sampler.means).argmin(1)
    freq = torch.bincount(nearest, minlength=3).double() / len(z)
    torch.testing.assert_close(freq, three_cluster_sampler.weights, atol=0.03, rtol=0)


def test_batch_size_does_not_change_the_codes(three_cluster_sampler):
    x1, z1 = three_cluster_sampler.sample(50, batch_size=7, seed=5, return_latents=True)
    x2, z2 = three_cluster_sampler.sample(50, batch_size=500, seed=5, return_latents=True)
    assert torch.equal(z1, z2)
    torch.testing.assert_close(x1, x2)
    n1 = NormalSampler(identity_ae()).sample(20, batch_size=3, seed=2)
    n2 = NormalSampler(identity_ae()).sample(20, batch_size=20, seed=2)
    torch.testing.assert_close(n1, n2)


def test_eval_data_is_used_for_fitting():
    model = identity_ae()
    data = clusters(n_per=2)  # 6 points
    config = GaussianMixtureSamplerConfig(num_components=8, covariance_type="spherical", reg_covar=1e-3)
    with pytest.raises(DataError, match="num_components=8"):
        GaussianMixtureSampler(model, config).fit(data)
    sampler = GaussianMixtureSampler(model, config).fit(data, eval_data=clusters(n_per=2, seed=1))
    assert sampler.mixture.n_features_in_ == 2 and sampler.means.shape == (8, 2)


def test_loaded_sampler_needs_no_sklearn(three_cluster_sampler, tmp_path, monkeypatch):
    folder = three_cluster_sampler.save(tmp_path / "gmm")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.mixture", None)
    loaded = BaseSampler.load_from_folder(folder, three_cluster_sampler.model)
    assert loaded.mixture is None
    assert torch.equal(loaded.sample(10, seed=0), three_cluster_sampler.sample(10, seed=0))
    z = torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(loaded.log_prob(z), three_cluster_sampler.log_prob(z))


def test_non_finite_embeddings_are_refused():
    sampler = GaussianMixtureSampler(identity_ae(), GaussianMixtureSamplerConfig(num_components=1))
    with pytest.raises(DataError):
        sampler.fit_embeddings(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        sampler.fit_embeddings(torch.zeros(4, 3))


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_components", 0), ("num_components", 2.5), ("covariance_type", "bogus"), ("reg_covar", -1.0),
     ("reg_covar", float("nan")), ("max_iter", 0), ("num_init", 0), ("random_state", -1),
     ("random_state", 2**32)],
)
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        GaussianMixtureSamplerConfig(**{field: value})


def test_config_json_round_trip(tmp_path):
    config = GaussianMixtureSamplerConfig(num_components=4, covariance_type="diag", reg_covar=1e-3, num_init=2)
    config.to_json(tmp_path / "c.json")
    assert GaussianMixtureSamplerConfig.from_json(tmp_path / "c.json") == config
    with pytest.raises(ConfigError, match="accepted keys"):
        GaussianMixtureSamplerConfig.from_dict({"num_components": 3, "n_comps": 3})
