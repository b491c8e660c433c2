"""The importance-weighted family (IWAE, MIWAE, CIWAE, PIWAE): bounds, special cases, PIWAE's
split gradients, and the importance-sampled likelihood on real MNIST."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_model
from torch import nn

from gaekit.data import load_mnist
from gaekit.errors import ConfigError
from gaekit.models import IWAE, CIWAEConfig, IWAEConfig, MIWAEConfig, PIWAEConfig, _losses
from gaekit.trainers import Trainer, TrainerConfig

FAMILY = ["IWAE", "MIWAE", "CIWAE", "PIWAE"]


def _batch(n=6, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _same_weights(name, source, **overrides):
    model = tiny_model(name, **overrides)
    model.load_state_dict(source.state_dict())
    return model


def _run(model, x, seed):
    torch.manual_seed(seed)
    return model(x)


# -- the shared bound ------------------------------------------------------------------------
def test_importance_weighted_bound_is_log_mean_weight_per_group():
    log_w = torch.randn(12, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3 - 40
    torch.testing.assert_close(_losses.importance_weighted_bound(log_w)[0], log_w.exp().mean(0).log())
    grouped = _losses.importance_weighted_bound(log_w, num_groups=3)
    assert grouped.shape == (3, 5)
    for m in range(3):  # consecutive groups of K = 4 draws
        torch.testing.assert_close(grouped[m], log_w[4 * m:4 * m + 4].exp().mean(0).log())
    with pytest.raises(ValueError, match="5 equal groups"):
        _losses.importance_weighted_bound(log_w, num_groups=5)


def test_configs_validate_their_fields():
    with pytest.raises(ConfigError, match="num_importance_samples=0"):
        IWAEConfig(input_dim=(4,), num_importance_samples=0)
    with pytest.raises(ConfigError, match="num_gradient_estimates=0"):
        MIWAEConfig(input_dim=(4,), num_gradient_estimates=0)
    with pytest.raises(ConfigError, match=r"beta=1.5 is invalid: expected a number in \[0, 1\]"):
        CIWAEConfig(input_dim=(4,), beta=1.5)
    assert PIWAEConfig(input_dim=(4,)).num_gradient_estimates >= 1


# -- IWAE ------------------------------------------------------------------------------------
def test_iwae_bound_is_above_the_elbo_of_the_same_draws():
    model = tiny_model("IWAE", num_importance_samples=8)
    x = _batch()
    torch.manual_seed(0)
    _, _, _, log_w = model.importance_sample(x, 8)
    bound = _losses.importance_weighted_bound(log_w)[0]
    assert (bound >= log_w.mean(0)).all()  # Jensen, sample by sample
    out = _run(model, x, 0)
    torch.testing.assert_close(out.iwae_bound, bound.mean())
    torch.testing.assert_close(out.elbo, log_w.mean())
    torch.testing.assert_close(out.loss, -out.iwae_bound)


def test_iwae_bound_increases_with_k_in_expectation_towards_log_px():
    # a linear Gaussian decoder p(x|z) = N(Wz + b, I/2), p(z) = N(0, I): log p(x) is known exactly
    g = torch.Generator().manual_seed(0)
    weight, bias = 2 * torch.randn(4, 2, generator=g), 0.1 * torch.randn(4, generator=g)
    decoder = nn.Linear(2, 4)
    decoder.weight.data, decoder.bias.data = weight, bias
    torch.manual_seed(0)
    config = IWAEConfig(input_dim=(4,), latent_dim=2, output_activation="identity")
    model = IWAE(config, decoder=decoder)  # an untrained encoder: q(z|x) far from p(z|x)
    x = torch.randn(5, 4, generator=g)
    log_px = torch.distributions.MultivariateNormal(bias, weight @ weight.T + 0.5 * torch.eye(4)).log_prob(x)
    repeats, ks = 400, (1, 4, 16, 64)
    torch.manual_seed(1)
    with torch.no_grad():
        _, _, _, log_w = model.importance_sample(x, repeats * max(ks))
    log_w = log_w - 2 * math.log(math.pi)  # the MSE decoder's normalising constant, D/2 log(pi)
    means = torch.stack([_losses.importance_weighted_bound(log_w[:repeats * k], repeats).mean(0) for k in ks])
    assert (means.diff(dim=0) > 0).all(), means  # for every data point
    assert (means[-1] <= log_px + 0.05).all() and (log_px - means[-1] < log_px - means[0]).all()


def test_iwae_with_one_sample_is_the_vae_objective_with_a_monte_carlo_kl():
    model = tiny_model("IWAE", num_importance_samples=1)
    x = _batch()
    out = _run(model, x, 4)
    torch.manual_seed(4)  # the same noise by hand
    mean, log_var = model.posterior(x)
    z = _losses.reparameterize(mean, log_var)
    _, recon = model.reconstruction_terms(model.decode_logits(z), x)
    mc_kl = _losses.log_normal_diag(z, mean, log_var) - model.log_prior(z)
    torch.testing.assert_close(out.loss, (recon + mc_kl).mean())
    torch.testing.assert_close(out.z, z)
    torch.testing.assert_close(out.recon_loss, recon.mean())


def test_iwae_with_one_sample_equals_the_vae_loss_in_expectation():
    iwae = tiny_model("IWAE", num_importance_samples=1)
    vae = _same_weights("VAE", iwae)
    x = _batch().repeat(2000, 1, 1, 1)  # 2000 independent draws per data point
    with torch.no_grad():
        iwae_loss, vae_loss = _run(iwae, x, 5).loss, _run(vae, x, 6).loss
        torch.manual_seed(7)
        _, _, _, log_w = iwae.importance_sample(x, 1)
    stderr = log_w.std() / math.sqrt(log_w.numel())
    assert abs(iwae_loss - vae_loss) < 5 * stderr


# -- MIWAE, CIWAE ------------------------------------------------------------------------------
def test_miwae_with_one_estimate_is_the_iwae():
    miwae = tiny_model("MIWAE", num_importance_samples=5, num_gradient_estimates=1)
    iwae = _same_weights("IWAE", miwae, num_importance_samples=5)
    x = _batch()
    a, b = _run(miwae, x, 2), _run(iwae, x, 2)
    torch.testing.assert_close(a.loss, b.loss)
    torch.testing.assert_close(a.miwae_bound, b.iwae_bound)


def test_miwae_averages_m_iwae_bounds_of_disjoint_draws():
    model = tiny_model("MIWAE", num_importance_samples=3, num_gradient_estimates=4)
    x = _batch()
    out = _run(model, x, 3)
    torch.manual_seed(3)
    _, _, _, log_w = model.importance_sample(x, 12)
    w = log_w.double().exp()
    per_group = torch.stack([w[3 * m:3 * m + 3].mean(0).log() for m in range(4)])
    torch.testing.assert_close(out.miwae_bound.double(), per_group.mean(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.iwae_bound.double(), w.mean(0).log().mean(), rtol=1e-5, atol=1e-5)
    assert out.iwae_bound >= out.miwae_bound >= out.elbo


def test_ciwae_interpolates_between_the_elbo_and_the_iwae_bound():
    x = _batch()
    base = tiny_model("CIWAE", num_importance_samples=4)
    iwae = _run(_same_weights("IWAE", base, num_importance_samples=4), x, 8)
    outs = {beta: _run(_same_weights("CIWAE", base, num_importance_samples=4, beta=beta), x, 8)
            for beta in (0.0, 0.3, 1.0)}
    torch.testing.assert_close(outs[1.0].loss, -iwae.elbo)  # beta = 1: the ELBO
    torch.testing.assert_close(outs[0.0].loss, iwae.loss)  # beta = 0: the IWAE bound
    torch.testing.assert_close(outs[0.3].loss, 0.3 * outs[1.0].loss + 0.7 * outs[0.0].loss)


# -- PIWAE -------------------------------------------------------------------------------------
def _piwae_and_references():
    piwae = tiny_model("PIWAE", num_importance_samples=3, num_gradient_estimates=2)
    miwae = _same_weights("MIWAE", piwae, num_importance_samples=3, num_gradient_estimates=2)
    iwae = _same_weights("IWAE", piwae, num_importance_samples=6)
    return piwae, miwae, iwae


def _grads(params):
    return [p.grad.clone() for p in params]


def test_piwae_groups_partition_the_parameters():
    groups = tiny_model("PIWAE").parameter_groups()
    assert set(groups) == {"encoder", "decoder"}
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(tiny_model("PIWAE").parameters()))


def test_piwae_encoder_follows_miwae_and_decoder_follows_iwae_of_all_draws():
    piwae, miwae, iwae = _piwae_and_references()
    x = _batch()
    out = _run(piwae, x, 9)
    groups = piwae.parameter_groups()
    for i, g in enumerate(out.group_losses):  # as the trainer does
        out.group_losses[g].backward(inputs=groups[g], retain_graph=i == 0)
    enc, dec = _grads(groups["encoder"]), _grads(groups["decoder"])
    torch.testing.assert_close(out.loss, _run(iwae, x, 9).loss)

    _run(miwae, x, 9).loss.backward(inputs=list(miwae.encoder.parameters()))
    _run(iwae, x, 9).loss.backward(inputs=list(iwae.decoder.parameters()))
    for got, want in zip(enc, _grads(miwae.encoder.parameters())):
        torch.testing.assert_close(got, want)
    for got, want in zip(dec, _grads(iwae.decoder.parameters())):
        torch.testing.assert_close(got, want)
    # the two targets really differ for the encoder: the IWAE(M*K) gradient is another one
    iwae.zero_grad()
    _run(iwae, x, 9).loss.backward(inputs=list(iwae.encoder.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(enc, _grads(iwae.encoder.parameters())))


def test_piwae_sgd_step_through_the_trainer():
    piwae, miwae, iwae = _piwae_and_references()
    data = _batch(8, seed=4)
    config = TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=8, shuffle=False,
                           optimizer="SGD", learning_rate=0.1, seed=11, device="cpu")
    torch.manual_seed(config.seed)  # the trainer seeds torch, then the step draws the noise
    miwae(data).loss.backward(inputs=list(miwae.encoder.parameters()))
    torch.manual_seed(config.seed)
    iwae(data).loss.backward(inputs=list(iwae.decoder.parameters()))
    before = {n: p.detach().clone() for n, p in piwae.named_parameters()}
    Trainer(piwae, config, data).train()
    grads = {f"encoder.{n}": p.grad for n, p in miwae.encoder.named_parameters()}
    grads |= {f"decoder.{n}": p.grad for n, p in iwae.decoder.named_parameters()}
    for name, p in piwae.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] - 0.1 * grads[name])


# -- importance-sampled likelihood ---------------------------------------------------------
@pytest.mark.parametrize("name", FAMILY)
def test_log_likelihood_works_for_the_family(name):
    model = tiny_model(name)
    x = _batch()
    ll = model.log_likelihood(x, num_importance_samples=30, generator=torch.Generator().manual_seed(0))
    assert ll.shape == (6,) and torch.isfinite(ll).all()
    assert model.training


def test_log_likelihood_is_the_normalised_iwae_bound():
    model = tiny_model("IWAE", num_importance_samples=20)  # MSE decoder: log p(x|z) has the constant -D/2 log(pi)
    x = _batch()
    model.eval()
    out = _run(model, x, 12)
    ll = model.log_likelihood(x, 20, generator=torch.Generator().manual_seed(12))
    torch.testing.assert_close(ll.mean(), out.iwae_bound - 0.5 * 64 * math.log(math.pi))


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    train = load_mnist("train", root=mnist_dir).subset(slice(0, 10_000))
    test = load_mnist("test", root=mnist_dir).subset(slice(0, 1_000))
    return train, test.data.float() / 255


def _train(model, train, num_epochs=2):
    config = TrainerConfig(output_dir=None, show_progress=False, num_epochs=num_epochs, batch_size=100,
                           learning_rate=1e-3, seed=0, device="cpu")
    Trainer(model, config, train).train()
    return model.eval()


def test_vae_log_likelihood_on_mnist_is_below_the_negative_elbo_and_tightens(mnist):
    from gaekit.models import VAE, VAEConfig

    train, x = mnist
    torch.manual_seed(0)
    model = _train(VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce")), train)
    nll = {k: -model.log_likelihood(x, k, generator=torch.Generator().manual_seed(k)).mean().item()
           for k in (1, 10, 100)}
    with torch.no_grad():
        torch.manual_seed(1)
        neg_elbo = model(x).loss.item()  # reconstruction + closed-form KL: the VAE's negative ELBO
    assert all(math.isfinite(v) for v in nll.values())
    assert nll[100] <= neg_elbo
    assert nll[1] > nll[10] > nll[100]
