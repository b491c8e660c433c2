"""The ``vae-binary-mnist`` recipe side by side with Pythae 0.1.2: same model, data and schedule, N epochs each.

A diagnosis of the recipe's gap to its reference (issue 15), not a speed benchmark. Both libraries train the
recipe's VAE (MLP 784-400-40, ReLU, Bernoulli decoder, Adam 1e-4, batch 100) on the same arrays (the
stand-in binarization's 50k training and 10k validation images), Pythae in its own interpreter. The script
prints each library's validation -ELBO after every ``--report-every`` epochs, then the test NLL of both trained
models measured by *both* estimators (gaekit's ``log_likelihood`` and Pythae's ``get_nll``, weights copied
across) on the same ``--nll-images`` test images with ``--nll-samples`` importance samples.

Equal curves say the training maths and optimisation match; equal NLLs across estimators say the estimator
matches. What remains of the gap is then the protocol (schedule length, data).

    python benchmarks/vae_binary_mnist_vs_pythae.py --pythae-python /path/to/pythae-venv/bin/python \\
        [--epochs 30] [--data-dir ../shared/datasets]

The Pythae interpreter needs ``pip install torch==2.13.0 pythae==0.1.2`` (a separate venv: Pythae pins
its own dependencies).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gaekit.data import load_binarized_mnist
from gaekit.models import create_model
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig, set_seed

HIDDEN, LATENT, BATCH, LR = 400, 40, 100, 1e-4

# Run by the Pythae interpreter: train its VAE with networks of the same shape, log the validation loss, then
# measure get_nll of its own model and of gaekit's weights. Written for this script (not Pythae's code).
PYTHAE_SIDE = r"""
import json, sys, time
import numpy as np, torch, torch.nn as nn
from pythae.data.preprocessors import DataProcessor
from pythae.models import VAE, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.trainers import BaseTrainer, BaseTrainerConfig
from pythae.trainers.training_callbacks import TrainingCallback

args = json.loads(sys.argv[1])
arrays = np.load(args["data"])
H, L = args["hidden"], args["latent"]

class Encoder(BaseEncoder):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, H), nn.ReLU())
        self.mean, self.log_var = nn.Linear(H, L), nn.Linear(H, L)
    def forward(self, x):
        h = self.body(x.reshape(len(x), -1))
        return ModelOutput(embedding=self.mean(h), log_covariance=self.log_var(h))

class Decoder(BaseDecoder):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(L, H), nn.ReLU(), nn.Linear(H, 784), nn.Sigmoid())
    def forward(self, z):
        return ModelOutput(reconstruction=self.body(z).reshape(len(z), 1, 28, 28))

def build():
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=L, reconstruction_loss="bce")
    return VAE(config, encoder=Encoder(), decoder=Decoder())

class Log(TrainingCallback):
    def __init__(self):
        self.rows = []
    def on_log(self, training_config, logs, **kwargs):
        if "eval_epoch_loss" in logs:
            self.rows.append({"train": logs["train_epoch_loss"], "eval": logs["eval_epoch_loss"]})

torch.manual_seed(args["seed"])
model = build()
log = Log()
config = BaseTrainerConfig(output_dir=args["out"], num_epochs=args["epochs"], learning_rate=args["lr"],
                           per_device_train_batch_size=args["batch"], per_device_eval_batch_size=args["batch"],
                           steps_saving=None, no_cuda=True)
start = time.perf_counter()
to_dataset = DataProcessor().to_dataset
BaseTrainer(model, to_dataset(torch.from_numpy(arrays["train"])),
            to_dataset(torch.from_numpy(arrays["validation"])), config, callbacks=[log]).train()
seconds = time.perf_counter() - start

