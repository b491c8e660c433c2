"""A beta-VAE (beta = 4) on dSprites with Locatello et al. 2019's setup, scored against their published ranges.

Locatello et al. 2019 ("Challenging Common Assumptions in the Unsupervised Learning of Disentangled
Representations", arXiv:1811.12359), appendix Tables 1-2: encoder conv 32-32-64-64 (4x4, stride 2, ReLU),
a 256-unit dense layer, latent 10; decoder the mirror; Bernoulli decoder; Adam (lr 1e-4, beta1 0.9,
beta2 0.999, eps 1e-8); batch 64; 300,000 steps. Here on dSprites' 80 % training split (gaekit's ``train``
split, 589,824 images: 9,216 steps an epoch).

    python benchmarks/betavae_dsprites.py train --out DIR [--steps 300000] [--threads 2]
    python benchmarks/betavae_dsprites.py score --out DIR [--num-train 10000] [--num-test 5000] [--metrics mig,sap]

``train`` writes a checkpoint every 1,000 steps (only the newest is kept) and resumes from the newest one
when started again, exactly (gaekit's resume). Ctrl-C in a terminal writes ``checkpoint_interrupted`` first;
killing the process (SIGTERM) loses the steps since the last checkpoint (at most 1,000). It stops at the end of
the epoch that reaches ``--steps`` (33 epochs for the default 300,000). ``score`` evaluates the newest checkpoint
(or ``--checkpoint``) with ``gaekit.metrics.evaluate(..., tasks="disentanglement")`` and prints each
score, appending it to ``DIR/scores.jsonl`` with the step. ``--metrics`` picks some of the metrics (names as in
``EvaluationConfig.disentanglement_metrics``): MIG, SAP and Modularity/Explicitness take minutes at the
protocol's counts on a CPU, where DCI's gradient boosting and the beta-VAE and FactorVAE scores take an hour.
``--implementation disentanglement_lib`` scores the same checkpoint with Locatello et al.'s own code instead
(``gaekit.metrics.disentanglement.reference``, the ``disentanglement_lib`` extra; their own random draws) and
appends its scores, marked so, to the same file: run both, in two processes at once if you like, to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

CHECKPOINT_EVERY = 1_000


def make_model():
    """beta-VAE, beta = 4, with Locatello et al.'s network and a Bernoulli decoder."""
    from gaekit.bench.grids import LOCATELLO_CONV_OPTIONS
    from gaekit.models import create_model

    return create_model("BetaVAE", input_dim=[1, 64, 64], latent_dim=10, beta=4.0, reconstruction_loss="bce",
                        network="conv", network_options=LOCATELLO_CONV_OPTIONS)


