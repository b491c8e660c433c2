"""The trained latent samplers (MAF, IAF, two-stage VAE) on embeddings of a VAE trained on real MNIST:
they fit, learn the aggregate posterior, sample, reload, stop early, and leave the model untouched."""

from __future__ import annotations

import json

import pytest
import torch

from gaekit.errors import ConfigError, DataError
from gaekit.models import AE, VAE, AEConfig, VAEConfig
from gaekit.models._losses import log_normal_standard
from gaekit.pipelines import GenerationPipeline
from gaekit.samplers import (
    SAMPLERS,
    BaseSampler,
    IAFSampler,
    IAFSamplerConfig,
    MAFSampler,
    MAFSamplerConfig,
    TwoStageVAESampler,
    TwoStageVAESamplerConfig,
    embed_dataset,
)
from gaekit.samplers._fitting import split_holdout
from gaekit.samplers.two_stage import LearnedVarianceVAE
from gaekit.trainers import Trainer, TrainerConfig, set_seed

LATENT_DIM = 8
N_TRAIN, N_VAL = 5000, 1000
FAST = {"num_epochs": 6, "learning_rate": 1e-3, "show_progress": False}
CONFIGS = {
    "MAFSampler": lambda **kw: MAFSamplerConfig(hidden_size=64, **{**FAST, **kw}),
    "IAFSampler": lambda **kw: IAFSamplerConfig(hidden_size=64, **{**FAST, **kw}),
    "TwoStageVAESampler": lambda **kw: TwoStageVAESamplerConfig(hidden_dims=(256, 256), **{**FAST, **kw}),
}
TINY_FIT = {"num_epochs": 1, "show_progress": False}
TINY = {  # for tests about the fitting mechanics, not about what is learned
    "MAFSampler": lambda **kw: MAFSamplerConfig(hidden_size=8, **{**TINY_FIT, **kw}),
    "IAFSampler": lambda **kw: IAFSamplerConfig(hidden_size=8, **{**TINY_FIT, **kw}),
    "TwoStageVAESampler": lambda **kw: TwoStageVAESamplerConfig(hidden_dims=(8,), **{**TINY_FIT, **kw}),
}
NAMES = list(CONFIGS)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small-batch training gains nothing from intra-op threads, and on a busy 2-core machine they thrash."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    from gaekit.data import load_mnist

    train = load_mnist("train", root=mnist_dir).data
    val = load_mnist("validation", root=mnist_dir).data
    return train[:N_TRAIN], val[:N_VAL], val[N_VAL:2 * N_VAL]  # uint8 (N, 1, 28, 28): train, eval, held out


@pytest.fixture(scope="module")
def vae(mnist):
    """A VAE (latent dimension 8) trained for 3 epochs on 5k MNIST images."""
    set_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT_DIM, reconstruction_loss="bce"))
    config = TrainerConfig(output_dir=None, num_epochs=3, learning_rate=1e-3, show_progress=False, device="cpu")
    Trainer(model, config, train_data=mnist[0]).train()
    return model.train()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def fitted(vae, mnist):
    """``fitted(name)``: the sampler fitted (once per module) on the VAE's embeddings of train / eval data,
    with the VAE's weights from before the fit."""
    cache = {}

    def get(name):
        if name not in cache:
            before = _weights(vae)
            sampler = SAMPLERS.get(name)(vae, CONFIGS[name]())
            cache[name] = sampler.fit(mnist[0], eval_data=mnist[1]), before
        return cache[name]

    return get


# ------------------------------------------------------------------------------- fit + sample
@pytest.mark.parametrize("name", NAMES)
def test_fit_sample_and_reload(fitted, name, tmp_path):
    sampler, _ = fitted(name)
    x = sampler.sample(32, batch_size=10, seed=0)
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32
    assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
    _, z = sampler.sample(256, seed=1, return_latents=True)
    assert z.shape == (256, LATENT_DIM) and torch.isfinite(z).all()
    loaded = BaseSampler.load_from_folder(sampler.save(tmp_path / "s"), sampler.model)
    assert type(loaded) is type(sampler) and not loaded.density.training
    assert torch.equal(loaded.sample(16, seed=5), sampler.sample(16, seed=5))
    for key, value in sampler.density.state_dict().items():
        assert torch.equal(loaded.density.state_dict()[key], value), key


