"""The cost model per model: each gaekit model's training step time relative to the VAE's, next to its arithmetic ratio.

Issue 17, point 2: just measures and prints; it changes no model. Every model is built with gaekit's defaults
(``input_dim`` of the data, ``--latent-dim`` 16, BCE where the config has ``reconstruction_loss``, the default
``mlp`` networks with 512 hidden units) and trained by the one ``Trainer`` (Adam, lr 1e-3, batch ``--batch-size``)
for ``--warmup`` + ``--steps`` steps on the same images; the step time is the wall time of the timed steps divided
by their count. Each repeat measures the VAE and then every model, so the ratio ``measured = step(model) /
step(VAE)`` compares steps taken under the same machine load; the median over ``--repeats`` is printed.

The **arithmetic ratio** counts multiply-accumulates (MACs) per training sample. ``E``, ``D``, ``Disc`` and
``Met`` are the forward MACs per sample of the model's encoder, decoder, discriminator and RHVAE metric network,
counted by hooks on every ``Linear``/``Conv`` layer during one forward (so they follow the actual networks).
The counting rules:

- training a network on a batch costs 3x its forward (forward, then the input- and weight-gradient matmuls);
- a gradient w.r.t. the latent code inside the step (HVAE, RHVAE, RAE_GP) costs a forward and an
  input-gradient pass (2x), and differentiating it again in the training backward twice that (4x): 6x in all;
- a backward restricted to one parameter group still runs the input-gradient matmuls of everything it crosses.

The VAE's step is ``3E + 3D``; every formula in ``FORMULAS`` is divided by it. MS-SSIM's filtering is counted
(``msssim_macs``). Elementwise work (losses, KL, MMD kernels on B^2 pairs, rejection sampling, Poincare maths,
small flows) is not counted: a model whose whole extra cost is there has the ratio of its networks, and
``excess = measured / arithmetic`` shows what that uncounted work (or overhead: Python loops, host
synchronisation, recomputation) costs. An excess below 1 means the formula over-counts (large decoder batches,
as IWAE's K codes per image, run more MACs per second than the VAE's batch of 100).
Issue 17's target is ``excess <= 1.3`` or a stated reason.

    python benchmarks/model_costs.py [--models IWAE,HVAE] [--steps 30] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

import torch
from torch import nn

from gaekit.data import load_digits, load_mnist
from gaekit.models import MODELS, create_model
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig

_SAME = ("3E + 3D", lambda m, c, b: 3 * m["E"] + 3 * m["D"])
# model -> (formula as printed, cost in MACs per sample from (net MACs m, config c, batch b))
FORMULAS = {
    **{name: _SAME for name in ("AE", "VAE", "BetaVAE", "DisentangledBetaVAE", "BetaTCVAE", "InfoVAE_MMD",
                                "WAE_MMD", "RAE_L2", "SVAE", "PoincareVAE", "VAE_LinNF", "VAE_IAF", "VQVAE",
                                "HRQVAE")},
    "MSSSIM_VAE": ("3E + 3D + 3S (S: MS-SSIM's Gaussian filtering, 5 maps per scale, as gaekit computes it)",
                   lambda m, c, b: 3 * m["E"] + 3 * m["D"] + 3 * msssim_macs(c)),
    "RAE_GP": ("3E + 3D + 6D (gradient penalty on the decoder)", lambda m, c, b: 3 * m["E"] + 9 * m["D"]),
    "VAMP": ("3E (1 + C/B) + 3D (C pseudo-inputs through the encoder per step)",
             lambda m, c, b: 3 * m["E"] * (1 + c.num_components / b) + 3 * m["D"]),
    "IWAE": ("3E + 3K D", lambda m, c, b: 3 * m["E"] + 3 * c.num_importance_samples * m["D"]),
    "CIWAE": ("3E + 3K D", lambda m, c, b: 3 * m["E"] + 3 * c.num_importance_samples * m["D"]),
    "MIWAE": ("3E + 3MK D", lambda m, c, b: 3 * m["E"] + 3 * c.num_gradient_estimates * c.num_importance_samples
              * m["D"]),
    "PIWAE": ("3E + 5MK D (one forward, two group backwards through the decoder)",
              lambda m, c, b: 3 * m["E"] + 5 * c.num_gradient_estimates * c.num_importance_samples * m["D"]),
    "HVAE": ("3E + 3D + 6D (L + 1) (L leapfrog steps, L + 1 gradients of log p(x, z))",
             lambda m, c, b: 3 * m["E"] + 3 * m["D"] + 6 * m["D"] * (c.num_leapfrog_steps + 1)),
    "RHVAE": ("3E + 3D + 3Met + 6D L (F + 1) + 3 L (2F + 1) B d^2 (F fixed-point iterations; metric of B centroids)",
              lambda m, c, b: (3 * m["E"] + 3 * m["D"] + 3 * m["Met"]
                               + 6 * m["D"] * c.num_leapfrog_steps * (c.num_fixed_point_iterations + 1)
                               + 3 * c.num_leapfrog_steps * (2 * c.num_fixed_point_iterations + 1) * b
                               * c.latent_dim ** 2)),
    "FactorVAE": ("3E + 3D + 3Disc (TC term) + 3Disc (two half-batch discriminator passes)",
                  lambda m, c, b: 3 * m["E"] + 3 * m["D"] + 6 * m["Disc"]),
    "Adversarial_AE": ("3E + 3D + 9Disc (adversarial term, then prior and posterior codes)",
                       lambda m, c, b: 3 * m["E"] + 3 * m["D"] + 9 * m["Disc"]),
    "VAEGAN": ("3E + 6D + 15Disc (decoder on posterior and prior codes; Disc forward on x, x~, x_p (its own "
               "loss, backward 2x) and on x~, x_p (the encoder's and decoder's losses, an input-gradient pass each))",
               lambda m, c, b: 3 * m["E"] + 6 * m["D"] + 15 * m["Disc"]),
}


def msssim_macs(config) -> float:
    """MACs per sample of MS-SSIM's filtering: 5 maps (two means, two second moments, the cross moment) at every
    scale (each halves the sides), each filtered as gaekit does: up to ``MATMUL_FILTER_MAX_SIDE`` pixels a side by
    two products with banded ``(side, side - w + 1)`` matrices, above it by a horizontal and a vertical pass of
    the ``w`` taps."""
    from gaekit.models.msssim_vae import MATMUL_FILTER_MAX_SIDE, msssim_scales

    channels, height, width = config.input_dim
    window, levels = msssim_scales(height, width, config.window_size)
    total = 0
    for level in range(levels):
        h, w = height >> level, width >> level
        if max(h, w) <= MATMUL_FILTER_MAX_SIDE:
            total += h * w * (w - window + 1) + (h - window + 1) * h * (w - window + 1)
        else:
            total += 2 * window * h * w
    return 5 * total * channels


class MACCounter:
    """Forward multiply-accumulates of every ``Linear`` and ``Conv`` layer of a module, per sample."""

    def __init__(self, module: nn.Module):
        self.module, self.macs = module, 0

    def _hook(self, layer, inputs, output):
        if isinstance(layer, nn.Linear):
            self.macs += output.numel() * layer.in_features
        else:  # Conv / ConvTranspose: each output (input, for a transposed conv) element costs in/groups*kernel
            kernel = layer.weight[0].numel()
            self.macs += (output.numel() if not isinstance(layer, nn.modules.conv._ConvTransposeNd)
                          else inputs[0].numel() * layer.out_channels // layer.groups) * kernel

    def count(self, x: torch.Tensor) -> float:
        kinds = (nn.Linear, nn.modules.conv._ConvNd)
        handles = [m.register_forward_hook(self._hook) for m in self.module.modules() if isinstance(m, kinds)]
        try:
            with torch.no_grad():
                self.module(x)
        finally:
            for h in handles:
                h.remove()
        return self.macs / len(x)


def network_macs(model, x: torch.Tensor) -> dict[str, float]:
    """``{"E", "D", "Disc", "Met"}``: forward MACs per sample of the model's networks (0 where absent)."""
    x = x.float() / 255 if not x.dtype.is_floating_point else x
    z = torch.zeros(len(x), *getattr(model, "latent_shape", (model.latent_dim,)))
    out = {"E": MACCounter(model.encoder).count(x), "D": MACCounter(model.decoder).count(z), "Disc": 0.0,
           "Met": 0.0}
    if getattr(model, "discriminator", None) is not None:
        on_codes = type(model).__name__ in ("FactorVAE", "Adversarial_AE")
        out["Disc"] = MACCounter(model.discriminator).count(z.flatten(1) if on_codes else x)
    if getattr(model, "metric", None) is not None:
        out["Met"] = MACCounter(model.metric).count(x)
    return out


