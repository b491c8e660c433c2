"""A tiny training run shared by the tracking tests: 2 epochs of 3 steps on random 8x8 images."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.trainers import Trainer, TrainerConfig


@pytest.fixture
def train_run(tmp_path):
    """``train_run(callbacks, **config)`` trains a tiny VAE in ``tmp_path/"runs"`` and returns the trainer."""

    def run(callbacks, eval_data=True, **config):
        data = torch.rand(48, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        settings = {"output_dir": str(tmp_path / "runs"), "num_epochs": 2, "batch_size": 16,
                    "show_progress": False, "log_every_n_steps": 2, **config}
        trainer = Trainer(tiny_model("VAE"), TrainerConfig(**settings), train_data=data,
                          eval_data=data[:16] if eval_data else None, callbacks=callbacks)
        trainer.train()
        return trainer

    return run


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory):
    """``(tracking_uri, folder)`` of one local SQLite MLflow store for the session (its tables take ~2 s)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}", root