@pytest.mark.parametrize("name", NAMES)
def test_fitting_leaves_the_first_stage_model_unchanged(fitted, name):
    sampler, before = fitted(name)
    assert sampler.model.training  # the mode it was fitted in
    after = sampler.model.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert torch.equal(after[key], value), key


@pytest.mark.parametrize("name", NAMES)
def test_fitted_density_is_in_eval_mode_with_the_best_weights(fitted, name, vae, mnist):
    sampler, _ = fitted(name)
    assert not sampler.density.training
    history = sampler.history
    assert 1 <= len(history) <= sampler.sampler_config.num_epochs
    best = min(r["eval_loss"] for r in history)
    if isinstance(sampler, (MAFSampler, IAFSampler)):  # the flow's validation loss is deterministic
        z_eval = embed_dataset(vae, mnist[1])
        assert -sampler.log_prob(z_eval).mean().item() == pytest.approx(best, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("name", ["MAFSampler", "IAFSampler"])
def test_flow_learns_the_aggregate_posterior(fitted, vae, mnist, name):
    sampler, _ = fitted(name)
    z_held_out = embed_dataset(vae, mnist[2])  # codes of images used neither for training nor validation
    flow_ll = sampler.log_prob(z_held_out).mean()
    normal_ll = log_normal_standard(z_held_out).mean()
    assert flow_ll > normal_ll + 1.0, (flow_ll, normal_ll)
    # codes drawn from the flow look like the embeddings: matching mean and per-dimension spread
    _, z = sampler.sample(2000, seed=0, return_latents=True)
    torch.testing.assert_close(z.mean(0), z_held_out.mean(0), atol=0.2, rtol=0)
    torch.testing.assert_close(z.std(0), z_held_out.std(0), atol=0.2, rtol=0)


def test_two_stage_reduces_its_validation_loss(fitted):
    sampler, _ = fitted("TwoStageVAESampler")
    eval_losses = [r["eval_loss"] for r in sampler.history]
    assert min(eval_losses[1:]) < eval_losses[0] - 0.5, eval_losses
    assert isinstance(sampler.density, LearnedVarianceVAE)
    assert float(sampler.density.gamma) < 1.0  # the decoder variance shrank from its initial 1


# ------------------------------------------------------------------------------- mechanics
@pytest.mark.parametrize("name", NAMES)
def test_early_stopping_when_the_loss_stalls(name):
    z = torch.randn(300, 3)
    model = _identity_ae(3)
    # a learning rate so small that no weight changes: the validation loss is flat from epoch 1
    sampler = SAMPLERS.get(name)(model, TINY[name](learning_rate=1e-30, num_epochs=50, early_stopping_patience=2))
    sampler.fit(z.numpy())
    assert len(sampler.history) == 3  # the best (first) epoch, then 2 epochs without improvement


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("training", [True, False])
def test_fit_keeps_the_model_mode_and_the_callers_rng(name, training):
    model = _identity_ae(3).train(training)
    before = _weights(model)
    z = torch.randn(50, 3)
    rng = torch.get_rng_state()
    SAMPLERS.get(name)(model, TINY[name]()).fit(z)
    assert model.training is training
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", NAMES)
def test_fit_is_reproducible_for_a_seed(name):
    z = torch.randn(60, 3)
    a = SAMPLERS.get(name)(_identity_ae(3), TINY[name](seed=4)).fit(z)
    b = SAMPLERS.get(name)(_identity_ae(3), TINY[name](seed=4)).fit(z)
    assert torch.equal(a.sample(5, seed=0), b.sample(5, seed=0))
    assert a.history == b.history


def test_holdout_split_is_deterministic_and_disjoint():
    z = torch.arange(50, dtype=torch.float32).unsqueeze(1)
    train, held = split_holdout(z, seed=3)
    assert len(train) == 45 and len(held) == 5
    assert sorted(torch.cat([train, held]).squeeze(1).tolist()) == list(range(50))
    train2, held2 = split_holdout(z, seed=3)
    assert torch.equal(held, held2) and torch.equal(train, train2)
    assert split_holdout(z[:1], seed=0)[1] is None
    assert len(split_holdout(z[:2], seed=0)[1]) == 1


@pytest.mark.parametrize("name", NAMES)
def test_without_eval_data_a_tenth_is_held_out(name):
    sampler = SAMPLERS.get(name)(_identity_ae(3), TINY[name]())
    sampler.fit(torch.randn(100, 3))
    assert "eval_loss" in sampler.history[0]


def test_flow_batch_norm_statistics_are_saved(tmp_path):
    # 101 training codes in batches of 100: the single-code last batch is dropped (batch norm needs 2)
    sampler = MAFSampler(_identity_ae(3), TINY["MAFSampler"](include_batch_norm=True, batch_size=100))
    sampler.fit(torch.randn(101, 3) * 3, eval_data=torch.randn(20, 3) * 3)
    buffers = [k for k, _ in sampler.density.named_buffers() if "running" in k]
    assert buffers  # the running statistics are part of the state
    loaded = BaseSampler.load_from_folder(sampler.save(tmp_path / "s"), sampler.model)
    for key in buffers:
        assert torch.equal(loaded.density.state_dict()[key], sampler.density.state_dict()[key])
    assert torch.equal(loaded.sample(8, seed=2), sampler.sample(8, seed=2))
    assert not torch.equal(sampler.density.state_dict()[buffers[0]], torch.zeros(3))  # statistics were tracked
    with pytest.raises(DataError, match="at least 2"):
        MAFSampler(_identity_ae(3), TINY["MAFSampler"](include_batch_norm=True)).fit_embeddings(
            torch.randn(1, 3), torch.randn(3, 3))


@pytest.mark.parametrize("name", NAMES)
def test_fit_embeddings_refuses_bad_codes(name):
    sampler = SAMPLERS.get(name)(_identity_ae(3), TINY[name]())
    with pytest.raises(DataError, match=r"\(N, 3\)"):
        sampler.fit_embeddings(torch.randn(10, 4))
    with pytest.raises(DataError, match="NaN"):
        sampler.fit_embeddings(torch.full((10, 3), float("nan")))
    with pytest.raises(DataError, match="eval_data"):
        sampler.fit_embeddings(torch.randn(10, 3), torch.randn(5, 2))
    assert not sampler.is_fitted


@pytest.mark.parametrize("name", NAMES)
def test_generation_pipeline_fits_and_samples(name, tmp_path):
    model = _identity_ae(3)
    gen = GenerationPipeline(model, sampler_config=TINY[name]())(
        num_samples=6, train_data=torch.randn(40, 3), eval_data=torch.randn(10, 3), seed=0,
        save_sampler_dir=tmp_path / "s")
    assert gen.shape == (6, 3) and torch.isfinite(gen).all()
    loaded = BaseSampler.load_from_folder(tmp_path / "s", model)
    assert torch.equal(loaded.sample(6, seed=0), gen)


def test_two_stage_second_latent_dim_and_fixed_variance():
    model = _identity_ae(4)
    config = TINY["TwoStageVAESampler"](second_stage_latent_dim=2, learn_variance=False)
    sampler = TwoStageVAESampler(model, config).fit(torch.randn(40, 4))
    assert type(sampler.density) is VAE
    assert sampler.density.latent_dim == 2 and sampler.density.input_dim == (4,)
    assert sampler.density.model_config.output_activation == "identity"
    assert TwoStageVAESampler(model, TINY["TwoStageVAESampler"]()).second_stage_latent_dim == 4


def test_learned_variance_loss_is_the_gaussian_negative_log_likelihood():
    vae = TwoStageVAESampler(_identity_ae(3), TINY["TwoStageVAESampler"]())._build_density()
    with torch.no_grad():
        vae.log_gamma.fill_(-1.3)
    mean, x = torch.randn(5, 3), torch.randn(5, 3)
    _, nll = vae.reconstruction_terms(mean, x)
    normal = torch.distributions.Normal(mean, torch.tensor(-1.3).exp().sqrt())
    torch.testing.assert_close(nll, -normal.log_prob(x).sum(1))


# ------------------------------------------------------------------------------- configs
def test_defaults_follow_appendix_c():
    for config in (MAFSamplerConfig(), IAFSamplerConfig(), TwoStageVAESamplerConfig()):
        assert (config.num_epochs, config.learning_rate, config.batch_size, config.scheduler_patience) == (
            200, 1e-4, 100, 10)
        trainer_config = config.trainer_config(torch.device("cpu"))
        assert trainer_config.output_dir is None
        assert trainer_config.scheduler == "ReduceLROnPlateau"
        assert trainer_config.scheduler_params == {"mode": "min", "factor": 0.5, "patience": 10}
    maf = MAFSamplerConfig()
    assert (maf.num_made_blocks, maf.num_made_hidden_layers, maf.hidden_size, maf.include_batch_norm) == \
        (2, 3, 128, False)
    assert TwoStageVAESamplerConfig().hidden_dims == (1024, 1024)


@pytest.mark.parametrize("config_cls, field, value", [
    (MAFSamplerConfig, "hidden_size", 0),
    (MAFSamplerConfig, "num_made_blocks", 0),
    (IAFSamplerConfig, "num_made_hidden_layers", -1),
    (IAFSamplerConfig, "include_batch_norm", "yes"),
    (MAFSamplerConfig, "num_epochs", 0),
    (IAFSamplerConfig, "learning_rate", 0.0),
    (TwoStageVAESamplerConfig, "learning_rate", float("nan")),
    (TwoStageVAESamplerConfig, "batch_size", 0),
    (MAFSamplerConfig, "scheduler_patience", -1),
    (MAFSamplerConfig, "early_stopping_patience", 0),
    (TwoStageVAESamplerConfig, "second_stage_latent_dim", 0),
    (TwoStageVAESamplerConfig, "hidden_dims", (256, 0)),
    (TwoStageVAESamplerConfig, "learn_variance", 1),
    (IAFSamplerConfig, "seed", -1),
    (TwoStageVAESamplerConfig, "show_progress", None),
])
def test_config_errors_name_the_field(config_cls, field, value):
    with pytest.raises(ConfigError, match=field):
        config_cls(**{field: value})


def test_config_json_round_trip_and_unknown_keys(tmp_path):
    config = TwoStageVAESamplerConfig(hidden_dims=(64,), num_epochs=3, early_stopping_patience=None)
    config.to_json(tmp_path / "c.json")
    assert TwoStageVAESamplerConfig.from_json(tmp_path / "c.json") == config
    (tmp_path / "bad.json").write_text(json.dumps({"hidden_size": 3, "epochs": 2}))
    with pytest.raises(ConfigError, match="epochs"):
        MAFSamplerConfig.from_json(tmp_path / "bad.json")


class _Flatten(torch.nn.Module):
    def forward(self, x):
        return x.flatten(1)


def _identity_ae(dim: int) -> AE:
    """An AE whose codes are its inputs (input_dim=(dim,)), so the data are the latent codes."""
    torch.manual_seed(0)
    return AE(AEConfig(input_dim=(dim,), latent_dim=dim, output_activation="identity"), encoder=_Flatten())
