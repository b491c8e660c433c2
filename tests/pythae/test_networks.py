"""Pythae-style networks in gaekit models: ModelOutput-returning encoders and decoders (a decoder ending in
nn.Sigmoid read exactly), Pythae's own default networks, and gaekit's model outputs read as ``out["loss"]``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gaekit.errors import ConfigError
from gaekit.models import VAE, create_model
from gaekit.models.pythae_networks import (
    BaseDecoder,
    BaseDiscriminator,
    BaseEncoder,
    BaseMetric,
    ModelOutput,
    discriminator_logits,
    metric_output,
)
from gaekit.trainers import Trainer, TrainerConfig

INPUT_DIM, LATENT = (1, 8, 8), 3


class Encoder(BaseEncoder):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU())
        self.embedding, self.log_var = nn.Linear(32, LATENT), nn.Linear(32, LATENT)

    def forward(self, x):
        h = self.body(x)
        return ModelOutput(embedding=self.embedding(h), log_covariance=self.log_var(h))


class Decoder(BaseDecoder):
    """Pythae's decoder contract: probabilities, the last layer an nn.Sigmoid."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(LATENT, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, z):
        return ModelOutput(reconstruction=self.layers(z).reshape(z.shape[0], *INPUT_DIM))


class FunctionalSigmoidDecoder(BaseDecoder):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(LATENT, 64)

    def forward(self, z):
        return {"reconstruction": torch.sigmoid(self.linear(z)).view(-1, *INPUT_DIM)}


def _data(n=32):
    return (torch.rand(n, *INPUT_DIM, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def test_model_output_behaves_as_pythaes():
    from pythae.models.base.base_utils import ModelOutput as PythaeModelOutput

    for cls in (ModelOutput, PythaeModelOutput):
        out = cls(embedding=1, log_covariance=2)
        out["extra"] = 3
        out.late = 4
        assert (out.embedding, out["log_covariance"], out.extra, out["late"]) == (1, 2, 3, 4)
        assert (out[0], out[-1], out.to_tuple(), list(out.keys())) == (1, 4, (1, 2, 3, 4),
                                                                       ["embedding", "log_covariance", "extra", "late"])
        assert isinstance(out, dict) and "extra" in out
    with pytest.raises(AttributeError, match="no entry 'missing'"):
        _ = ModelOutput(a=1).missing


def test_pythae_style_networks_drive_a_gaekit_model_exactly():
    torch.manual_seed(0)
    encoder, decoder = Encoder(), Decoder()
    model = VAE(VAE.config_class(input_dim=INPUT_DIM, latent_dim=LATENT, reconstruction_loss="bce"),
                encoder=encoder, decoder=decoder)
    x, z = _data(8), torch.randn(5, LATENT)
    out = encoder(x)
    assert torch.equal(model.encode(x).embedding, out.embedding)
    assert torch.equal(model.encode(x).log_covariance, out.log_covariance)
    with torch.no_grad():
        probabilities = decoder(z).reconstruction
        # the model reads the sigmoid's input as its logits: its own sigmoid gives the decoder's values
        logits = model.decode_logits(z)
        assert torch.equal(torch.sigmoid(logits), probabilities)
        assert torch.allclose(model.decode(z), probabilities)
        assert not torch.allclose(logits, probabilities)
    model_identity = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT, output_activation="identity",
                                  encoder=Encoder(), decoder=decoder)
    assert torch.equal(model_identity.decode(z), decoder(z).reconstruction)  # no second activation
    trainer = Trainer(model, TrainerConfig(output_dir=None, num_epochs=1, batch_size=16, show_progress=False),
                      train_data=_data())
    trainer.train()
    assert torch.isfinite(torch.tensor(trainer.state.history[-1]["train_loss"]))


def test_pythaes_own_default_networks_plug_into_gaekit_models():
    from pythae.models import VAEConfig
    from pythae.models.nn.default_architectures import Decoder_AE_MLP, Encoder_VAE_MLP

    config = VAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT)
    encoder, decoder = Encoder_VAE_MLP(config), Decoder_AE_MLP(config)
    model = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT, encoder=encoder, decoder=decoder)
    x = _data(4)
    with torch.no_grad():
        assert torch.equal(model.reconstruct(x), decoder(encoder(x).embedding).reconstruction)
    loss = model(x).loss
    loss.backward()
    assert torch.isfinite(loss) and encoder.embedding.weight.grad is not None


