"""Data-parallel training: two CPU processes on a gloo group (``ddp_worker.py``) against one process."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gaekit.trainers import Trainer
from gaekit.trainers.distributed import DataParallel

WORKER = Path(__file__).with_name("ddp_worker.py")
_spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2] / "src"), **extra}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_dir):
    """Both processes' results; each scenario is described in ``ddp_worker.py``."""
    out = tmp_path_factory.mktemp("ddp")
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(out), str(mnist_dir)],
                              env=_child_env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2",
                                             MASTER_ADDR="127.0.0.1", MASTER_PORT=port),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in range(2)]
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=180)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("the data-parallel workers did not finish in 180 s")
    assert all(p.returncode == 0 for p in procs), "\n\n".join(logs)
    return out


def _load(runs, rank, name):
    return load_file(str(runs / f"rank{rank}" / f"{name}.safetensors"))


def test_two_gloo_processes_end_like_one_process_with_the_same_global_batch(runs, mnist_dir, tmp_path):
    train, val = worker.mnist(str(mnist_dir))
    model = worker.vae()
    history = Trainer(model, worker.config(None), train, val).train()
    rank0, rank1 = _load(runs, 0, "vae"), _load(runs, 1, "vae")
    reference = model.state_dict()
    assert rank0.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(rank0[key], rank1[key]), key  # the processes stay in lock-step
        torch.testing.assert_close(rank0[key], value, rtol=1e-4, atol=1e-5, msg=key)
    logged = _load(runs, 0, "vae_history")  # losses reduced over both shards, train and eval
    for key, value in logged.items():
        assert value.item() == pytest.approx(history[-1][key], rel=1e-5), key


def test_only_rank_zero_writes_one_run_folder(runs):
    (run_dir,) = (runs / "vae").iterdir()
    assert (run_dir / "final_model" / "model.safetensors").is_file()
    assert [record["epoch"] for record in json.loads((run_dir / "history.json").read_text())] == [1]


def test_vqvae_ema_codebooks_stay_identical_across_processes(runs):
    rank0, rank1 = _load(runs, 0, "vqvae"), _load(runs, 1, "vqvae")
    assert not torch.equal(rank0["codebook"], rank0["initial"])  # the EMA did update the codebook
    for key in ("codebook", "ema_count", "ema_sum"):
        assert torch.equal(rank0[key], rank1[key]), key


def test_rhvae_metric_is_built_from_the_whole_last_global_batch(runs):
    rank0, rank1 = _load(runs, 0, "rhvae"), _load(runs, 1, "rhvae")
    assert rank0["centroids"].shape == (96 % 40, 2)  # both shards of the last batch of 16, not one
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key


def test_a_run_interrupted_and_resumed_under_ddp_ends_like_an_uninterrupted_one(runs):
    full, resumed = _load(runs, 0, "full"), _load(runs, 0, "resumed")
    for key in full:
        assert torch.equal(full[key], resumed[key]), key
    assert _load(runs, 1, "resumed").keys() == resumed.keys()


def test_global_batches_are_split_into_contiguous_shards_differing_by_at_most_one():
    def shards(n, world):
        parts = []
        for rank in range(world):
            dp = DataParallel.__new__(DataParallel)  # only the arithmetic, no process group
            dp.rank, dp.world_size = rank, world
            parts.append(dp.shard(n))
        return parts

    assert shards(51, 2) == [(0, 26), (26, 51)]
    assert shards(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert shards(1, 2) == [(0, 1), (1, 1)]


def test_torchrun_runs_the_cli_data_parallel(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "gaekit", "train", "VAE", "--dataset", "digits", "--epochs", "1", "--batch-size", "128",
           "--no-progress", "--output-dir", str(tmp_path)]
    result = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = tmp_path.iterdir()  # one run, written by rank 0
    assert (run_dir / "final_model" / "model.safetensors").is_file()
    assert result.stdout.count("trained VAE") == 1  # rank 0 reports


def test_a_torchrun_environment_is_detected_and_distributed_off_is_honoured(monkeypatch):
    from conftest import tiny_model

    from gaekit.errors import ConfigError

    for var in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    data = torch.rand(16, 1, 8, 8)
    with pytest.raises(ConfigError, match=r"missing \['RANK', 'MASTER_ADDR', 'MASTER_PORT'\]"):
        Trainer(tiny_model("VAE"), worker.config(None), data)
    trainer = Trainer(tiny_model("VAE"), worker.config(None, distributed="off"), data)
    trainer.train()
    assert (trainer.world_size, trainer.rank, trainer.is_main_process) == (1, 0, True)
