"""Write ``OUT/checkpoint_epoch_1`` with a gaekit release (run with that release's ``src`` on PYTHONPATH).

How the committed folder was made (gaekit c56c113, the release before checkpoint format 2)::

    git worktree add /tmp/oldmain c56c113
    cd tests/data_files/checkpoint_v1 && PYTHONPATH=/tmp/oldmain/src OMP_NUM_THREADS=1 python make_checkpoint.py .

The same ``settings()`` drive the uninterrupted reference run in ``tests/trainers/test_checkpoint_formats.py``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def settings(output_dir: str) -> dict:
    """The TrainerConfig fields of the run (2 epochs of 4 steps, a scheduler, a checkpoint each epoch)."""
    return {"output_dir": output_dir, "num_epochs": 2, "batch_size": 16, "learning_rate": 1e-3, "seed": 3,
            "scheduler": "StepLR", "scheduler_params": {"step_size": 1, "gamma": 0.5}, "steps_saving": 1,
            "show_progress": False, "device": "cpu"}


def data():
    """64 training and 32 validation digits."""
    from gaekit.data import load_digits

    return load_digits("train").subset(slice(0, 64)), load_digits("validation").subset(slice(0, 32))


def model():
    """The tiny VAE of the run (MLP networks of 16 hidden units), seeded."""
    import torch

    from gaekit.models import VAE, VAEConfig
    from gaekit.nn import create_network

    torch.manual_seed(0)
    nets = {role: create_network("mlp", dataset=(1, 8, 8), role=role, latent_dim=3, model=VAE, hidden_dims=(16,))
            for role in ("encoder", "decoder")}
    return VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3, reconstruction_loss="bce"), **nets)


def main(out: Path) -> None:
    from gaekit.trainers import Trainer, TrainerConfig

    train, val = data()
    trainer = Trainer(model(), TrainerConfig(**settings(str(out / "runs"))), train, val)
    trainer.train()
    dest = out / "checkpoint_epoch_1"
    shutil.copytree(trainer.run_dir / "checkpoint_epoch_1", dest)
    shutil.rmtree(out / "runs")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
