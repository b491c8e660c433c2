"""The ``gaekit`` command: ``demo``, ``train``, ``generate``, ``evaluate`` and ``bench``.

Run ``gaekit <command> --help`` for the options of each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gaekit.errors import GaekitError

DEMO_EPOCHS = {"digits": 60, "mnist": 5}


def _add_data_args(parser: argparse.ArgumentParser, default: str | None = "digits") -> None:
    parser.add_argument("--dataset", default=default,
                        help="digits (scikit-learn's bundled 8x8 digits), mnist, fashion-mnist, cifar10, "
                             "celeba, npz:PATH or images:FOLDER (default: %(default)s)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's folder (default: $GAEKIT_DATA_DIR, the user data "
                             "dir, then ../shared/datasets)")


def _load(name: str, split: str, data_dir: str | None):
    from gaekit.data import load_dataset

    return load_dataset(name, split, root=data_dir)


def _seeded(seed: int):
    import torch

    return torch.Generator().manual_seed(seed)


def _pixel_mse(model, data) -> float:
    x = data.as_float()
    return float(((model.reconstruct(x).cpu() - x) ** 2).mean())


def _write_figures(model, train, test, folder: Path, seed: int, num_samples: int) -> dict[str, str]:
    """Reconstructions, Normal and GMM samples and an interpolation as PNG grids."""
    import torch

    from gaekit.images import display_scale, save_image_grid
    from gaekit.pipelines import GenerationPipeline
    from gaekit.samplers import GaussianMixtureSamplerConfig, NormalSamplerConfig

    x = test.as_float()[:32]
    scale = display_scale(x.shape)  # small images (8x8 digits) are enlarged to be visible
    files = {"reconstructions": folder / "reconstructions.png", "samples_normal": folder / "samples_normal.png",
             "samples_gmm": folder / "samples_gmm.png", "interpolation": folder / "interpolation.png"}
    save_image_grid(torch.cat([x, model.reconstruct(x).cpu()]), files["reconstructions"], nrow=8, scale=scale)
    normal = GenerationPipeline(model=model, sampler_config=NormalSamplerConfig())(num_samples=num_samples, seed=seed)
    save_image_grid(normal, files["samples_normal"], scale=scale)
    gmm = GenerationPipeline(model=model, sampler_config=GaussianMixtureSamplerConfig(n_components=10))(
        num_samples=num_samples, train_data=train, seed=seed)
    save_image_grid(gmm, files["samples_gmm"], scale=scale)
    path = model.interpolate(x[:8], x[8:16], steps=10).cpu()
    save_image_grid(path.reshape(-1, *path.shape[2:]), files["interpolation"], nrow=10, scale=scale)
    return {k: str(v) for k, v in files.items()}


def cmd_demo(args: argparse.Namespace) -> int:
    from gaekit.models import AE, VAE, AEConfig, VAEConfig
    from gaekit.pipelines import TrainingPipeline
    from gaekit.trainers import BaseTrainerConfig, set_seed

    start = time.perf_counter()
    out = Path(args.output_dir)
    train = _load(args.dataset, "train", args.data_dir)
    val = _load(args.dataset, "validation", args.data_dir)
    test = _load(args.dataset, "test", args.data_dir)
    input_dim = train.sample_shape
    latent_dim = args.latent_dim or (8 if args.dataset == "digits" else 16)
    epochs = args.epochs or DEMO_EPOCHS.get(args.dataset, 5)
    print(f"gaekit demo: {args.dataset} ({len(train)} train / {len(val)} validation / {len(test)} test images "
          f"of shape {input_dim}), {epochs} epochs, latent dimension {latent_dim}")
    mean_image = train.as_float().mean(0, keepdim=True)
    x_test = test.as_float()
    metrics: dict[str, Any] = {"dataset": args.dataset, "epochs": epochs, "latent_dim": latent_dim,
                               "mean_image_test_mse": float(((x_test - mean_image) ** 2).mean()), "models": {}}
    for model_cls, config_cls in ((VAE, VAEConfig), (AE, AEConfig)):
        name = model_cls.config_class.name
        set_seed(args.seed)
        model = model_cls(config_cls(input_dim=input_dim, latent_dim=latent_dim, reconstruction_loss="bce"))
        config = BaseTrainerConfig(output_dir=str(out / "runs"), num_epochs=epochs, batch_size=args.batch_size,
                                   learning_rate=args.lr, seed=args.seed, show_progress=not args.quiet,
                                   scheduler="ReduceLROnPlateau", scheduler_params={"factor": 0.5, "patience": 5})
        t0 = time.perf_counter()
        trainer = TrainingPipeline(training_config=config, model=model)(train_data=train, eval_data=val)
        entry: dict[str, Any] = {"train_seconds": round(time.perf_counter() - t0, 2),
                                 "test_mse": _pixel_mse(model, test),
                                 "best_epoch": trainer.state.best_epoch,
                                 "model_dir": str(trainer.final_model_dir)}
        if model.variational:
            entry["test_nll"] = float(-model.log_likelihood(x_test[:500], 100, generator=_seeded(args.seed)).mean())
        entry["figures"] = _write_figures(model, train, test, out / name, args.seed, args.num_samples)
        metrics["models"][name] = entry
        print(f"  {name}: test MSE per pixel {entry['test_mse']:.4f} (mean image: "
              f"{metrics['mean_image_test_mse']:.4f})" + (f", test NLL {entry['test_nll']:.2f} nats"
                                                          if "test_nll" in entry else ""))
    metrics["total_seconds"] = round(time.perf_counter() - start, 2)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out / 'metrics.json'}")
    for name, entry in metrics["models"].items():
        print(f"  {name}: model in {entry['model_dir']}")
        for kind, path in entry["figures"].items():
            print(f"    {kind:16s} {path}")
    print(f"done in {metrics['total_seconds']:.1f} s")
    return 0


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_train(args: argparse.Namespace) -> int:
    from gaekit.config import read_json
    from gaekit.errors import ConfigError
    from gaekit.models import MODELS
    from gaekit.trainers import Trainer, TrainerConfig, set_seed

    train = _load(args.dataset, "train", args.data_dir)
    val = None if args.no_eval else _load(args.dataset, "validation", args.data_dir)
    if args.resume:
        trainer = Trainer.from_checkpoint(args.resume, train, val)
        print(f"resuming {args.resume} at epoch {trainer.state.epoch}, step {trainer.state.step_in_epoch}")
        trainer.train()
    else:
        if args.model and args.model_option and args.model != args.model_option:
            raise ConfigError(f"two models named: {args.model!r} and --model {args.model_option!r}")
        model_cls = MODELS.get(args.model_option or args.model or "VAE")
        fields = read_json(args.model_config) if args.model_config else {}
        fields.pop("name", None)
        fields.setdefault("input_dim", list(train.sample_shape))
        for key, value in (("latent_dim", args.latent_dim), ("reconstruction_loss", args.reconstruction_loss)):
            if value is not None:
                fields[key] = value
        for item in args.set or []:
            key, _, value = item.partition("=")
            fields[key] = _parse_value(value)
        model_config = model_cls.config_class.from_dict(fields)
        training = read_json(args.training_config) if args.training_config else {}
        training.pop("name", None)
        for key, value in (("num_epochs", args.epochs), ("batch_size", args.batch_size),
                           ("learning_rate", args.lr), ("output_dir", args.output_dir), ("seed", args.seed)):
            if value is not None:
                training[key] = value
        if args.no_progress:
            training["show_progress"] = False
        training_config = TrainerConfig.from_dict(training)
        set_seed(training_config.seed)
        networks = {}
        if args.net != "mlp":
            from gaekit.nn import create_network

            networks = {role: create_network(args.net, dataset=model_config.input_dim, role=role,
                                             latent_dim=model_config.latent_dim, model=model_cls)
                        for role in ("encoder", "decoder")}
        trainer = Trainer(model_cls(model_config, **networks), training_config, train, val)
        trainer.train()
    if trainer.is_main_process:  # under torchrun every process trains; rank 0 reports
        last = trainer.state.history[-1] if trainer.state.history else {}
        print(f"trained {trainer.model.model_config.name}: {json.dumps(last)}")
        print(f"final model: {trainer.final_model_dir}")
    return 0


SAMPLER_ALIASES = {"normal": "NormalSampler", "gmm": "GaussianMixtureSampler", "vamp": "VAMPSampler",
                   "maf": "MAFSampler", "iaf": "IAFSampler", "two_stage": "TwoStageVAESampler"}


def cmd_generate(args: argparse.Namespace) -> int:
    from gaekit.config import read_json
    from gaekit.models import AutoModel
    from gaekit.pipelines import GenerationPipeline
    from gaekit.samplers import SAMPLERS

    model = AutoModel.load_from_folder(args.model_dir)
    sampler_cls = SAMPLERS.get(SAMPLER_ALIASES.get(args.sampler, args.sampler))
    fields = read_json(args.sampler_config) if args.sampler_config else {}
    fields.pop("name", None)
    if args.n_components is not None:
        fields["n_components"] = args.n_components
    sampler_config = sampler_cls.config_class.from_dict(fields)
    train = _load(args.dataset, "train", args.data_dir) if sampler_cls.needs_fit else None
    out = Path(args.output_dir)
    samples = GenerationPipeline(model=model, sampler_config=sampler_config)(
        num_samples=args.num_samples, batch_size=args.batch_size, output_dir=str(out), train_data=train,
        seed=args.seed)
    png = out / "samples.png"
    print(f"wrote {len(samples)} samples to {out / 'samples.safetensors'}" + (f" and {png}" if png.exists() else ""))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gaekit.config import read_json
    from gaekit.metrics import EvaluationConfig, EvaluationData, evaluate
    from gaekit.models import AutoModel
    from gaekit.samplers import SAMPLERS

    model = AutoModel.load_from_folder(args.model_dir)
    samplers = []
    for name in (s.strip() for s in args.sampler.split(",") if s.strip()):
        sampler_cls = SAMPLERS.get(SAMPLER_ALIASES.get(name, name))
        fields = read_json(args.sampler_config) if args.sampler_config else {}
        fields.pop("name", None)
        if args.n_components is not None and "n_components" in sampler_cls.config_class.accepted_keys():
            fields["n_components"] = args.n_components
        samplers.append(sampler_cls.config_class.from_dict(fields))
    settings = {key: value for key, value in (
        ("classification_runs", args.classification_runs), ("clustering_runs", args.clustering_runs),
        ("num_generated", args.num_samples), ("nll_importance_samples", args.nll_samples),
        ("nll_num_test", args.nll_num_test), ("batch_size", args.batch_size), ("seed", args.seed)) if value is not None}
    config = EvaluationConfig.from_json(args.config) if args.config else EvaluationConfig()
    data = EvaluationData(*(_load(args.dataset, split, args.data_dir) for split in ("train", "validation", "test")))
    out = Path(args.out)
    result = evaluate(model, data, tasks=args.tasks, sampler=samplers, extractor=args.extractor, config=config,
                      output_dir=out, dataset=args.dataset, data_dir=args.data_dir, cache_dir=args.cache_dir,
                      inception_weights=args.inception_weights, download=not args.no_download,
                      show_progress=not args.no_progress, **settings)
    print(result.summary())
    for kind, path in result.files.items():
        print(f"  {kind:32s} {path}")
    print("seconds per task: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from gaekit import __version__

    parser = argparse.ArgumentParser(prog="gaekit", description="Generative autoencoders: train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"gaekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a VAE and an AE, write reconstructions, samples and metrics",
                          description="Train a VAE and an AE on real data (scikit-learn's bundled digits by "
                                      "default, no download), then write reconstructions, samples from the "
                                      "normal and GMM samplers, an interpolation (PNG grids) and metrics.json "
                                      "with the test MSE.")
    _add_data_args(demo)
    demo.add_argument("--output-dir", default="gaekit_demo", help="where everything is written (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=None, help="default: 60 on digits, 5 on mnist")
    demo.add_argument("--latent-dim", type=int, default=None, help="default: 8 on digits, 16 otherwise")
    demo.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    demo.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: %(default)s)")
    demo.add_argument("--num-samples", type=int, default=64, help="samples per sampler (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser("train", help="train any registered model on a dataset",
                           description="Train a registered model. The model config comes from --model-config "
                                       "(JSON) and --set KEY=VALUE; input_dim defaults to the data's shape. The "
                                       "training config comes from --training-config (JSON) and the flags. The "
                                       "dataset's validation split is the eval data.")
    from gaekit.models import MODELS

    train.add_argument("model", nargs="?", default=None,
                       help="registered model name, one of: " + ", ".join(MODELS.names()) + " (default: VAE)")
    train.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as an option")
    _add_data_args(train)
    train.add_argument("--model-config", help="JSON file of model config fields")
    train.add_argument("--training-config", help="JSON file of TrainerConfig fields")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="model config field (value parsed as JSON when possible); repeatable")
    train.add_argument("--net", default="mlp", choices=["mlp", "conv", "convnet", "resnet"],
                       help="encoder/decoder: the default MLP, a convolutional net for any image size, or the "
                            "paper's ConvNet / ResNet (Appendix C; MNIST, CIFAR-10, CelebA shapes) "
                            "(default: %(default)s)")
    train.add_argument("--latent-dim", type=int)
    train.add_argument("--reconstruction-loss", choices=["mse", "bce"])
    train.add_argument("--epochs", type=int, help="num_epochs")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning_rate")
    train.add_argument("--seed", type=int)
    train.add_argument("--output-dir", help="TrainerConfig.output_dir")
    train.add_argument("--no-eval", action="store_true", help="do not evaluate on the validation split")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.add_argument("--resume", metavar="CHECKPOINT_DIR",
                       help="continue exactly from a checkpoint folder (model and configs are read from it)")
    train.set_defaults(func=cmd_train)

    gen = sub.add_parser("generate", help="sample from a trained model folder",
                         description="Load a saved model folder, draw samples with a sampler and write "
                                     "samples.safetensors (and samples.png for image data).")
    gen.add_argument("model_dir", help="a saved model folder (e.g. .../final_model)")
    gen.add_argument("--sampler", default="normal",
                     help="normal, gmm, vamp (VAMP models), maf, iaf, two_stage or any registered sampler class name "
                          "(default: %(default)s); samplers that need fitting are fitted on --dataset")
    gen.add_argument("--sampler-config", help="JSON file of the sampler's config fields")
    gen.add_argument("--n-components", type=int, default=None, help="GMM components (the config's default: 10)")
    _add_data_args(gen)
    gen.add_argument("--num-samples", type=int, default=100, help="default: %(default)s")
    gen.add_argument("--batch-size", type=int, default=500, help="default: %(default)s")
    gen.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    gen.add_argument("--output-dir", default="gaekit_samples", help="default: %(default)s")
    gen.set_defaults(func=cmd_generate)

    ev = sub.add_parser("evaluate", help="run the benchmark's evaluation tasks on a trained model folder",
                        description="Load a saved model folder and run the evaluation tasks of the Pythae "
                                    "benchmark (Section 4.2) on a dataset's train/validation/test splits: "
                                    "reconstruction (per-pixel MSE, FID), generation (FID, IS), classification "
                                    "(linear probe), clustering (k-means), interpolation (PNG grids) and the "
                                    "importance-sampled NLL of variational models. Writes metrics.json and the "
                                    "PNG grids to --out.")
    ev.add_argument("model_dir", help="a saved model folder (e.g. .../final_model)")
    _add_data_args(ev)
    ev.add_argument("--tasks", default="reconstruction,generation,classification,clustering,interpolation,nll",
                    help="comma-separated tasks (default: all)")
    ev.add_argument("--sampler", default="normal",
                    help="comma-separated samplers for the generation task: normal, gmm, vamp, maf, iaf, two_stage or "
                         "registered sampler class names (default: %(default)s); fitted on the train split")
    ev.add_argument("--sampler-config", help="JSON file of sampler config fields (applied to every sampler)")
    ev.add_argument("--n-components", type=int, default=None, help="GMM components (the config's default: 10)")
    ev.add_argument("--extractor", default="auto",
                    help="FID/IS feature extractor: auto (Inception-v3 when its weights are here, else the "
                         "dataset's classifier), inception-v3, mnist-classifier, fashion-mnist-classifier, "
                         "digits-classifier or none (default: %(default)s)")
    ev.add_argument("--inception-weights", metavar="PATH",
                    help="the FID Inception weights (pt_inception-2015-12-05-6726825d.pth or its .safetensors)")
    ev.add_argument("--no-download", action="store_true", help="never download the Inception weights")
    ev.add_argument("--cache-dir", help="gaekit cache folder (default: $GAEKIT_CACHE_DIR or ~/.cache/gaekit)")
    ev.add_argument("--config", help="JSON file of EvaluationConfig fields")
    ev.add_argument("--classification-runs", type=int, help="linear classifier runs (default: 20)")
    ev.add_argument("--clustering-runs", type=int, help="k-means runs (default: 100)")
    ev.add_argument("--num-samples", type=int, help="generated samples per sampler (default: the test-set size)")
    ev.add_argument("--nll-samples", type=int, help="importance samples per image for the NLL (default: 100)")
    ev.add_argument("--nll-num-test", type=int, help="test images for the NLL (default: all)")
    ev.add_argument("--batch-size", type=int, help="default: 500")
    ev.add_argument("--seed", type=int, help="default: 0")
    ev.add_argument("--out", default="gaekit_eval", help="output folder (default: %(default)s)")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    ev.set_defaults(func=cmd_evaluate)

    from gaekit.bench.commands import add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gaekit.bench.commands import default_bench_command

    args = build_parser().parse_args(default_bench_command(sys.argv[1:] if argv is None else list(argv)))
    try:
        return args.func(args)
    except GaekitError as err:
        print(f"gaekit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
