"""GenerationPipeline: the Pythae paper's Appendix A call, outputs on disk, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gaekit.errors import ConfigError, DataError
from gaekit.images import make_grid
from gaekit.models import AE, VAE, AEConfig, VAEConfig
from gaekit.pipelines.generation import GenerationPipeline
from gaekit.samplers import (
    BaseSampler,
    BaseSamplerConfig,
    GaussianMixtureSampler,
    GaussianMixtureSamplerConfig,
    NormalSampler,
)
from gaekit.serialization import load_tensors


def tiny_vae(input_dim=(1, 8, 8), **kwargs) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=input_dim, latent_dim=2, **kwargs))


def train_data(n: int = 60) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)


def test_appendix_a_snippet():
    from gaekit.pipelines import GenerationPipeline as Exported
    from gaekit.samplers import GaussianMixtureSamplerConfig as Config

    my_trained_vae = tiny_vae()
    gmm_sampler_config = Config(n_components=10)
    pipeline = Exported(model=my_trained_vae, sampler_config=gmm_sampler_config)
    generated_samples = pipeline(num_samples=100, return_gen=True, train_data=train_data(), eval_data=None)
    assert generated_samples.shape == (100, 1, 8, 8)
    assert generated_samples.min() >= 0 and generated_samples.max() <= 1
    assert isinstance(pipeline.sampler, GaussianMixtureSampler) and pipeline.sampler.is_fitted
    assert pipeline.sampler.means.shape == (10, 2)


def test_default_sampler_is_the_prior_and_seeded():
    pipeline = GenerationPipeline(tiny_vae())
    a = pipeline(num_samples=5, seed=1)
    assert isinstance(pipeline.sampler, NormalSampler)
    assert torch.equal(a, pipeline(num_samples=5, seed=1))
    assert torch.equal(a, pipeline.sampler.sample(5, seed=1))
    assert not torch.equal(a, pipeline(num_samples=5, seed=2))


def test_output_dir_files(tmp_path):
    out = tmp_path / "gen" / "run"
    pipeline = GenerationPipeline(tiny_vae(), GaussianMixtureSamplerConfig(num_components=3))
    samples = pipeline(num_samples=120, batch_size=50, output_dir=out, train_data=train_data(), seed=0)
    assert sorted(p.name for p in out.iterdir()) == ["samples.png", "samples.safetensors"]
    assert torch.equal(load_tensors(out / "samples.safetensors")["samples"], samples)
    with Image.open(out / "samples.png") as picture:
        assert picture.format == "PNG"
        assert picture.size == (10 * 10 + 2, 10 * 10 + 2)  # the first 100 samples, 10 per row
        pixels = np.asarray(picture)
    np.testing.assert_array_equal(pixels, make_grid(samples[:100])[:, :, 0])


def test_png_is_clipped_but_saved_samples_are_not(tmp_path):
    torch.manual_seed(0)
    model = AE(AEConfig(input_dim=(1, 6, 6), latent_dim=2, output_activation="identity"))
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(20)
    samples = GenerationPipeline(model)(num_samples=9, output_dir=tmp_path, seed=0)
    assert samples.min() < 0 or samples.max() > 1
    assert torch.equal(load_tensors(tmp_path / "samples.safetensors")["samples"], samples)
    with Image.open(tmp_path / "samples.png") as picture:
        pixels = np.asarray(picture)
    np.testing.assert_array_equal(pixels, make_grid(samples.clamp(0, 1))[:, :, 0])


def test_flat_data_writes_no_png(tmp_path):
    samples = GenerationPipeline(tiny_vae(input_dim=(64,)))(num_samples=4, output_dir=tmp_path)
    assert samples.shape == (4, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.safetensors"]


def test_return_gen_false_and_saved_sampler(tmp_path):
    model = tiny_vae()
    pipeline = GenerationPipeline(model, GaussianMixtureSamplerConfig(num_components=2))
    result = pipeline(num_samples=3, return_gen=False, save_sampler_dir=tmp_path / "sampler",
                      train_data=torch.rand(30, 1, 8, 8), eval_data=train_data(10))
    assert result is None
    loaded = BaseSampler.load_from_folder(tmp_path / "sampler", model)
    assert isinstance(loaded, GaussianMixtureSampler)
    assert torch.equal(loaded.sample(4, seed=7), pipeline.sampler.sample(4, seed=7))


def test_errors():
    with pytest.raises(DataError, match="train_data"):
        GenerationPipeline(tiny_vae(), GaussianMixtureSamplerConfig(num_components=2))(num_samples=2)
    with pytest.raises(ConfigError):
        GenerationPipeline(tiny_vae(), BaseSamplerConfig())
    with pytest.raises(DataError):  # data of the wrong shape for the model
        GenerationPipeline(tiny_vae(), GaussianMixtureSamplerConfig(num_components=2))(
            num_samples=2, train_data=np.zeros((10, 64), dtype=np.float32))


def test_gmm_on_real_digits(digits):
    train, validation, _ = digits
    pipeline = GenerationPipeline(tiny_vae(), GaussianMixtureSamplerConfig(num_components=10))
    samples = pipeline(num_samples=16, batch_size=256, train_data=train, eval_data=validation, seed=0)
    assert samples.shape == (16, 1, 8, 8) and torch.isfinite(samples).all()
    assert pipeline.sampler.means.shape == (10, 2)


@pytest.mark.parametrize("where, named", [("afile/out", "afile above it is a file"), ("afile", "it is a file")])
def test_an_output_dir_at_or_under_a_file_is_refused_before_fitting(tmp_path, monkeypatch, where, named):
    (tmp_path / "afile").write_text("mine")
    fits = []
    monkeypatch.setattr(GaussianMixtureSampler, "fit", lambda self, *a, **k: fits.append(1))
    pipe = GenerationPipeline(tiny_vae(), GaussianMixtureSamplerConfig(num_components=2))
    with pytest.raises(ConfigError, match=f"output_dir .*{named}"):
        pipe(num_samples=2, output_dir=tmp_path / where, train_data=train_data())
    assert not fits and (tmp_path / "afile").read_text() == "mine"
