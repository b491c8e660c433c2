"""MSSSIM-VAE (EL-VAE with a multi-scale SSIM loss) -- Snell et al., "Learning to Generate Images with
Perceptual Similarity Metrics", ICIP 2017, arXiv:1511.06409.

Objective (the expected-loss VAE of Snell et al., as written in the Pythae paper, App. D), per sample then
averaged over the batch: ``L(x) = Delta(x, D(z)) + beta * KL(q(z|x) || N(0, I))`` with the deterministic
decoder's reconstruction ``D(z)`` and ``Delta(x, x') = 1 - MS-SSIM(x, x')``. ``Delta`` is in [0, 1] and
is *not* rescaled by the number of pixels: as in App. D, ``beta`` (<= 1 in the paper's grid) sets the
balance with the KL, which is summed over latent dimensions.

MS-SSIM (Wang, Simoncelli and Bovik 2003, Eq. 7): ``prod_j cs_j ** w_j`` over the scales ``j < M`` times
``ssim_M ** w_M`` at the coarsest scale ``M``, each scale a 2x average-pooled copy of the previous one;
the SSIM/contrast-structure maps use a Gaussian window (sigma 1.5, "valid" filtering) and
``K = (0.01, 0.03)`` with data range 1. The maintained ``pytorch-msssim`` package cannot serve here: its
``ms_ssim`` asserts images larger than ``16 * (window - 1)`` pixels, too large for 28x28 or 8x8, so the
per-scale SSIM is written here (a few lines) and tested against the package on large images. Small images
get fewer scales and, if needed, a smaller window (``msssim_scales``): the window is ``window_size``, cut
to the largest odd size that fits the image, and the number of scales the largest ``M <= 5`` for which
the coarsest scale is still at least a window wide (28x28: 4 scales with window 3, 3 with 5, 2 with 11,
1 with 15; 8x8: 2 scales with window 3, 1 otherwise, window at most 7). The first ``M`` of Wang et al.'s
five weights ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)`` are used, renormalised to sum to 1 (one
scale is plain SSIM). Values are clamped below at 1e-6 before the powers (the package clamps at 0),
so that gradients stay finite. Multi-channel (RGB) images: MS-SSIM per channel, averaged.

Config fields (beyond ``VAEConfig``): ``beta`` (KL weight, default 0.01, the smallest value of the Pythae
grid, Table 17: with ``Delta`` <= 1, ``beta = 1`` prices one nat of KL like the whole reconstruction range
and the posterior collapses -- on MNIST the KL goes to 0), ``window_size`` (odd Gaussian window size,
default 11 as in Wang et al. and Pythae). ``reconstruction_loss`` does not enter the
training loss; it picks the decoder density (Gaussian or Bernoulli) that ``log_likelihood`` evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from gaekit.models.base import MODELS, StepContext
from gaekit.models.vae import VAE, VAEConfig

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, fine to coarse
WINDOW_SIGMA = 1.5
MIN_VALUE = 1e-6


def msssim_scales(height: int, width: int, window_size: int) -> tuple[int, int]:
    """``(window, number of scales)`` used for ``height x width`` images and a requested ``window_size``."""
    side = min(height, width)
    window = min(window_size, side if side % 2 else side - 1)
    levels, size = 1, side
    while levels < len(MSSSIM_WEIGHTS):
        size = (size + 1) // 2  # 2x average pooling, odd sizes padded
        if size < window:
            break
        levels += 1
    return window, levels


def _valid_filter_matrix(size: int, window: Tensor) -> Tensor:
    """The ``(size, size - w + 1)`` matrix ``M`` with ``(v @ M)[j] = sum_k window[k] v[j + k]``: "valid" filtering
    of a length-``size`` signal by the ``w`` taps of ``window``, as one matrix product."""
    out = size - window.numel() + 1
    # the taps followed by zeros, repeated with period size + 1 and read in rows of size: row j is shifted by j
    period = torch.cat([window, window.new_zeros(size + 1 - window.numel())])
    return period.repeat(out)[: out * size].view(out, size).transpose(0, 1)


# up to this image side, filtering by matrix products beats depthwise convolutions on CPUs (measured with one
# thread, forward and backward: 3-4x at 28x28, 1.5x at 64x64, about even at 128x128, 0.4x at 256x256)
MATMUL_FILTER_MAX_SIDE = 64


def _gaussian_filter(x: Tensor, window: Tensor) -> Tensor:
    """Separable "valid" Gaussian filtering of the last two dimensions of ``x`` (..., C, H, W).

    Small images: two matrix products with banded filter matrices, ``K_H^T x K_W``; larger ones: two depthwise
    convolutions of ``x`` (B, C, H, W). The same sums either way.
    """
    height, width = x.shape[-2:]
    if max(height, width) <= MATMUL_FILTER_MAX_SIDE:
        return _valid_filter_matrix(height, window).transpose(0, 1) @ (x @ _valid_filter_matrix(width, window))
    channels, size = x.shape[1], window.numel()
    x = F.conv2d(x, window.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)
    return F.conv2d(x, window.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)


def ssim_and_contrast_structure(x: Tensor, y: Tensor, window: Tensor) -> tuple[Tensor, Tensor]:
    """Mean SSIM and mean contrast-structure term per sample and channel, ``(B, C)`` each (Wang et al. 2004)."""
    c1, c2 = 0.01**2, 0.03**2
    # the five local moments: the two means, the two second moments and the cross moment
    moments = (x, y, x * x, y * y, x * y)
    if max(x.shape[-2:]) <= MATMUL_FILTER_MAX_SIDE:  # filtered as one batch of matrix products
        mu_x, mu_y, xx, yy, xy = _gaussian_filter(torch.stack(moments), window).unbind(0)
    else:
        mu_x, mu_y, xx, yy, xy = (_gaussian_filter(m, window) for m in moments)
    var_x = xx - mu_x**2
    var_y = yy - mu_y**2
    cov_xy = xy - mu_x * mu_y
    cs_map = (2 * cov_xy + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def ms_ssim(x: Tensor, y: Tensor, window_size: int = 11) -> Tensor:
    """MS-SSIM of images ``(B, C, H, W)`` (or ``(B, H, W)``) with values in [0, 1], per sample: ``(B,)``."""
    if x.shape != y.shape:
        raise ValueError(f"ms_ssim needs images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() == 3:
        x, y = x.unsqueeze(1), y.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"ms_ssim needs images (B, C, H, W) or (B, H, W), got shape {tuple(x.shape)}")
    window, levels = msssim_scales(x.shape[-2], x.shape[-1], window_size)
    weights = x.new_tensor(MSSSIM_WEIGHTS[:levels])
    weights = weights / weights.sum()
    coords = torch.arange(window, dtype=x.dtype, device=x.device) - (window - 1) / 2
    win = torch.exp(-(coords**2) / (2 * WINDOW_SIGMA**2))
    win = win / win.sum()
    factors = []
    for level in range(levels):
        ssim_per_channel, cs_per_channel = ssim_and_contrast_structure(x, y, win)
        if level < levels - 1:
            factors.append(cs_per_channel)
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    factors.append(ssim_per_channel)
    log_factors = torch.stack(factors).clamp_min(MIN_VALUE).log()  # (levels, B, C)
    return (weights.view(-1, 1, 1) * log_factors).sum(0).exp().mean(1)


@dataclass
class MSSSIM_VAEConfig(VAEConfig):
    """Config of ``MSSSIM_VAE``.

    Parameters
    ----------
    beta : float, default 0.01
        Weight of the KL term (>= 0).
    window_size : int, default 11
        Odd size of the Gaussian window of MS-SSIM; reduced for images smaller than it.
    """

    name: ClassVar[str] = "MSSSIM_VAE"
    beta: float = 0.01
    window_size: int = 11

    def _check(self) -> None:
        super()._check()
        self._require_positive("beta", allow_zero=True)
        self._require("window_size", self.window_size > 0 and self.window_size % 2 == 1, "an odd int >= 1")
        if self.input_dim is not None:
            self._require("input_dim", len(self.input_dim) in (2, 3),
                          "an image shape (channels, height, width) or (height, width) for MS-SSIM")


@MODELS.register()
class MSSSIM_VAE(VAE):
    """VAE trained with ``1 - MS-SSIM`` as reconstruction loss and a ``beta``-weighted KL."""

    config_class = MSSSIM_VAEConfig

    def reconstruction_terms(self, logits: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        recon_x = self.activate(logits)
        return recon_x, 1 - ms_ssim(recon_x, x, self.model_config.window_size)

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        return recon_loss + self.model_config.beta * kl
