"""Training throughput: gaekit's TrainingPipeline vs a minimal hand-written PyTorch loop.

Both train the same MLP VAE (784-512-16, BCE, Adam lr 1e-3, batch 100) for one epoch of
the 50k MNIST training split, in this process, alternating three times. Prints samples/s,
the median ratio gaekit / hand-written, and the peak resident-memory growth of each run.

    python benchmarks/train_throughput.py [--repeats 3] [--data-dir ../shared/datasets] [--speed-steps 30]
                                          [--busy N] [--no-speed]

``--busy N`` runs N CPU-bound processes (``benchmarks/_load.py``) beside both sides for the whole first table:
the ratio on a busy machine (issue 17). ``--no-speed`` skips the second table.

The hand-written loop is the ordinary way to write this: float data in memory, slicing a
permuted index, ``torch.optim.Adam`` with its defaults, a sigmoid decoder and
``F.binary_cross_entropy``. gaekit's speed comes from its defaults: the fused Adam kernel,
BCE from logits, a fused mean/log-variance head, uint8 data scaled per batch and no host
synchronisation in the step beyond the non-finite-loss check.

A second table measures the trainer's speed options on the paper's MNIST ConvNet (Table 5,
VAE, batch 100): fp32, ``amp`` (bf16 autocast on CPU, fp16 on CUDA), ``channels_last`` and
``compile`` (torch.compile, inductor), each for ``--speed-steps`` steps after 5 warm-up steps
(compilation happens in the warm-up), printing samples/s and the ratio to fp32 measured in the
same run. ``--speed-only`` skips the first table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gaekit.data import load_mnist
from gaekit.models import VAE, VAEConfig, create_model
from gaekit.pipelines import TrainingPipeline
from gaekit.trainers import BaseTrainerConfig, Trainer, TrainerCallback, TrainerConfig, set_seed

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmarks' shared helpers
from _load import CPUHogs  # noqa: E402
from _memory import PeakRSS  # noqa: E402

BATCH, LR, LATENT, HIDDEN = 100, 1e-3, 16, 512


class HandWrittenVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, HIDDEN), nn.ReLU())
        self.mu = nn.Linear(HIDDEN, LATENT)
        self.log_var = nn.Linear(HIDDEN, LATENT)
        self.dec = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 784), nn.Sigmoid())

    def forward(self, x):
        h = self.enc(x)
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.dec(z), mu, log_var


def hand_written_epoch(images_uint8: torch.Tensor, seed: int) -> float:
    torch.manual_seed(seed)
    x_all = images_uint8.reshape(len(images_uint8), -1).float() / 255
    model = HandWrittenVAE()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    start = time.perf_counter()
    perm = torch.randperm(len(x_all))
    for i in range(0, len(x_all), BATCH):
        x = x_all[perm[i:i + BATCH]]
        recon, mu, log_var = model(x)
        rec = F.binary_cross_entropy(recon, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp()) / len(x)
        loss = rec + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
    return len(x_all) / (time.perf_counter() - start)


def gaekit_epoch(train, seed: int) -> float:
    torch.manual_seed(seed)
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce"))
    config = BaseTrainerConfig(num_epochs=1, batch_size=BATCH, learning_rate=LR, output_dir=None,
                               show_progress=False, seed=seed)
    start = time.perf_counter()
    TrainingPipeline(training_config=config, model=model)(train_data=train)
    return len(train) / (time.perf_counter() - start)


class StepTimes(TrainerCallback):
    """Wall-clock time at the end of every step."""

    def __init__(self):
        self.times = []

    def on_step_end(self, trainer, output):
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        self.times.append(time.perf_counter())


SPEED_OPTIONS = {"fp32": {}, "amp (bf16 on CPU)": {"amp": True}, "channels_last": {"channels_last": True},
                 "compile": {"compile": True}}
WARMUP = 5


def convnet_throughput(train, steps: int, options: dict) -> float:
    """Steady-state samples/s of the paper's MNIST ConvNet VAE with the given TrainerConfig options."""
    set_seed(0)
    model = create_model("VAE", input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce", network="convnet")
    config = TrainerConfig(num_epochs=1, batch_size=BATCH, learning_rate=LR, output_dir=None, show_progress=False,
                           **options)
    timer = StepTimes()
    Trainer(model, config, train.subset(slice(0, (WARMUP + steps) * BATCH)), callbacks=[timer]).train()
    return steps * BATCH / (timer.times[-1] - timer.times[WARMUP - 1])


def speed_table(train, steps: int) -> None:
    print(f"paper ConvNet (Table 5) VAE on MNIST, batch {BATCH}, {steps} timed steps after {WARMUP} warm-up steps")
    base = None
    for name, options in SPEED_OPTIONS.items():
        rate = convnet_throughput(train, steps, options)
        base = base or rate
        print(f"  {name:18s} {rate:8.0f} samples/s   ratio to fp32 {rate / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (default: gaekit's search path)")
    parser.add_argument("--speed-steps", type=int, default=30, help="timed steps per speed option (default: 30)")
    parser.add_argument("--speed-only", action="store_true", help="only the speed-option table")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed-option table")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside the first table (default 0)")
    args = parser.parse_args()
    train = load_mnist("train", root=args.data_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(train)} MNIST images, batch {BATCH}, "
          f"{args.busy} CPU-bound process(es) beside")
    if args.speed_only:
        speed_table(train, args.speed_steps)
        return
    with CPUHogs(args.busy):
        throughput_table(train, args.repeats)
    if not args.no_speed:
        speed_table(train, args.speed_steps)


def throughput_table(train, repeats: int) -> None:
    """Alternate the hand-written loop and gaekit ``repeats`` times; print each pair and the median ratio."""
    hand_written_epoch(train.data[:2000], 0)  # warm-up of both paths (allocator, kernels)
    gaekit_epoch(train.subset(slice(0, 2000)), 0)
    ratios = []
    for r in range(repeats):
        with PeakRSS() as mem_h:
            hand = hand_written_epoch(train.data, r)
        with PeakRSS() as mem_g:
            ours = gaekit_epoch(train, r)
        ratios.append(ours / hand)
        print(f"run {r + 1}: hand-written {hand:8.0f} samples/s (peak +{mem_h.peak_mb:5.0f} MB) | "
              f"gaekit {ours:8.0f} samples/s (peak +{mem_g.peak_mb:5.0f} MB) | ratio {ours / hand:.2f}")
    median = statistics.median(ratios)
    print(f"median ratio gaekit / hand-written: {median:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}); "
          f"target >= 1.0: {'met' if median >= 1.0 else 'not met'}")


if __name__ == "__main__":
    main()
