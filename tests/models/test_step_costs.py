"""Issue 17's step costs: the cheaper computations of IWAE, VAEGAN and MS-SSIM give the same objective as the
plain ones (the first draw decoded once, the generator side's discriminator pass without the data's rows, MS-SSIM's
filtering as matrix products)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_model
from torch import nn

from gaekit.models import VAEGAN, StepContext
from gaekit.models.msssim_vae import _gaussian_filter
from gaekit.models.vaegan import rows_independent


def _conv_filter(x, window):
    """The plain separable "valid" filtering: two depthwise convolutions."""
    channels, size = x.shape[1], window.numel()
    x = F.conv2d(x, window.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)
    return F.conv2d(x, window.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)


@pytest.mark.parametrize("shape, size", [((3, 1, 28, 28), 11), ((2, 3, 8, 8), 3), ((2, 2, 30, 17), 5)])
def test_msssim_filtering_by_matrix_products_equals_depthwise_convolutions(shape, size):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    window = torch.rand(size, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(_gaussian_filter(x, window), _conv_filter(x, window), rtol=1e-12, atol=1e-12)
    stacked = torch.stack([x, x * x])  # the five moments are filtered as one leading batch dimension
    torch.testing.assert_close(_gaussian_filter(stacked, window)[1], _conv_filter(x * x, window), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["IWAE", "MIWAE", "CIWAE", "PIWAE"])
def test_importance_weighted_models_decode_each_draw_once(name):
    """The first draw's diagnostics (recon_x, recon_loss) reuse its decoding: one decoder call per step."""
    model = tiny_model(name)
    calls = []
    model.decoder.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    out = model(x, StepContext())
    assert calls == [model.num_draws * 5]
    with torch.no_grad():  # the diagnostics are those of decoding the first draw on its own
        recon_x, recon_loss = model.reconstruction_terms(model.decode_logits(out.z), x)
    torch.testing.assert_close(out.recon_x, recon_x)
    torch.testing.assert_close(out.recon_loss, recon_loss.mean())


class _Wrapped(nn.Module):
    """The same discriminator, as a custom module: VAEGAN cannot tell that its rows are independent."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)

    def forward_with_features(self, x):
        return self.inner.forward_with_features(x)


def _step(model, x):
    torch.manual_seed(3)
    out = model(x, StepContext(dataset_size=100))
    groups = model.parameter_groups()
    grads = {g: torch.autograd.grad(loss, groups[g], retain_graph=True, allow_unused=True)
             for g, loss in out.group_losses.items()}
    return out, grads


def test_vaegan_generator_pass_without_data_rows_gives_the_batched_objective():
    fast = tiny_model("VAEGAN")
    assert rows_independent(fast.discriminator)
    plain = tiny_model("VAEGAN", discriminator=_Wrapped(tiny_model("VAEGAN").discriminator))
    assert not rows_independent(plain.discriminator)
    plain.load_state_dict({k.replace("discriminator.", "discriminator.inner.", 1): v
                           for k, v in fast.state_dict().items()})
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    (out_fast, grads_fast), (out_plain, grads_plain) = _step(fast, x), _step(plain, x)
    assert set(out_fast.group_losses) == set(out_plain.group_losses)
    for key, value in out_plain.terms.items():
        torch.testing.assert_close(out_fast.terms[key], value)
    for g, grads in grads_plain.items():
        for a, b in zip(grads_fast[g], grads):
            torch.testing.assert_close(a, b)


def test_batch_normalised_discriminators_keep_data_and_generated_images_in_one_batch():
    assert not rows_independent(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)))
    from gaekit.nn import create_network

    celeba = create_network("convnet", (3, 64, 64), "discriminator", None, model=VAEGAN)  # BatchNorm kept
    assert not rows_independent(celeba)
