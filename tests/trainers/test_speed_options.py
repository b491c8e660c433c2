"""Speed options of the trainer: mixed precision (fp32 losses), channels_last and torch.compile."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.data import load_mnist
from gaekit.errors import ConfigError
from gaekit.models import VAE, StepContext, VAEConfig
from gaekit.nn import create_network
from gaekit.trainers import Trainer, TrainerConfig, set_seed
from gaekit.trainers.precision import NetworkAutocast


def _config(**kw):
    base = {"output_dir": None, "num_epochs": 1, "batch_size": 32, "learning_rate": 1e-3, "show_progress": False}
    return TrainerConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist("train", root=mnist_dir).subset(slice(0, 64))


def _paper_convnet_vae(seed=0):
    set_seed(seed)
    nets = {role: create_network("convnet", "mnist", role, 16, model=VAE) for role in ("encoder", "decoder")}
    return VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce"), **nets)


def test_bf16_autocast_keeps_the_bce_loss_in_fp32_and_close_to_fp32(mnist):
    set_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce"))
    x = mnist.data[:32].float() / 255
    ctx = StepContext(epoch=0, global_step=0, num_epochs=1, dataset_size=32, training=True)
    torch.manual_seed(1)
    reference = model(x, ctx)
    inside = []  # dtype of a layer inside the decoder: the networks do run in bf16
    linear = next(m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear))
    linear.register_forward_hook(lambda module, args, out: inside.append(out.dtype))
    torch.manual_seed(1)
    with NetworkAutocast(model, torch.device("cpu")):
        mixed = model(x, ctx)
        assert model.encoder(x).embedding.dtype == torch.float32  # network outputs come back as fp32
    assert inside[-1] == torch.bfloat16
    assert mixed.recon_x.dtype == torch.float32
    for key in ("recon_loss", "kl"):
        assert mixed.terms[key].dtype == torch.float32
        assert torch.isfinite(mixed.terms[key])
        assert mixed.terms[key].item() == pytest.approx(reference.terms[key].item(), rel=2e-2)
    assert mixed.loss.item() == pytest.approx(reference.loss.item(), rel=1e-2)
    mixed.loss.backward()  # gradients flow through the fp32 casts into the bf16 networks
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_amp_dtype_is_checked():
    with pytest.raises(ConfigError, match="amp_dtype.*amp is False"):
        _config(amp_dtype="bfloat16")
    with pytest.raises(ConfigError, match="amp_dtype"):
        _config(amp=True, amp_dtype="float8")
    with pytest.raises(ConfigError, match="float16.*needs a CUDA device"):
        Trainer(tiny_model("VAE"), _config(amp=True, amp_dtype="float16", device="cpu"), torch.rand(8, 1, 8, 8))


def test_channels_last_trains_the_paper_convnet_one_epoch(mnist):
    model = _paper_convnet_vae()
    record = Trainer(model, _config(channels_last=True), mnist).train()[0]
    conv = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    reference = _paper_convnet_vae()
    expected = Trainer(reference, _config(), mnist).train()[0]
    assert record["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-4)  # same maths, other layout


def test_channels_last_is_refused_for_flat_data():
    with pytest.raises(ConfigError, match="channels_last.*input_dim"):
        Trainer(tiny_model("VAE", input_dim=(64,)), _config(channels_last=True), torch.rand(8, 64))


def test_compile_compiles_every_network_and_trains_one_epoch():
    graphs = []

    def counting_backend(gm, example_inputs):  # a torch.compile backend that runs the graph as traced
        graphs.append(gm)
        return gm.forward

    data = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    model = tiny_model("VAE", reconstruction_loss="bce")
    record = Trainer(model, _config(compile=True, compile_options={"backend": counting_backend}), data).train()[0]
    assert len(graphs) >= 2  # encoder and decoder were traced
    expected = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(), data).train()[0]
    assert record["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-5)


def test_compile_options_are_checked():
    with pytest.raises(ConfigError, match="compile_options.*unknown.*'speed'"):
        _config(compile=True, compile_options={"speed": 11})
    with pytest.raises(ConfigError, match="compile is False"):
        _config(compile_options={"mode": "reduce-overhead"})


@pytest.mark.slow  # inductor's first compilation takes ~15 s on 2 cores
@pytest.mark.parametrize("amp", [False, True])
def test_compile_with_inductor_trains_one_epoch(amp):
    data = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    record = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(compile=True, amp=amp), data).train()[0]
    expected = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(amp=amp), data).train()[0]
    assert record["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-3)
