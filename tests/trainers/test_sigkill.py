"""SIGKILL at random moments (inside steps, evaluation and checkpoint writes): the newest checkpoint resumes
bit-identically.

A killed process writes nothing more, so it resumes from its newest periodic checkpoint (one every step
here); a kill inside a checkpoint's write must leave that checkpoint either absent, complete, or recovered
on the next read. Training runs in child processes with one thread each, so the uninterrupted reference and
the resumed run do the same arithmetic.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

CHILD = textwrap.dedent("""
    import sys
    import torch
    from conftest import tiny_model
    from gaekit.data import load_digits
    from gaekit.trainers import Trainer, TrainerConfig

    torch.set_num_threads(1)
    mode, out = sys.argv[1], sys.argv[2]
    train, val = load_digits("train").subset(slice(0, 160)), load_digits("validation").subset(slice(0, 48))
    if mode == "train":
        config = TrainerConfig(output_dir=out, num_epochs=3, batch_size=16, learning_rate=1e-3, show_progress=False,
                               checkpoint_every_n_steps=1, scheduler="StepLR",
                               scheduler_params={"step_size": 1, "gamma": 0.5})
        Trainer(tiny_model("VAE", reconstruction_loss="bce"), config, train, val).train()
    else:
        Trainer.from_checkpoint(mode, train, val).train()
""")


def _run(args: list[str], tmp_path: Path) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _run_dir(out: Path) -> Path | None:
    runs = [p for p in out.glob("VAE_training_*") if p.is_dir()]
    return runs[0] if runs else None


def _newest_checkpoint(run_dir: Path) -> Path:
    steps = [(int(m.group(1)), p) for p in run_dir.iterdir()
             if (m := re.fullmatch(r"checkpoint_step_(\d+)", p.name))]
    return max(steps)[1]


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "final_model" / "model.safetensors"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    child = _run(["train", str(tmp / "runs")], tmp)
    assert child.wait(timeout=300) == 0, child.stderr.read().decode()
    run_dir = _run_dir(tmp / "runs")
    return _final_weights(run_dir), (run_dir / "history.json").read_text()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkill_at_a_random_moment_resumes_bit_identically(seed, reference, tmp_path):
    rng = random.Random(seed)
    out = tmp_path / "runs"
    child = _run(["train", str(out)], tmp_path)
    # wait until training is under way (the first checkpoints exist), then kill after a random delay:
    # inside a step, an evaluation or a checkpoint's write
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        run_dir = _run_dir(out)
        if run_dir is not None and len(list(run_dir.glob("checkpoint_step_*"))) >= 2 + rng.randrange(20):
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.05))
    if child.poll() is not None:
        pytest.fail("training ended before it could be killed")
    child.send_signal(signal.SIGKILL)
    child.wait()
    run_dir = _run_dir(out)
    assert not (run_dir / "final_model").exists()  # killed before the end
    resumed = _run([str(_newest_checkpoint(run_dir)), str(out)], tmp_path)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    weights, history = reference
    final = _final_weights(run_dir)
    assert final.keys() == weights.keys()
    assert all(torch.equal(final[k], weights[k]) for k in weights)
    assert (run_dir / "history.json").read_text() == history
