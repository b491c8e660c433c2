"""Adversarial models (Adversarial_AE, FactorVAE, VAEGAN): per-group gradients through the trainer,
detached discriminator inputs, FactorVAE's batch order and dimension-wise permutation, VAEGAN's
equilibrium rule, and save/load of every network including a custom discriminator."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model
from torch import nn

from gaekit.errors import CheckpointError, ConfigError
from gaekit.models import VAEGAN, AutoModel, FactorVAE, StepContext
from gaekit.models._losses import bce_with_logits_target, permute_dims
from gaekit.trainers import Trainer, TrainerConfig

ADVERSARIAL = ["Adversarial_AE", "FactorVAE", "VAEGAN"]


def _data(n=12, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


class ConstantLogitDiscriminator(nn.Module):
    """A discriminator on images whose logit is one learnable constant ``c``: ``D(.) = sigmoid(c)`` for
    data and generated images alike; its one feature layer is a linear map of the input."""

    def __init__(self, input_dim=(1, 8, 8), logit: float = 0.0):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(float(logit)))
        self.lin = nn.Linear(int(torch.tensor(input_dim).prod()), 5)

    def forward_with_features(self, x):
        return self.c.expand(len(x), 1), [self.lin(x.flatten(1))]

    def forward(self, x):
        return self.forward_with_features(x)[0]


def _custom_discriminator(name, latent_dim=3):
    if name == "VAEGAN":
        return ConstantLogitDiscriminator(logit=0.1)
    return nn.Sequential(nn.Linear(latent_dim, 7), nn.Tanh(), nn.Linear(7, 1))


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_each_group_moves_only_by_its_own_loss(name):
    """One trainer step with SGD: each group's update is -lr * the autograd gradient of that group's loss
    alone; groups without a loss this step do not move; the discriminator's loss gives the encoder and
    decoder no gradient (its generator-side inputs are detached)."""
    model = tiny_model(name)
    lr = 0.05
    groups = model.parameter_groups()
    expected: dict[str, list[torch.Tensor]] = {}
    inner_forward = model.forward

    def recording_forward(batch, ctx=None):
        out = inner_forward(batch, ctx)
        for g, params in groups.items():
            if g not in out.group_losses:
                expected[g] = [torch.zeros_like(p) for p in params]
                continue
            grads = torch.autograd.grad(out.group_losses[g], params, retain_graph=True, allow_unused=True)
            expected[g] = [torch.zeros_like(p) if gr is None else gr.detach().clone() for p, gr in zip(params, grads)]
        if "discriminator" in out.group_losses:
            others = [p for g, ps in groups.items() if g != "discriminator" for p in ps]
            leaked = torch.autograd.grad(out.group_losses["discriminator"], others, retain_graph=True,
                                         allow_unused=True)
            assert all(gr is None or not gr.any() for gr in leaked), "discriminator loss reached the autoencoder"
        return out

    model.forward = recording_forward
    before = {g: [p.detach().clone() for p in ps] for g, ps in groups.items()}
    config = TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=12, optimizer="SGD",
                           learning_rate=lr, seed=0)
    Trainer(model, config, _data()).train()
    assert set(expected) == set(groups)
    for g, params in groups.items():
        assert any(e.abs().sum() > 0 for e in expected[g]) or name == "VAEGAN"
        for p, p0, e in zip(params, before[g], expected[g]):
            torch.testing.assert_close(p.detach(), p0 - lr * e, rtol=1e-5, atol=1e-6)


def test_factor_vae_embed_and_reconstruct_cover_the_batch_in_order():
    model = tiny_model("FactorVAE")
    x = _data(7)  # odd size: the halves used by the discriminator differ in size
    with torch.no_grad():
        mean = model.encoder(x).embedding
    torch.testing.assert_close(model.embed(x), mean)
    torch.testing.assert_close(model.embed(x.flip(0)), mean.flip(0))
    torch.testing.assert_close(model.reconstruct(x), model.decode(mean).detach())
    out = model(x)
    assert out.recon_x.shape == x.shape and out.z.shape == (7, 3)
    torch.testing.assert_close(out.recon_x, model.decode(out.z))


def test_permute_dims_permutes_each_dimension_independently():
    b, dims = 50, 4
    z = torch.arange(b * dims, dtype=torch.float32).view(b, dims)  # entry (i, j) = i * dims + j
    out = permute_dims(z, StepContext(generator=torch.Generator().manual_seed(0)))
    assert out.shape == z.shape
    perms = ((out - torch.arange(dims)) / dims).long()  # row of z each entry came from, per column
    assert torch.equal((out - torch.arange(dims)) % dims, torch.zeros_like(out))  # columns stay in place
    for j in range(dims):
        assert torch.equal(perms[:, j].sort().values, torch.arange(b)), "each column is a permutation"
        assert not torch.equal(perms[:, j], torch.arange(b))
    assert len({tuple(perms[:, j].tolist()) for j in range(dims)}) == dims, "one permutation per dimension"
    assert torch.equal(out, permute_dims(z, StepContext(generator=torch.Generator().manual_seed(0))))
    assert torch.equal(permute_dims(z[:1]), z[:1])


def test_factor_vae_default_discriminator_is_the_papers_mlp():
    model = FactorVAE(FactorVAE.config_class(input_dim=(1, 8, 8), latent_dim=4))
    linears = [m for m in model.discriminator.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 1000)] + [(1000, 1000)] * 5 + [(1000, 1)]
    slopes = [m.negative_slope for m in model.discriminator.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 6
    aae = tiny_model("Adversarial_AE")
    assert [(m.in_features, m.out_features) for m in aae.discriminator.modules() if isinstance(m, nn.Linear)] \
        == [(3, 256), (256, 1)]


@pytest.mark.parametrize("real, fake, expected", [
    (0.69, 0.69, (True, True)),     # inside the band: train both
    (0.10, 0.69, (True, False)),    # discriminator already wins on data: pause it
    (0.69, 0.20, (True, False)),    # ... or on generated images
    (1.50, 0.69, (False, True)),    # discriminator is losing: pause the decoder
    (0.69, 1.20, (False, True)),
    (0.10, 1.50, (True, True)),     # both rules fire: train both
])
def test_vaegan_equilibrium_rule(real, fake, expected):
    assert VAEGAN.equilibrium_rule(real, fake, equilibrium=0.68, margin=0.4) == expected


@pytest.mark.parametrize("logit, equilibrium, margin, groups", [
    (0.0, 0.68, 0.4, {"encoder", "decoder", "discriminator"}),  # real = fake = log 2
    (0.9, 0.68, 0.4, {"encoder", "discriminator"}),             # fake BCE softplus(0.9) = 1.24 > 1.08
    (-0.9, 0.68, 0.4, {"encoder", "discriminator"}),            # real BCE 1.24 > 1.08
    (0.5, 1.0, 0.5, {"encoder", "decoder"}),                    # real BCE softplus(-0.5) = 0.47 < 0.5
])
def test_vaegan_forward_drops_the_groups_the_rule_switches_off(logit, equilibrium, margin, groups):
    model = tiny_model("VAEGAN", equilibrium=equilibrium, margin=margin)
    model.discriminator = ConstantLogitDiscriminator(logit=logit)
    out = model(_data(6))
    real = float(bce_with_logits_target(torch.tensor([[logit]]), 1))
    fake = float(bce_with_logits_target(torch.tensor([[logit]]), 0))
    torch.testing.assert_close(out.real_bce, torch.tensor(real))
    torch.testing.assert_close(out.fake_bce, torch.tensor(fake))
    assert set(out.group_losses) == groups


def test_vaegan_reconstruction_layer_is_checked():
    model = tiny_model("VAEGAN", reconstruction_layer=2)  # the default MLP discriminator has one layer
    with pytest.raises(ConfigError, match="reconstruction_layer=2.*1 feature layer"):
        model(_data(4))
    with pytest.raises(ConfigError, match="reconstruction_loss='bce'.*reconstruction_layer != 0"):
        VAEGAN.config_class(input_dim=(1, 8, 8), reconstruction_loss="bce")


@pytest.mark.parametrize("kind", ["mse", "bce"])
def test_vaegan_layer_zero_is_the_pixel_reconstruction_loss(kind):
    model = tiny_model("VAEGAN", reconstruction_layer=0, reconstruction_loss=kind)
    x = _data(6)
    torch.manual_seed(0)
    out = model(x)
    logits = model.decode_logits(out.z)
    torch.testing.assert_close(out.recon_loss, model.reconstruction_terms(logits, x)[1].mean())


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_save_load_round_trips_every_network_with_a_custom_discriminator(name, tmp_path):
    torch.manual_seed(0)
    model = tiny_model(name)
    model = type(model)(model.model_config, discriminator=_custom_discriminator(name))
    Trainer(model, TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=6), _data()).train()
    model.save(tmp_path / "m")
    with pytest.raises(CheckpointError, match="discriminator"):
        AutoModel.load_from_folder(tmp_path / "m")
    torch.manual_seed(1)  # the new instance starts from other weights
    loaded = AutoModel.load_from_folder(tmp_path / "m", discriminator=_custom_discriminator(name))
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert set(state) == set(loaded_state) and any(k.startswith("discriminator.") for k in state)
    assert all(torch.equal(state[k], loaded_state[k]) for k in state)
    x = _data(5)
    torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_default_discriminator_is_saved_with_the_model(name, tmp_path):
    model = tiny_model(name)
    Trainer(model, TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=6), _data()).train()
    model.save(tmp_path / "m")
    torch.manual_seed(123)
    loaded = AutoModel.load_from_folder(tmp_path / "m")
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