def build(out: Path, steps: int, seed: int):
    from gaekit.data import load_dataset
    from gaekit.trainers import Trainer, TrainerConfig, set_seed
    from gaekit.trainers.callbacks import KeepNewestCheckpoint

    class KeepNewest(KeepNewestCheckpoint):
        after = "checkpoint_"  # step checkpoints too

    train = load_dataset("dsprites", "train")
    newest = newest_checkpoint(out)
    if newest is not None:
        trainer = Trainer.from_checkpoint(newest, train, None, callbacks=[KeepNewest()])
        return trainer, newest
    set_seed(seed)
    model = make_model()
    epochs = -(-steps // -(-len(train) // 64))
    config = TrainerConfig(num_epochs=epochs, batch_size=64, learning_rate=1e-4, optimizer="Adam",
                            optimizer_params={"betas": (0.9, 0.999), "eps": 1e-8}, seed=seed,
                            output_dir=str(out / "training"), checkpoint_every_n_steps=CHECKPOINT_EVERY,
                            checkpoint_every_n_epochs=1, show_progress=False, load_best_at_end=False,
                            log_every_n_steps=200, channels_last=True)
    return Trainer(model, config, train, None, callbacks=[KeepNewest()]), None


def newest_checkpoint(out: Path) -> Path | None:
    from gaekit.bench.runner import latest_checkpoint

    return latest_checkpoint(out / "training")


def cmd_train(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer, resumed = build(out, args.steps, args.seed)
    print(f"{'resuming from ' + str(resumed) if resumed else 'new run'}: step {trainer.state.global_step}, "
          f"{trainer.config.num_epochs} epochs planned", flush=True)
    start, first = time.perf_counter(), trainer.state.global_step
    trainer.train()
    done = trainer.state.global_step - first
    print(f"trained {done} steps in {time.perf_counter() - start:.0f} s; now at step {trainer.state.global_step}",
          flush=True)


def cmd_score(args) -> None:
    from gaekit.metrics import evaluate
    from gaekit.trainers import read_checkpoint_info
    from gaekit.trainers.checkpoint import read_checkpoint

    out = Path(args.out)
    checkpoint = Path(args.checkpoint) if args.checkpoint else newest_checkpoint(out)
    if checkpoint is None:
        sys.exit(f"no checkpoint under {out / 'training'}")
    step = read_checkpoint_info(checkpoint)["global_step"]
    model = make_model()
    model.load_state_dict(read_checkpoint(checkpoint)[0])
    if args.implementation == "disentanglement_lib":
        return score_with_reference(model, out, step, args)
    start = time.perf_counter()
    result = evaluate(model, tasks="disentanglement", dataset="dsprites", disentanglement_num_train=args.num_train,
                      disentanglement_num_test=args.num_test, seed=args.seed,
                      **({"disentanglement_metrics": tuple(args.metrics.split(","))} if args.metrics else {}))
    scores = result.disentanglement["scores"]
    seconds = time.perf_counter() - start
    for name, value in scores.items():
        print(f"{name:32s} {value:.4f}")
    print(f"step {step}, {seconds:.0f} s at {args.num_train} / {args.num_test} samples")
    with open(out / "scores.jsonl", "a") as f:
        f.write(json.dumps({"step": step, "num_train": args.num_train, "num_test": args.num_test,
                            "seconds": round(seconds, 1), "per_metric_seconds": result.disentanglement["seconds"],
                            "scores": scores}) + "\n")


def score_with_reference(model, out: Path, step: int, args) -> None:
    """The scores of disentanglement_lib's metric code on the same source, at the same counts as ``evaluate``
    uses (``num_eval`` and ``num_test`` the test count; the FactorVAE variances from the training count)."""
    from gaekit.metrics.disentanglement import model_representation
    from gaekit.metrics.disentanglement.reference import REFERENCE_KEYS, REFERENCE_PROTOCOL, reference_scores
    from gaekit.metrics.evaluation_disentanglement import HEADLINES, metric_counts, resolve_ground_truth

    source = resolve_ground_truth(None, "dsprites", model)
    names = args.metrics.split(",") if args.metrics else list(REFERENCE_PROTOCOL)
    scores, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        theirs = reference_scores(source, model_representation(model), [name], seed=args.seed,
                                  settings={name: metric_counts(name, args.num_train, args.num_test)})[name]
        seconds[name] = round(time.perf_counter() - start, 1)
        for flat, key in HEADLINES[name]:
            scores[flat] = theirs[REFERENCE_KEYS.get(key, key)]
            print(f"{flat:32s} {scores[flat]:.4f}", flush=True)
    print(f"step {step}, {sum(seconds.values()):.0f} s at {args.num_train} / {args.num_test} samples "
          "(disentanglement_lib)")
    with open(out / "scores.jsonl", "a") as f:
        f.write(json.dumps({"step": step, "implementation": "disentanglement_lib", "num_train": args.num_train,
                            "num_test": args.num_test, "seconds": round(sum(seconds.values()), 1),
                            "per_metric_seconds": seconds, "scores": scores}) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--out", required=True)
    train.add_argument("--steps", type=int, default=300_000)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None)
    score = sub.add_parser("score")
    score.add_argument("--out", required=True)
    score.add_argument("--checkpoint", default=None)
    score.add_argument("--num-train", type=int, default=10_000)
    score.add_argument("--num-test", type=int, default=5_000)
    score.add_argument("--seed", type=int, default=0)
    score.add_argument("--metrics", default=None, help="comma-separated metric names (default: all)")
    score.add_argument("--threads", type=int, default=None)
    score.add_argument("--implementation", choices=("gaekit", "disentanglement_lib"), default="gaekit",
                       help="whose metric code scores the checkpoint (disentanglement_lib: Locatello et al.'s)")
    args = parser.parse_args(argv)
    if args.threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    {"train": cmd_train, "score": cmd_score}[args.command](args)


if __name__ == "__main__":
    main()
