"""Registry-driven checks that every registered sampler keeps the sampler contract.

A new sampler is covered by registering it in ``SAMPLERS``; when its default config is too big
for a quick test, add small config kwargs to ``SAMPLER_KWARGS``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import tiny_model  # tests/conftest.py: registered models at test size

from gaekit.errors import CheckpointError, ConfigError, DataError, UnsafeLoadError
from gaekit.models import MODELS, VAE
from gaekit.samplers import (
    SAMPLERS,
    BaseSampler,
    BaseSamplerConfig,
    SamplerNotFittedError,
    embed_dataset,
    sampler_for_config,
)

INPUT_DIM = (1, 8, 8)
LATENT_DIM = 3
N_TRAIN = 40

# Small valid config kwargs per sampler (default: the sampler's default config).
SAMPLER_KWARGS: dict[str, dict] = {
    "RHVAESampler": {"num_mcmc_steps": 3, "num_leapfrog_steps": 3},
    "GaussianMixtureSampler": {"num_components": 3},
    # trained latent density models: small networks, two quiet epochs
    "MAFSampler": {"hidden_size": 16, "num_epochs": 2, "show_progress": False},
    "IAFSampler": {"hidden_size": 16, "num_epochs": 2, "show_progress": False},
    "TwoStageVAESampler": {"hidden_dims": (32, 32), "num_epochs": 2, "show_progress": False},
    "PixelCNNSampler": {"num_layers": 2, "kernel_size": 3, "hidden_channels": 8, "num_epochs": 2,
                        "show_progress": False},
}

SAMPLER_NAMES = SAMPLERS.names()
PREFERRED_MODELS = ["VAE", "AE", "BetaVAE"]


def _accepts(sampler_cls, model_cls) -> bool:
    return sampler_cls.accepted_models is None or issubclass(model_cls, sampler_cls.accepted_models)


def make_model(sampler_cls, model_name: str | None = None, latent_dim: int = LATENT_DIM, seed: int = 0):
    """A tiny model from ``MODELS`` (sigmoid output) that ``sampler_cls`` accepts."""
    if model_name is None:
        candidates = [n for n in PREFERRED_MODELS if n in MODELS] + MODELS.names()
        model_name = next(n for n in candidates if _accepts(sampler_cls, MODELS.get(n)))
    model = tiny_model(model_name, input_dim=INPUT_DIM, latent_dim=latent_dim, seed=seed)
    model.train()  # samplers must not leave the model in another mode
    return model


def make_sampler(name: str, model=None):
    cls = SAMPLERS.get(name)
    model = model if model is not None else make_model(cls)
    return cls(model, cls.config_class(**SAMPLER_KWARGS.get(name, {})))


def make_data(kind: str = "uint8", n: int = N_TRAIN, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    if kind == "uint8":
        return torch.randint(0, 256, (n, *INPUT_DIM), dtype=torch.uint8, generator=g)
    if kind == "numpy":
        return torch.rand(n, *INPUT_DIM, generator=g).numpy()
    return torch.rand(n, *INPUT_DIM, generator=g)


def fitted(name: str, model=None):
    sampler = make_sampler(name, model)
    return sampler.fit(make_data("uint8"), batch_size=16)


@pytest.fixture(params=SAMPLER_NAMES)
def name(request):
    return request.param


# ------------------------------------------------------------------------------- registry
def test_builtin_samplers_are_registered():
    assert {"NormalSampler", "GaussianMixtureSampler"} <= set(SAMPLER_NAMES)


def test_registry_and_config_names_agree(name):
    cls = SAMPLERS.get(name)
    assert cls.__name__ == name
    assert cls.config_class.name == name
    assert issubclass(cls, BaseSampler) and issubclass(cls.config_class, BaseSamplerConfig)
    assert sampler_for_config(cls.config_class(**SAMPLER_KWARGS.get(name, {}))) is cls


def test_sampler_for_config_rejects_unknown_configs():
    with pytest.raises(ConfigError, match="no registered sampler"):
        sampler_for_config(BaseSamplerConfig())
    with pytest.raises(ConfigError, match="sampler config"):
        sampler_for_config({"name": "NormalSampler"})


# ---------------------------------------------------------------------------- construction
def test_construction_with_default_config(name):
    cls = SAMPLERS.get(name)
    sampler = cls(make_model(cls))
    assert isinstance(sampler.sampler_config, cls.config_class)
    assert sampler.is_fitted is (not cls.needs_fit)
    assert name in repr(sampler)


@pytest.mark.parametrize("model_name", ["AE", "VAE"])
def test_construction_with_each_model(name, model_name):
    cls = SAMPLERS.get(name)
    if not _accepts(cls, MODELS.get(model_name)):
        with pytest.raises(ConfigError, match="accepts"):
            make_sampler(name, make_model(cls, model_name))
    else:
        assert make_sampler(name, make_model(cls, model_name)).model.model_config.name == model_name


def test_wrong_config_type_or_model_is_refused(name):
    cls = SAMPLERS.get(name)
    with pytest.raises(ConfigError, match=cls.config_class.__name__):
        cls(make_model(cls), BaseSamplerConfig())
    with pytest.raises(ConfigError, match="BaseAE"):
        cls(torch.nn.Linear(2, 2))


def test_accepted_models_are_checked_at_construction():
    class VAEOnlySampler(BaseSampler):  # not registered
        accepted_models = (VAE,)

    with pytest.raises(ConfigError, match="accepts: VAE"):
        VAEOnlySampler(make_model(VAEOnlySampler, "AE"))
    assert VAEOnlySampler(make_model(VAEOnlySampler, "VAE")).model.model_config.name == "VAE"


# ------------------------------------------------------------------------------ fit/sample
@pytest.mark.parametrize("kind", ["uint8", "float", "numpy"])
def test_fit_and_sample_shapes_and_range(name, kind):
    sampler = make_sampler(name)
    assert sampler.fit(make_data(kind), batch_size=16) is sampler
    assert sampler.is_fitted
    x = sampler.sample(7, seed=0)
    assert x.shape == (7, *INPUT_DIM)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()
    assert x.min() >= 0 and x.max() <= 1  # sigmoid output
    assert sampler.model.training  # mode restored
    assert not x.requires_grad


def test_fit_with_eval_data_and_dataloader(name):
    sampler = make_sampler(name)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(make_data("float")), batch_size=8)
    sampler.fit(loader, eval_data=make_data("uint8", n=10, seed=1), batch_size=8)
    assert sampler.sample(3, seed=0).shape == (3, *INPUT_DIM)


def test_fit_refuses_wrongly_shaped_data(name):
    sampler = make_sampler(name)
    if not sampler.needs_fit:
        pytest.skip("sampler needs no fitting")
    with pytest.raises(DataError):
        sampler.fit(torch.rand(N_TRAIN, 64))
    with pytest.raises(DataError):
        sampler.fit(None)


def test_seeded_determinism(name):
    sampler = fitted(name)
    a = sampler.sample(6, seed=3)
    b = sampler.sample(6, seed=3)
    c = sampler.sample(6, seed=4)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # seed=None draws fresh randomness
    assert not torch.allclose(sampler.sample(6), sampler.sample(6))


def test_small_batches_give_all_samples(name):
    sampler = fitted(name)
    x = sampler.sample(11, batch_size=4, seed=0)
    assert x.shape == (11, *INPUT_DIM)
    x1 = sampler.sample(1, batch_size=4, seed=0)
    assert x1.shape == (1, *INPUT_DIM)


def test_return_latents(name):
    sampler = fitted(name)
    x, z = sampler.sample(5, seed=0, return_latents=True)
    assert z.shape == (5, LATENT_DIM)
    torch.testing.assert_close(sampler.model.decode(z).detach(), x)


@pytest.mark.parametrize("bad", [{"num_samples": 0}, {"batch_size": 0}, {"num_samples": 2.5}, {"seed": "x"}])
def test_bad_sample_arguments(name, bad):
    with pytest.raises(ConfigError):
        fitted(name).sample(**{"num_samples": 2, **bad})


def test_unfitted_sampler(name, tmp_path):
    sampler = make_sampler(name)
    if sampler.needs_fit:
        with pytest.raises(SamplerNotFittedError, match="fit"):
            sampler.sample(2)
        with pytest.raises(SamplerNotFittedError):
            sampler.save(tmp_path / "s")
    else:
        assert sampler.sample(2, seed=0).shape == (2, *INPUT_DIM)


# -------------------------------------------------------------------------------- save/load
def test_save_load_round_trip(name, tmp_path):
    sampler = fitted(name)
    folder = sampler.save(tmp_path / "sampler")
    assert {p.name for p in folder.iterdir()} == {"sampler_config.json", "sampler.safetensors", "gaekit.json"}
    for loader in (BaseSampler, type(sampler)):
        caller_rng = torch.get_rng_state()
        loaded = loader.load_from_folder(folder, sampler.model)
        assert torch.equal(torch.get_rng_state(), caller_rng), "loading drew from the caller's global RNG"
        assert type(loaded) is type(sampler)
        assert loaded.sampler_config == sampler.sampler_config
        assert loaded.is_fitted
        assert torch.equal(loaded.sample(5, seed=11), sampler.sample(5, seed=11))


def test_load_refuses_pickles(name, tmp_path):
    folder = fitted(name).save(tmp_path / "sampler")
    (folder / "extra.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UnsafeLoadError):
        BaseSampler.load_from_folder(folder, make_model(SAMPLERS.get(name)))


def test_load_refuses_tampered_weights(name, tmp_path):
    sampler = fitted(name)
    folder = sampler.save(tmp_path / "sampler")
    weights = folder / "sampler.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")
    with pytest.raises(CheckpointError, match="checksum"):
        BaseSampler.load_from_folder(folder, sampler.model)
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        BaseSampler.load_from_folder(folder, sampler.model)


def test_load_refuses_other_model_or_folder(name, tmp_path):
    sampler = fitted(name)
    folder = sampler.save(tmp_path / "sampler")
    other = make_model(type(sampler), latent_dim=LATENT_DIM + 1)
    with pytest.raises(CheckpointError, match="latent_dim"):
        BaseSampler.load_from_folder(folder, other)
    saved_for = sampler.model.model_config.name  # a model of another class, of the same sizes
    other_name = next((n for n in PREFERRED_MODELS + MODELS.names()
                       if n in MODELS and n != saved_for and _accepts(type(sampler), MODELS.get(n))), None)
    if other_name is not None:
        other = tiny_model(other_name, input_dim=INPUT_DIM, latent_dim=LATENT_DIM)
        with pytest.raises(CheckpointError, match=f"fitted for a '{saved_for}'.*'{other_name}'"):
            BaseSampler.load_from_folder(folder, other)
    with pytest.raises(CheckpointError):
        BaseSampler.load_from_folder(tmp_path / "nowhere", sampler.model)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError):
        BaseSampler.load_from_folder(tmp_path / "empty", sampler.model)
    wrong_cls = next((SAMPLERS.get(n) for n in SAMPLER_NAMES if n != name), None)
    if wrong_cls is not None:
        with pytest.raises(CheckpointError, match=name):
            wrong_cls.load_from_folder(folder, sampler.model)


# ------------------------------------------------------------------------------ embeddings
@pytest.mark.parametrize("kind", ["uint8", "numpy"])
def test_embed_dataset_matches_model_embed(kind):
    model = make_model(BaseSampler, "VAE")
    data = make_data(kind, n=23)
    z = embed_dataset(model, data, batch_size=5)
    x = torch.as_tensor(data)
    x = x.float() / 255 if x.dtype == torch.uint8 else x
    assert z.shape == (23, LATENT_DIM)
    torch.testing.assert_close(z, model.embed(x))
    assert model.training and not z.requires_grad


def test_embed_dataset_refuses_bad_data():
    model = make_model(BaseSampler, "VAE")
    with pytest.raises(DataError):
        embed_dataset(model, np.zeros((0, *INPUT_DIM), dtype=np.float32))
    with pytest.raises(DataError):
        embed_dataset(model, np.zeros((4, 64), dtype=np.float32))
