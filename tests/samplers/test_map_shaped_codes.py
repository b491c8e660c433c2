"""Samplers fitted on embeddings, interpolation and the evaluation with codes that are maps.

A VQ-VAE with a convolutional encoder has codes of shape ``(latent_dim, h, w)``: fitted samplers
model them flattened and decode them reshaped; interpolation and traversal work on them too.
"""

from __future__ import annotations

import pytest
import torch

from gaekit.data import ArrayDataset
from gaekit.metrics import evaluate
from gaekit.models import VQVAE, VQVAEConfig
from gaekit.models.base import inference_mode
from gaekit.nn import create_network
from gaekit.samplers import GaussianMixtureSampler, MAFSampler, TwoStageVAESampler

SHAPE = (1, 16, 16)


@pytest.fixture(scope="module")
def vqvae_with_maps():
    torch.manual_seed(0)
    nets = {role: create_network("conv", dataset=SHAPE, role=role, latent_dim=4, model=VQVAE, channels=(4, 8))
            for role in ("encoder", "decoder")}
    model = VQVAE(VQVAEConfig(input_dim=SHAPE, latent_dim=4, num_embeddings=8), **nets)
    x = torch.rand(60, *SHAPE, generator=torch.Generator().manual_seed(1))
    return model, ArrayDataset(x, torch.arange(60) % 3)


@pytest.mark.parametrize("sampler_cls, kwargs", [
    (GaussianMixtureSampler, {"num_components": 2}),
    (MAFSampler, {"num_epochs": 2, "show_progress": False}),
    (TwoStageVAESampler, {"num_epochs": 2, "hidden_dims": (16,), "show_progress": False}),
])
def test_fitted_samplers_model_flattened_map_codes(vqvae_with_maps, sampler_cls, kwargs):
    model, data = vqvae_with_maps
    code_shape = tuple(model.embed(data.data[:1].float()).shape[1:])
    assert len(code_shape) == 3  # a (latent_dim, h, w) map, not a vector
    sampler = sampler_cls(model, sampler_cls.config_class(**kwargs))
    assert sampler.latent_shape == code_shape and sampler.code_dim == code_shape[0] * code_shape[1] * code_shape[2]
    images, codes = sampler.fit(data).sample(5, seed=0, return_latents=True)
    assert images.shape == (5, *SHAPE) and torch.isfinite(images).all()
    assert codes.shape == (5, sampler.code_dim)


def test_interpolation_and_evaluation_work_with_map_codes(vqvae_with_maps, tmp_path):
    model, data = vqvae_with_maps
    x = data.data[:4].float()
    path = model.interpolate(x[:2], x[2:], steps=4)
    assert path.shape == (2, 4, *SHAPE)
    with inference_mode(model):  # the path starts and ends at the (map-shaped) encodings of x_start and x_end
        ends = [model.decode(model.encode(e).embedding) for e in (x[:2], x[2:])]
    assert torch.allclose(path[:, 0], ends[0], atol=1e-6) and torch.allclose(path[:, -1], ends[1], atol=1e-6)
    result = evaluate(model, (data, data, data), tasks=["classification", "clustering", "interpolation"],
                      extractor="none", output_dir=tmp_path, classification_runs=1, clustering_runs=1,
                      traversal_dims=3)
    assert result.classification["test_accuracy_mean"] >= 0 and result.interpolation["traversal_dims"] == 3
    assert (tmp_path / "traversal.png").is_file() and (tmp_path / "interpolation.png").is_file()