class StepClock(TrainerCallback):
    """Wall-clock time at the end of every step."""

    def __init__(self):
        self.times: list[float] = []

    def on_step_end(self, trainer, output):
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


def build(name: str, input_dim, latent_dim: int, seed: int = 0):
    fields = {f.name for f in dataclasses.fields(MODELS.get(name).config_class)}
    extra = {"reconstruction_loss": "bce"} if "reconstruction_loss" in fields and name != "VAEGAN" else {}
    torch.manual_seed(seed)
    return create_model(name, input_dim=tuple(input_dim), latent_dim=latent_dim, **extra)


def step_seconds(name: str, data, args, seed: int) -> float:
    """Mean wall time of ``args.steps`` training steps after ``args.warmup`` warm-up steps."""
    model = build(name, data.sample_shape, args.latent_dim, seed)
    config = TrainerConfig(num_epochs=1, batch_size=args.batch_size, learning_rate=1e-3, output_dir=None,
                           show_progress=False, seed=seed)
    clock = StepClock()
    Trainer(model, config, data.subset(slice(0, (args.warmup + args.steps) * args.batch_size)),
            callbacks=[clock]).train()
    return (clock.times[-1] - clock.times[args.warmup - 1]) / args.steps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(FORMULAS), help="comma-separated gaekit names (default: all)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="a seconds-long check: 3 + 2 steps, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.repeats = 3, 2, 1
    args.models = [m for m in args.models.split(",") if m and m != "VAE"]
    unknown = [m for m in args.models if m not in FORMULAS]
    if unknown:
        parser.error(f"no cost formula for {unknown}; known: {', '.join(FORMULAS)}")
    return args


