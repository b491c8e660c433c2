"""Discrete-latent models: VQ-VAE (arXiv:1711.00937), HRQ-VAE (arXiv:2203.03463) and the PixelCNN prior
(arXiv:1601.06759, 1606.05328) with its sampler."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import ConfigError
from gaekit.models import VQVAE, HRQVAEConfig, StepContext, VQVAEConfig
from gaekit.models.pixelcnn import PixelCNN, PixelCNNConfig
from gaekit.models.vq_vae import nearest_code
from gaekit.nn import create_network
from gaekit.samplers import BaseSampler, PixelCNNSampler, PixelCNNSamplerConfig


def _x(n=6, seed=0, dims=(1, 8, 8)):
    return torch.rand(n, *dims, generator=torch.Generator().manual_seed(seed))


# -- VQ-VAE ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("use_ema", [False, True])
def test_straight_through_gradient_reaches_encoder(use_ema):
    model = tiny_model("VQVAE", latent_dim=4, embedding_dim=2, use_ema=use_ema)
    out = model(_x())
    out.recon_loss.backward()  # the reconstruction alone: only the straight-through path reaches the encoder
    grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)


def test_indices_in_range_and_match_quantize():
    model = tiny_model("VQVAE", latent_dim=6, num_embeddings=5, embedding_dim=2)
    x = _x()
    model.eval()
    out = model(x)
    idx = out.quantized_indices
    assert idx.shape == (6, 3) and idx.dtype == torch.long and model.code_length == 3
    assert int(idx.min()) >= 0 and int(idx.max()) < 5
    assert torch.equal(model.quantize(x), idx)
    assert all(v.dim() == 0 for v in out.terms.values())  # terms hold scalars only
    # the code used is the nearest codebook vector of each encoder output
    v = model.encoder(x).embedding.view(6, 3, 2)
    assert torch.equal(idx, nearest_code(v.reshape(-1, 2), model.codebook).view(6, 3))
    assert torch.allclose(model.embed(x), model.codebook[idx].reshape(6, 6))


def test_ema_moves_codebook_toward_assigned_outputs_without_optimizer_gradient():
    model = tiny_model("VQVAE", latent_dim=4, embedding_dim=2, num_embeddings=4, use_ema=True, decay=0.5,
                       dead_code_threshold=0.0)
    assert not model.codebook.requires_grad
    assert all(p is not model.codebook for group in model.parameter_groups().values() for p in group)
    x = _x(32)
    with torch.no_grad():
        v = model.encoder(x).embedding.reshape(-1, 2)
    before = model.codebook.clone()
    idx = nearest_code(v, before)
    out = model(x, StepContext(training=True))
    assert torch.equal(out.quantized_indices.flatten(), idx)
    for k in idx.unique():
        target = v[idx == k].mean(0)
        assert float((model.codebook[k] - target).norm()) < float((before[k] - target).norm())
    unused = [k for k in range(4) if k not in idx.tolist()]
    assert all(torch.equal(model.codebook[k], before[k]) for k in unused)  # threshold 0: no re-seeding
    out.loss.backward()
    assert model.codebook.grad is None
    model.eval()
    frozen = model.codebook.clone()
    model(x)
    assert torch.equal(model.codebook, frozen)  # no EMA update in evaluation


def test_dead_codes_are_reseeded_from_encoder_outputs():
    model = tiny_model("VQVAE", latent_dim=2, embedding_dim=2, num_embeddings=64, use_ema=True)
    x = _x(4)
    with torch.no_grad():
        v = model.encoder(x).embedding.reshape(-1, 2)
    unused = sorted(set(range(64)) - set(nearest_code(v, model.codebook).tolist()))
    assert len(unused) > 50
    model(x, StepContext(training=True))
    # the counts start at 0: every code the batch did not use is re-seeded with one of its encoder outputs
    dist = torch.cdist(model.codebook[unused], v, compute_mode="donot_use_mm_for_euclid_dist")
    assert bool((dist.min(1).values < 1e-6).all())
    assert bool((model.ema_count[unused] == 1).all())


def test_latent_dim_must_be_divisible_by_embedding_dim():
    with pytest.raises(ConfigError, match="embedding_dim"):
        VQVAEConfig(input_dim=(1, 8, 8), latent_dim=5, embedding_dim=2).validate()


def test_spatial_vq_encoder_is_quantised_per_position():
    enc = create_network("conv", dataset=(1, 8, 8), role="encoder", latent_dim=4, model=VQVAE, channels=(4, 8))
    dec = create_network("conv", dataset=(1, 8, 8), role="decoder", latent_dim=4, model=VQVAE, channels=(4, 8))
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(input_dim=(1, 8, 8), latent_dim=4, embedding_dim=2, num_embeddings=8), enc, dec)
    x = _x()
    h, w = enc.latent_shape[1:]
    idx = model.quantize(x)
    assert idx.shape == (6, 2 * h * w)
    z = model.embed(x)
    assert z.shape == (6, 4, h, w)
    assert torch.equal(model.codes_to_latent(idx), z)
    assert model.generate(3).shape == (3, 1, 8, 8)


def test_generate_without_prior_decodes_uniform_codes():
    model = tiny_model("VQVAE", latent_dim=4, embedding_dim=2, num_embeddings=8)
    g = torch.Generator().manual_seed(3)
    z = model.sample_prior(5, generator=g)
    idx = nearest_code(z.reshape(-1, 2), model.codebook)
    assert torch.allclose(model.codebook[idx].reshape(5, 4), z)


# -- HRQ-VAE ---------------------------------------------------------------------------------------------------
def test_hrq_levels_quantise_the_residual_of_the_previous_level():
    model = tiny_model("HRQVAE", latent_dim=4, embedding_dim=2, num_embeddings=5, num_levels=3)
    v = torch.randn(3, 2, 2)
    q, idx, residuals = model._hierarchy(v, None, None)
    assert idx.shape == (3, 2, 3)
    flat_idx = idx.reshape(-1, 3)
    for d in range(3):
        assert torch.equal(flat_idx[:, d], nearest_code(residuals[d], model.codebook[d]))
        if d + 1 < 3:
            assert torch.allclose(residuals[d + 1], residuals[d] - model.codebook[d][flat_idx[:, d]])
    assert torch.allclose(q.reshape(-1, 2), sum(model.codebook[d][flat_idx[:, d]] for d in range(3)))
    # the code sequence is the path of levels, coarse to fine, and maps back to the same latent
    x = _x()
    codes = model.quantize(x)
    assert codes.shape == (6, 2 * 3) and model.code_length == 6
    assert torch.allclose(model.codes_to_latent(codes), model.embed(x))


def test_hrq_temperature_schedule():
    config = dict(temperature_init=2.0, temperature_min=0.5, temperature_decay=0.01)
    model = tiny_model("HRQVAE", latent_dim=4, embedding_dim=2, **config)
    taus = [model.temperature(StepContext(global_step=s)) for s in range(0, 1000, 50)]
    assert taus[0] == 2.0
    assert all(a >= b for a, b in zip(taus, taus[1:]))
    assert taus[-1] == 0.5 and model.temperature(None) == 0.5
    with pytest.raises(ConfigError, match="temperature_min"):
        HRQVAEConfig(input_dim=(1, 8, 8), latent_dim=4, temperature_min=3.0, temperature_init=1.0).validate()


def test_hrq_depth_dropout_only_in_training():
    model = tiny_model("HRQVAE", latent_dim=4, embedding_dim=2, num_levels=4, depth_dropout=0.6)
    mask = model.depth_mask((200, 2))
    assert bool((mask[..., 0] == 1).all())
    assert bool((mask[..., 1:] <= mask[..., :-1]).all())  # a dropped level drops every finer one
    assert 0 < float(mask[..., 1:].mean()) < 1
    x = _x()
    model.eval()
    full = model.codes_to_latent(model.quantize(x))
    for _ in range(3):
        assert torch.allclose(model(x).z, full)  # evaluation: every level, nearest codes
    model.train()
    torch.manual_seed(0)
    trained = [model(x, StepContext(training=True)).z for _ in range(3)]
    assert any(not torch.allclose(z, full) for z in trained)


# -- PixelCNN --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_pixelcnn_output_at_i_depends_only_on_inputs_before_i(kernel_size):
    torch.manual_seed(0)
    s = 7
    model = PixelCNN(PixelCNNConfig(input_dim=(s,), num_embeddings=5, num_layers=3, kernel_size=kernel_size,
                                    hidden_channels=4))
    emb = torch.randn(1, s, 4)
    jac = torch.autograd.functional.jacobian(lambda e: model.logits_from_embedded(e), emb)  # (1, K, S, 1, S, H)
    dep = jac.abs().sum(dim=(0, 1, 3, 5))  # (output position, input position)
    assert bool((dep.triu() == 0).all())  # nothing at j >= i
    if kernel_size > 1:
        assert bool((dep.tril(-1).diagonal(-1) > 0).all())  # but each output sees its predecessor


def test_pixelcnn_config_requires_odd_kernel():
    with pytest.raises(ConfigError, match="kernel_size"):
        PixelCNNConfig(input_dim=(4,), kernel_size=4).validate()


def _fitted_sampler(model_name="VQVAE", **kw):
    model = tiny_model(model_name, latent_dim=4, embedding_dim=2, num_embeddings=6, **kw)
    config = PixelCNNSamplerConfig(num_layers=2, kernel_size=3, hidden_channels=8, num_epochs=3, batch_size=16,
                                   show_progress=False)
    return PixelCNNSampler(model, config).fit(_x(40))


@pytest.mark.parametrize("model_name", ["VQVAE", "HRQVAE"])
def test_pixelcnn_sampler_seeded_partial_batches_and_save_load(model_name, tmp_path):
    sampler = _fitted_sampler(model_name)
    x, z = sampler.sample(7, batch_size=3, seed=1, return_latents=True)
    assert x.shape == (7, 1, 8, 8) and bool(torch.isfinite(x).all())
    assert torch.equal(sampler.sample(7, batch_size=3, seed=1), x)
    assert not torch.equal(sampler.sample(7, batch_size=3, seed=2), x)
    assert z.shape == (7, 4)
    sampler.save(tmp_path / "s")
    loaded = BaseSampler.load_from_folder(tmp_path / "s", sampler.model)
    assert isinstance(loaded, PixelCNNSampler)
    assert torch.equal(loaded.sample(7, batch_size=3, seed=1), x)


def test_pixelcnn_sampler_refuses_other_models():
    with pytest.raises(ConfigError, match="VQVAE"):
        PixelCNNSampler(tiny_model("AE"))


def test_pixelcnn_learns_a_deterministic_sequence():
    torch.manual_seed(0)
    model = PixelCNN(PixelCNNConfig(input_dim=(6,), num_embeddings=4, num_layers=2, kernel_size=3,
                                    hidden_channels=16))
    seq = torch.tensor([[0, 1, 2, 3, 2, 1]]).repeat(64, 1).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        model(seq).loss.backward()
        opt.step()
    samples = model.sample(20, torch.Generator().manual_seed(0))
    assert (samples == seq[:1].long()).all(1).float().mean() > 0.9


# -- learning on MNIST -------------------------------------------------------------------------------------------
def test_vqvae_uses_most_of_its_codebook_on_mnist(mnist_dir):
    """Seen: 62 of 64 codes used (EMA with data-seeded dead codes), reconstruction 0.53x the mean-image MSE."""
    from gaekit.data import load_mnist
    from gaekit.trainers import Trainer, TrainerConfig

    train = load_mnist("train", root=mnist_dir).subset(slice(0, 10_000))
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(input_dim=(1, 28, 28), latent_dim=16, embedding_dim=2, num_embeddings=64))
    Trainer(model, TrainerConfig(output_dir=None, show_progress=False, num_epochs=2, batch_size=100,
                                 learning_rate=1e-3, seed=0), train).train()
    used = model.quantize(train.as_float()[:5000]).unique().numel()
    assert used / 64 > 0.5
