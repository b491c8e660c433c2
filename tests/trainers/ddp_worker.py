"""One process of the data-parallel tests (``test_distributed.py``).

Started twice with torchrun's environment variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT):
``python ddp_worker.py OUT MNIST_DIR``. Trains the scenarios below on a gloo group and writes the
weights and buffers the tests compare to ``OUT/rank<r>/<scenario>.safetensors``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from gaekit.data import load_mnist
from gaekit.models import RHVAE, VAE, VQVAE, RHVAEConfig, VAEConfig, VQVAEConfig
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig, set_seed

N_TRAIN, N_EVAL, BATCH = 600, 100, 51  # 12 steps; uneven shards (26/25) and a last batch of 39 (20/19)
STOP_STEP = 17  # mid second epoch


def mnist(data_dir: str):
    train = load_mnist("train", root=data_dir).subset(slice(0, N_TRAIN))
    return train, load_mnist("validation", root=data_dir).subset(slice(0, N_EVAL))


def vae() -> VAE:
    set_seed(0)
    return VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=4, reconstruction_loss="bce"))


def config(out: Path | None, **overrides) -> TrainerConfig:
    base = {"output_dir": None if out is None else str(out), "num_epochs": 1, "batch_size": BATCH,
            "learning_rate": 1e-3, "show_progress": False, "seed": 3}
    return TrainerConfig(**{**base, **overrides})


class StopAt(TrainerCallback):
    on_all_ranks = True  # every process must stop at the same step

    def on_step_end(self, trainer, output):
        if trainer.state.global_step == STOP_STEP:
            raise KeyboardInterrupt


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def main(out: Path, data_dir: str) -> None:
    train, val = mnist(data_dir)
    mine = out / f"rank{os.environ['RANK']}"
    mine.mkdir(parents=True, exist_ok=True)

    # 1. an MLP VAE for one epoch, with evaluation: compared with a one-process run
    model = vae()
    trainer = Trainer(model, config(out / "vae"), train, val)
    history = trainer.train()
    save_file(_weights(model), str(mine / "vae.safetensors"))
    save_file({k: torch.tensor(v) for k, v in history[-1].items() if isinstance(v, float)},
              str(mine / "vae_history.safetensors"))

    # 2. VQ-VAE with EMA codebook: buffers updated outside backprop
    set_seed(1)
    vq = VQVAE(VQVAEConfig(input_dim=(1, 28, 28), latent_dim=4, num_embeddings=8, embedding_dim=1))
    initial = vq.codebook.clone()
    Trainer(vq, config(None), train).train()
    save_file({"initial": initial, "codebook": vq.codebook, "ema_count": vq.ema_count, "ema_sum": vq.ema_sum},
              str(mine / "vqvae.safetensors"))

    # 3. RHVAE: per-sample metric buffers gathered into the global last batch
    set_seed(2)
    rh = RHVAE(RHVAEConfig(input_dim=(1, 28, 28), latent_dim=2, metric_hidden_dim=16, num_leapfrog_steps=1))
    Trainer(rh, config(None, batch_size=40), train.subset(slice(0, 96))).train()
    save_file({"centroids": rh.centroids.contiguous(), "metric_matrices": rh.metric_matrices.contiguous()},
              str(mine / "rhvae.safetensors"))

    # 4. resume under DDP: interrupted mid second epoch, resumed, vs uninterrupted
    full = vae()
    Trainer(full, config(out / "full", num_epochs=2), train, val).train()
    stopped = Trainer(vae(), config(out / "stopped", num_epochs=2), train, val, callbacks=[StopAt()])
    try:
        stopped.train()
    except KeyboardInterrupt:
        pass
    dist.barrier()  # rank 0 has written checkpoint_interrupted
    resumed = Trainer.from_checkpoint(stopped.run_dir / "checkpoint_interrupted", train, val)
    resumed.train()
    save_file(_weights(full), str(mine / "full.safetensors"))
    save_file(_weights(resumed.model), str(mine / "resumed.safetensors"))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