def main(argv=None) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # effective only before torch's OpenMP starts
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_digits("train") if args.dataset == "digits" else load_mnist("train", root=args.data_dir)
    need = (args.warmup + args.steps) * args.batch_size
    if len(data) < need:
        raise SystemExit(f"{args.dataset} has {len(data)} images; --warmup + --steps of batch {args.batch_size} "
                         f"need {need}: lower --steps or --batch-size")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.dataset} {tuple(data.sample_shape)}, "
          f"batch {args.batch_size}, {args.steps} timed steps after {args.warmup}, {args.repeats} repeat(s), "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    step_seconds("VAE", data, args, 0)  # warm-up of the process (allocator, kernels, lazy imports)
    times: dict[str, list[float]] = {name: [] for name in ["VAE", *args.models]}
    errors: dict[str, str] = {}
    for r in range(args.repeats):
        for name in times:
            if name in errors:
                continue
            try:
                times[name].append(step_seconds(name, data, args, r))
            except Exception as err:  # reported in the table; the other models still run
                errors[name] = f"{type(err).__name__}: {str(err)[:200]}"
    x = data.get_batch(torch.arange(args.batch_size)).data
    vae_model = build("VAE", data.sample_shape, args.latent_dim)
    vae_cost = FORMULAS["VAE"][1](network_macs(vae_model, x), vae_model.model_config, args.batch_size)
    print("\n| model | step ms | measured / VAE | arithmetic / VAE | excess | target (excess <= 1.3) | "
          "formula (MACs per sample) |")
    print("|---|---|---|---|---|---|---|")
    vae_ms = [t * 1e3 for t in times["VAE"]]
    for name, seconds in times.items():
        if name in errors:
            print(f"| {name} | failed: {errors[name]} | | | | | |")
            continue
        model = build(name, data.sample_shape, args.latent_dim)
        formula, cost = FORMULAS[name]
        arithmetic = cost(network_macs(model, x), model.model_config, args.batch_size) / vae_cost
        measured = statistics.median(t / v for t, v in zip(seconds, times["VAE"]))
        print(f"| {name} | {statistics.median(seconds) * 1e3:.1f} | {measured:.2f} | {arithmetic:.2f} | "
              f"{measured / arithmetic:.2f} | {'met' if measured / arithmetic <= 1.3 else 'not met'} | {formula} |")
    macs = network_macs(vae_model, x)
    print(f"\nVAE step {statistics.median(vae_ms):.1f} ms (median of {len(vae_ms)}); networks of the VAE: "
          f"E {macs['E'] / 1e6:.3f} M, D {macs['D'] / 1e6:.3f} M MACs/sample")


if __name__ == "__main__":
    main()