def test_dict_encoders_are_read_and_unreadable_outputs_say_what_is_expected():
    class DictEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(64, 2 * LATENT)

        def forward(self, x):
            mean, log_var = self.linear(x.flatten(1)).chunk(2, dim=-1)
            return {"embedding": mean, "log_covariance": log_var, "embedding_layer_1": mean}

    model = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT, encoder=DictEncoder())
    assert model.encode(_data(2)).log_covariance.shape == (2, LATENT)

    class NoEmbedding(nn.Module):
        def forward(self, x):
            return {"mu": x.flatten(1)[:, :LATENT]}

    bad = create_model("AE", input_dim=INPUT_DIM, latent_dim=LATENT, encoder=NoEmbedding())
    with pytest.raises(TypeError, match=r"must hold an 'embedding' tensor.*got keys \['mu'\]"):
        bad.encode(_data(2))

    class NoReconstruction(nn.Module):
        def forward(self, z):
            return {"recon": z}

    bad = create_model("AE", input_dim=INPUT_DIM, latent_dim=LATENT, decoder=NoReconstruction())
    with pytest.raises(TypeError, match=r"mapping with a 'reconstruction' tensor"):
        bad.decode(torch.zeros(2, LATENT))


def test_a_functional_sigmoid_decoder_is_refused_with_what_to_change():
    model = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT, reconstruction_loss="bce",
                         decoder=FunctionalSigmoidDecoder())
    with pytest.raises(ConfigError, match=r"torch\.sigmoid.*applied twice.*return the logits.*nn\.Sigmoid module"):
        model(_data(4))


def test_the_bases_say_what_forward_returns():
    for base, returns in ((BaseEncoder, "embedding="), (BaseDecoder, "reconstruction="),
                          (BaseDiscriminator, "embedding="), (BaseMetric, "L=")):
        class Net(base):
            pass

        with pytest.raises(NotImplementedError, match=f"{base.__name__} subclass defines forward returning "
                                                      f"ModelOutput\\({returns}"):
            Net()(torch.zeros(1))


def test_gaekit_model_outputs_read_as_pythaes():
    out = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT)(_data(4))
    assert out["loss"] is out.loss and out["recon_x"] is out.recon_x and out["z"] is out.z
    assert out["kl"] is out.kl is out.terms["kl"]
    # Pythae's reg_loss: what the loss adds to the reconstruction term (the VAE's KL)
    rounding = 1e-5 * out.loss.detach().abs().item()  # reg_loss = loss - recon_loss, computed from a sum
    assert torch.allclose(out["reg_loss"], out.kl, atol=rounding)
    assert torch.allclose(out.reg_loss + out.recon_loss, out.loss, atol=rounding)
    with pytest.raises(KeyError, match="no field or loss term 'nope'"):
        out["nope"]


def test_gaekit_models_take_pythaes_method_keywords():
    """Pythae's README calls ``interpolate(starting_inputs, ending_inputs, granularity=10)``."""
    model = create_model("VAE", input_dim=INPUT_DIM, latent_dim=LATENT).eval()
    a, b = _data(3), _data(3)
    assert torch.equal(model.interpolate(starting_inputs=a, ending_inputs=b, granularity=4),
                       model.interpolate(a, b, steps=4))
    assert model.interpolate(a, b, granularity=5).shape == (3, 5, *INPUT_DIM)


def test_pythaes_discriminators_and_metrics_are_read_exactly():
    from pythae.models import RHVAEConfig, VAEGANConfig
    from pythae.models.nn.default_architectures import Discriminator_MLP, Metric_MLP

    torch.manual_seed(0)
    discriminator = Discriminator_MLP(VAEGANConfig(input_dim=INPUT_DIM, latent_dim=LATENT,
                                                   discriminator_input_dim=INPUT_DIM))
    x = _data(6)
    logits = discriminator_logits(discriminator, x)
    assert torch.equal(torch.sigmoid(logits), discriminator(x).embedding)
    gaekit_discriminator = nn.Linear(64, 1)
    assert torch.equal(discriminator_logits(gaekit_discriminator, x.flatten(1)), gaekit_discriminator(x.flatten(1)))
    metric = Metric_MLP(RHVAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT))
    assert torch.equal(metric_output(metric(x)), metric(x).L)
    with pytest.raises(TypeError, match=r"ModelOutput\(L=\.\.\.\)"):
        metric_output({"M": x})