test = torch.from_numpy(arrays["test"][: args["nll_images"]])
state = model.state_dict()
torch.save(state, args["pythae_weights"])
model.eval()
torch.manual_seed(1)
nll_own = -model.get_nll(test, n_samples=args["nll_samples"], batch_size=args["nll_samples"] // 2)
other = build()
other.load_state_dict(torch.load(args["gaekit_weights"], weights_only=True))
other.eval()
torch.manual_seed(1)
nll_gaekit_model = -other.get_nll(test, n_samples=args["nll_samples"], batch_size=args["nll_samples"] // 2)
json.dump({"curve": log.rows, "seconds": seconds, "nll_own": nll_own, "nll_gaekit_model": nll_gaekit_model},
          open(args["result"], "w"))
"""

# gaekit's MLP encoder has one head of 2L outputs (mean, then log-variance); Pythae's networks above have two.
ENCODER_MAP = {"encoder.body.0": "encoder.body.0", "decoder.body.0": "decoder.body.0",
               "decoder.out": "decoder.body.2"}


def gaekit_to_pythae(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for ours, theirs in ENCODER_MAP.items():
        for p in ("weight", "bias"):
            out[f"{theirs}.{p}"] = state[f"{ours}.{p}"]
    for p in ("weight", "bias"):
        mean, log_var = state[f"encoder.head.{p}"].chunk(2, dim=0)
        out[f"encoder.mean.{p}"], out[f"encoder.log_var.{p}"] = mean, log_var
    return out


def pythae_to_gaekit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for ours, theirs in ENCODER_MAP.items():
        for p in ("weight", "bias"):
            out[f"{ours}.{p}"] = state[f"{theirs}.{p}"]
    for p in ("weight", "bias"):
        out[f"encoder.head.{p}"] = torch.cat([state[f"encoder.mean.{p}"], state[f"encoder.log_var.{p}"]])
    return out


def build_gaekit():
    return create_model("VAE", input_dim=[1, 28, 28], latent_dim=LATENT, reconstruction_loss="bce",
                        network="mlp", network_options={"hidden_dims": [HIDDEN]})


class ValidationCurve(TrainerCallback):
    def __init__(self):
        self.rows = []

    def on_epoch_end(self, trainer, record):
        self.rows.append({"train": record["train_loss"], "eval": record["eval_loss"]})


def gaekit_nll(model, test: torch.Tensor, samples: int) -> float:
    model.eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        return float(-model.log_likelihood(test, num_importance_samples=samples, generator=generator).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythae-python", required=True, help="an interpreter with pythae==0.1.2 installed")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--report-every", type=int, default=5)
    parser.add_argument("--nll-images", type=int, default=1000)
    parser.add_argument("--nll-samples", type=int, default=200)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    splits = {s: load_binarized_mnist(s, "stand-in", root=args.data_dir) for s in ("train", "validation", "test")}
    arrays = {s: (d.data.float() / (255.0 if d.data.dtype == torch.uint8 else 1.0)).numpy()
              for s, d in splits.items()}
    assert all(set(np.unique(a)) <= {0.0, 1.0} for a in arrays.values()), "binary images expected"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.savez(tmp / "data.npz", **arrays)

        set_seed(args.seed)
        model = build_gaekit()
        curve = ValidationCurve()
        config = TrainerConfig(output_dir=str(tmp / "gaekit"), num_epochs=args.epochs, batch_size=BATCH,
                               learning_rate=LR, optimizer="Adam", seed=args.seed, show_progress=False)
        start = time.perf_counter()
        Trainer(model, config, splits["train"], splits["validation"], callbacks=[curve]).train()
        gaekit_seconds = time.perf_counter() - start
        torch.save(gaekit_to_pythae(model.state_dict()), tmp / "gaekit_weights.pt")

        side = {"data": str(tmp / "data.npz"), "out": str(tmp / "pythae"), "epochs": args.epochs, "lr": LR,
                "batch": BATCH, "hidden": HIDDEN, "latent": LATENT, "seed": args.seed,
                "nll_images": args.nll_images, "nll_samples": args.nll_samples,
                "pythae_weights": str(tmp / "pythae_weights.pt"), "gaekit_weights": str(tmp / "gaekit_weights.pt"),
                "result": str(tmp / "pythae.json")}
        ran = subprocess.run([args.pythae_python, "-c", PYTHAE_SIDE, json.dumps(side)], capture_output=True,
                             text=True)
        if ran.returncode != 0:
            raise SystemExit(f"the Pythae side failed:\n{ran.stderr[-3000:]}")
        pythae = json.loads((tmp / "pythae.json").read_text())

        test = torch.as_tensor(arrays["test"][: args.nll_images])
        pythae_model = build_gaekit()
        pythae_model.load_state_dict(pythae_to_gaekit(torch.load(tmp / "pythae_weights.pt", weights_only=True)))
        nll = {("gaekit model", "gaekit estimator"): gaekit_nll(model, test, args.nll_samples),
               ("gaekit model", "Pythae estimator"): pythae["nll_gaekit_model"],
               ("Pythae model", "gaekit estimator"): gaekit_nll(pythae_model, test, args.nll_samples),
               ("Pythae model", "Pythae estimator"): pythae["nll_own"]}

    print(f"vae-binary-mnist protocol, {args.epochs} epochs each (gaekit {gaekit_seconds:.0f} s, Pythae "
          f"{pythae['seconds']:.0f} s)\n")
    print("| epoch | gaekit train -ELBO | gaekit validation -ELBO | Pythae train -ELBO | Pythae validation -ELBO |")
    print("|---|---|---|---|---|")
    for epoch in range(args.report_every, args.epochs + 1, args.report_every):
        ours, theirs = curve.rows[epoch - 1], pythae["curve"][epoch - 1]
        print(f"| {epoch} | {ours['train']:.2f} | {ours['eval']:.2f} | {theirs['train']:.2f} | {theirs['eval']:.2f} |")
    print(f"\nTest NLL ({args.nll_images} images, {args.nll_samples} importance samples)\n")
    print("| model | estimator | NLL |\n|---|---|---|")
    for (who, how), value in nll.items():
        print(f"| {who} | {how} | {value:.2f} |")


if __name__ == "__main__":
    main()
