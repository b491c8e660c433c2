"""Wasserstein autoencoder with an MMD penalty (WAE-MMD) -- Tolstikhin et al., "Wasserstein
Auto-Encoders", ICLR 2018, arXiv:1711.01558.

Objective (Algorithm 2, the MMD-based WAE: the penalised WAE objective with ``D_Z = MMD_k``),
with a deterministic encoder ``z = E(x)`` as the authors recommend:
``L = reconstruction_loss_scale * mean_i rec(x_i, D(z_i)) + reg_weight * MMD_u^2({z_i}, {z~_i})``
where ``z~_1..z~_B ~ N(0, I)`` are drawn afresh for every batch and ``MMD_u^2`` is the unbiased
U-statistic (``_losses.mmd_unbiased``). Kernels (IMQ: Sec. 4; the sum over scales and the RBF
as in the Pythae paper, Appendix D), with
``C = 2 * latent_dim * kernel_bandwidth^2``: IMQ ``sum_s s*C / (s*C + ||z - z'||^2)`` and RBF
``sum_s exp(-||z - z'||^2 / (s*C))``.

Config fields (beyond the AE's):
    kernel_choice : "imq" or "rbf", default "imq".
    kernel_bandwidth : float, default 1.0 -- sigma in C = 2 d sigma^2.
    scales : tuple of float or None, default None -- the kernel's scales s; None means
        (0.1, 0.2, 0.5, 1, 2, 5, 10) for IMQ and the single scale (1,) for RBF, i.e. exactly the
        kernels of the Pythae appendix; given scales are used by either kernel.
    reg_weight : float, default 1.0 -- lambda, the weight of the MMD (Pythae grid: 1e-2-100).
    reconstruction_loss_scale : float, default 1.0 -- weight of the reconstruction term.

``MMDKernelFields`` and ``MMDPenalty`` hold the kernel fields, their checks and the MMD to the
standard normal prior; ``InfoVAE_MMD`` reuses both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal

from torch import Tensor

from gaekit.models import _losses, step
from gaekit.models.ae import AE, AEConfig
from gaekit.models.base import MODELS, ModelOutput, StepContext


@dataclass
class MMDKernelFields:
    """Config mixin: the MMD kernel fields shared by ``WAE_MMDConfig`` and ``InfoVAE_MMDConfig``.

    Put it before the model's base config: ``class C(MMDKernelFields, AEConfig)``.
    """

    kernel_choice: Literal["imq", "rbf"] = "imq"
    kernel_bandwidth: float = 1.0
    scales: tuple[float, ...] | None = None

    def _check(self) -> None:
        super()._check()
        self._require_positive("kernel_bandwidth")
        if self.scales is not None:
            self._require("scales", len(self.scales) > 0 and all(s > 0 and s < float("inf") for s in self.scales),
                          "None or a non-empty tuple of finite numbers > 0")

    def kernel_scales(self) -> tuple[float, ...]:
        """The scales used: ``scales``, or the kernel's default when it is None."""
        if self.scales is not None:
            return tuple(self.scales)
        return _losses.IMQ_SCALES if self.kernel_choice == "imq" else (1.0,)


class MMDPenalty:
    """Model mixin: ``mmd_to_prior(z)``, the unbiased MMD^2 between codes and as many N(0, I) draws."""

    def mmd_kernel(self):
        """The configured kernel ``k(a, b) -> (N, M)``, with ``C = 2 * latent_dim * kernel_bandwidth^2``."""
        config = self.model_config
        c = 2.0 * config.latent_dim * config.kernel_bandwidth ** 2
        fn = _losses.imq_kernel if config.kernel_choice == "imq" else _losses.rbf_kernel
        return partial(fn, c=c, scales=config.kernel_scales())

    def mmd_to_prior(self, z: Tensor, prior_z: Tensor | None = None, ctx: StepContext | None = None) -> Tensor:
        """``MMD_u^2`` between ``z`` (B, L) and ``prior_z`` (default: ``B`` fresh draws from N(0, I), drawn
        from the step's context ``ctx``)."""
        if prior_z is None:
            prior_z = step.randn_like(z, ctx)
        return _losses.mmd_unbiased(z, prior_z, self.mmd_kernel())


@dataclass
class WAE_MMDConfig(MMDKernelFields, AEConfig):  # noqa: N801 - the model's name
    """Config of ``WAE_MMD``.

    Parameters
    ----------
    kernel_choice : {"imq", "rbf"}, default "imq"
    kernel_bandwidth : float, default 1.0
        sigma in ``C = 2 * latent_dim * sigma^2`` (> 0).
    scales : tuple of float, optional
        Kernel scales; None: (0.1, 0.2, 0.5, 1, 2, 5, 10) for IMQ, (1,) for RBF.
    reg_weight : float, default 1.0
        Weight lambda of the MMD penalty (>= 0).
    reconstruction_loss_scale : float, default 1.0
        Weight of the reconstruction loss (>= 0).
    """

    name: ClassVar[str] = "WAE_MMD"
    reg_weight: float = 1.0
    reconstruction_loss_scale: float = 1.0

    def _check(self) -> None:
        super()._check()
        self._require_positive("reg_weight", "reconstruction_loss_scale", allow_zero=True)


WAE_MMD_Config = WAE_MMDConfig  # Pythae's (and gaekit's former) name


@MODELS.register()
class WAE_MMD(MMDPenalty, AE):  # noqa: N801 - the model's name
    """Deterministic autoencoder whose aggregate posterior is pulled to N(0, I) by an MMD penalty."""

    config_class = WAE_MMDConfig

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        out = super().forward(batch, ctx)
        mmd = self.mmd_to_prior(out.z, ctx=ctx)
        c = self.model_config
        out.loss = c.reconstruction_loss_scale * out.loss + c.reg_weight * mmd
        out.terms["mmd"] = mmd
        return out
