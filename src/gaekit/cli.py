"""The ``gaekit`` command: ``demo``, ``train``, ``generate``, ``evaluate`` and ``bench``.

Run ``gaekit <command> --help`` for the options of each. Bad input is one ``gaekit <command>: error:``
line on stderr and exit code 2 (no traceback); Ctrl-C is one line (for ``train``: where the
checkpoint went and how to resume) and exit code 130.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from gaekit.config import loads_json
from gaekit.errors import ConfigError, DataError, GaekitError
from gaekit.registry import spelling_key

DEMO_EPOCHS = {"digits": 60, "mnist": 5}

# Datasets by sample shape, for the advice when a model and a dataset do not fit.
SHAPE_DATASETS = {(1, 28, 28): ("mnist", "fashion-mnist"), (3, 32, 32): ("cifar10",), (3, 64, 64): ("celeba",),
                  (1, 8, 8): ("digits",)}
# Datasets read from files found under --data-dir (the others name their file, or are bundled).
FOLDER_DATASETS = ("mnist", "fashion-mnist", "cifar10", "celeba")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``gaekit train: error: ...`` (exit 2)."""

    def error(self, message: str):
        command = " ".join(self.prog.split()[:2])  # "gaekit bench run" reports as "gaekit bench", like main()
        self.exit(2, f"{command}: error: {message} (see {self.prog} --help)\n")


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what to tell the user (where the checkpoint went)."""


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_data_args(parser: argparse.ArgumentParser, default: str | None = "digits",
                   default_text: str = "%(default)s") -> None:
    parser.add_argument("--dataset", default=default,
                        help="digits (scikit-learn's bundled 8x8 digits), mnist, fashion-mnist, cifar10, "
                             f"celeba, npz:PATH or images:FOLDER (default: {default_text})")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the files of mnist, fashion-mnist, cifar10 or celeba, or their "
                             "folder; when given it is the only place looked at, an error if it does not hold the "
                             "dataset, and refused with digits, npz:PATH and images:FOLDER (default: "
                             "$GAEKIT_DATA_DIR, the user data dir, then ../shared/datasets)")


def _dataset_key(name: str) -> str:
    """The canonical form of a --dataset value: a registered name as registered, file paths absolute."""
    for prefix in ("npz:", "images:"):
        if name.startswith(prefix):
            return prefix + str(Path(name[len(prefix):]).expanduser().resolve())
    return spelling_key(name)


def _load(name: str, split: str, data_dir: str | None):
    from gaekit.data import load_dataset

    if data_dir is not None and (_dataset_key(name) == "digits" or name.startswith(("npz:", "images:"))):
        raise ConfigError(f"--data-dir {data_dir} does not apply to --dataset {name} (only to "
                          f"{', '.join(FOLDER_DATASETS)}; npz:PATH and images:FOLDER name their files); leave it out")
    return load_dataset(name, split, root=data_dir)


def _check_shape(input_dim, data, dataset: str, fix: str = "") -> None:
    """Refuse data whose sample shape is not the model's ``input_dim``, naming the datasets that fit."""
    model_shape, data_shape = tuple(int(d) for d in input_dim), tuple(data.sample_shape)
    if model_shape == data_shape:
        return
    fits = SHAPE_DATASETS.get(model_shape)
    advice = (" or ".join(f"--dataset {name}" for name in fits) if fits
              else "--dataset npz:PATH or images:FOLDER with data of that shape")
    raise DataError(f"the model takes samples of shape {model_shape} but --dataset {dataset} has samples of shape "
                    f"{data_shape}: use {advice}{fix}")


def _check_output_dir(path: str | Path, flag: str) -> None:
    """Refuse an output folder that cannot be created or written, before any work starts."""
    from gaekit.trainers import check_output_dir

    check_output_dir(path, flag)


def _json_object(path: str, flag: str) -> dict[str, Any]:
    """Read a JSON config file that must hold an object (a ``name`` in it is checked by the config class)."""
    from gaekit.config import read_json

    if not path.strip():
        raise ConfigError(f"{flag}={path!r} is invalid: expected the path of a JSON file")
    if Path(path).is_dir():
        raise ConfigError(f"{flag} {path} is a folder; expected a JSON file holding an object of config fields")
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{flag} {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(data), "number")
        raise ConfigError(f"{flag} {path} holds a JSON {kind}; it must hold a JSON object of config "
                          'fields, {"field": value, ...}')
    return data


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
        return loads_json(text)
    except json.JSONDecodeError:
        return text


def _set_fields(items: list[str] | None, config_class) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as fields of ``config_class`` (values parsed as JSON when possible)."""
    fields = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set latent_dim=16")
        if key.strip() not in config_class.accepted_keys():
            raise ConfigError(f"--set {item!r}: {config_class.__name__} has no field {key.strip()!r}; accepted keys: "
                              f"{', '.join(config_class.accepted_keys())}")
        key, value = key.strip(), _parse_value(value)
        if key in fields and fields[key] != value:
            raise ConfigError(f"--set {key}={fields[key]!r} and --set {item!r} disagree; give {key} once")
        fields[key] = value
    return fields


# train flags that would change a resumed run (dest, flag); --resume refuses them.
RESUME_REFUSED = (("model", "MODEL"), ("model_option", "--model"), ("model_config", "--model-config"),
                  ("training_config", "--training-config"), ("set", "--set"), ("net", "--net"),
                  ("latent_dim", "--latent-dim"), ("reconstruction_loss", "--reconstruction-loss"),
                  ("batch_size", "--batch-size"), ("lr", "--lr"), ("seed", "--seed"), ("output_dir", "--output-dir"))


def _data_source(dataset: str, data_dir: str | None, evaluated: bool) -> dict[str, Any]:
    """What a checkpoint records of its data, so that ``--resume`` finds it again."""
    return {"dataset": _dataset_key(dataset),
            "data_dir": None if data_dir is None else str(Path(data_dir).expanduser().resolve()),
            "eval": evaluated}


def _recorded_source(source: Any) -> dict[str, Any]:
    """The parts of a checkpoint's data source written by ``_data_source`` (others, e.g. from the Python API, are
    not ours to interpret)."""
    source = source if isinstance(source, dict) else {}
    kinds = {"dataset": str, "data_dir": str, "eval": bool}
    return {key: source[key] for key, kind in kinds.items() if isinstance(source.get(key), kind)}


def _train_data(dataset: str, data_dir: str | None, evaluated: bool):
    train = _load(dataset, "train", data_dir)
    return train, (_load(dataset, "validation", data_dir) if evaluated else None)


def _run(trainer) -> None:
    """``trainer.train()``; Ctrl-C becomes ``_Interrupted`` saying where the checkpoint is and how to resume."""
    try:
        trainer.train()
    except KeyboardInterrupt:
        checkpoint = None if trainer.run_dir is None else Path(trainer.run_dir) / "checkpoint_interrupted"
        if checkpoint is None or not checkpoint.is_dir():
            raise _Interrupted("no checkpoint was written") from None
        raise _Interrupted(f"checkpoint in {checkpoint}; resume with: gaekit train --resume "
                           f"{shlex.quote(str(checkpoint))}") from None


def cmd_train(args: argparse.Namespace) -> int:
    trainer = _resume(args) if args.resume is not None else _fresh_training(args)
    if trainer.is_main_process:  # under torchrun every process trains; rank 0 reports
        last = trainer.state.history[-1] if trainer.state.history else {}
        print(f"trained {trainer.model.model_config.name}: {json.dumps(last)}")
        print(f"final model: {trainer.final_model_dir}")
    return 0


def _fresh_training(args: argparse.Namespace):
    from gaekit.models import MODELS
    from gaekit.trainers import Trainer, TrainerConfig, set_seed

    if args.model and args.model_option and args.model != args.model_option:
        raise ConfigError(f"two models named: {args.model!r} and --model {args.model_option!r}")
    model_cls = MODELS.get(args.model_option or args.model or "VAE")
    fields = _json_object(args.model_config, "--model-config") if args.model_config is not None else {}
    set_fields = _set_fields(args.set, model_cls.config_class)
    training = _json_object(args.training_config, "--training-config") if args.training_config is not None else {}
    for key, value in (("num_epochs", args.epochs), ("batch_size", args.batch_size),
                       ("learning_rate", args.lr), ("output_dir", args.output_dir), ("seed", args.seed)):
        if value is not None:
            training[key] = value
    if args.no_progress:
        training["show_progress"] = False
    training_config = TrainerConfig.from_dict(training)
    dataset = args.dataset or "digits"
    train, val = _train_data(dataset, args.data_dir, not args.no_eval)
    fields.setdefault("input_dim", list(train.sample_shape))
    for key, flag, value in (("latent_dim", "--latent-dim", args.latent_dim),
                             ("reconstruction_loss", "--reconstruction-loss", args.reconstruction_loss)):
        if value is not None and key in set_fields and set_fields[key] != value:
            raise ConfigError(f"{flag} {value} and --set {key}={set_fields[key]!r} disagree; give {key} once")
        if value is not None:
            fields[key] = value
    fields.update(set_fields)
    model_config = model_cls.config_class.from_dict(fields)
    _check_shape(model_config.input_dim, train, dataset, fix=" (or leave input_dim out of the model config: it "
                                                             "defaults to the data's shape)")
    set_seed(training_config.seed)
    networks = {}
    if args.net not in (None, "mlp"):
        from gaekit.nn import create_network

        networks = {role: create_network(args.net, dataset=model_config.input_dim, role=role,
                                         latent_dim=model_config.latent_dim, model=model_cls)
                    for role in ("encoder", "decoder")}
    trainer = Trainer(model_cls(model_config, **networks), training_config, train, val,
                      data_source=_data_source(dataset, args.data_dir, val is not None))
    _run(trainer)
    return trainer


def _resume(args: argparse.Namespace):
    from gaekit.serialization import as_folder_path
    from gaekit.trainers import Trainer, read_checkpoint_info

    given = [flag for dest, flag in RESUME_REFUSED if getattr(args, dest) is not None]
    if given:
        raise ConfigError(f"--resume continues the checkpoint's run exactly, with its own configs and folder; "
                          f"{', '.join(given)} cannot be given with it (allowed: --epochs N to train to N epochs, "
                          "--data-dir, --no-progress)")
    as_folder_path(args.resume, "--resume", named=False)  # an empty path is refused, not ignored
    info = read_checkpoint_info(args.resume)
    source = _recorded_source(info.get("data_source"))
    recorded = source.get("dataset")
    if args.dataset is not None and recorded is not None and _dataset_key(args.dataset) != recorded:
        raise ConfigError(f"--dataset {args.dataset}: the checkpoint {args.resume} was trained on {recorded}; a "
                          "resumed run continues on its own data, so leave --dataset out")
    dataset = recorded or args.dataset or "digits"
    data_dir = args.data_dir if args.data_dir is not None else source.get("data_dir")
    evaluated = source.get("eval", not args.no_eval)
    if args.no_eval and evaluated:
        raise ConfigError(f"--no-eval: the checkpoint {args.resume} was trained with evaluation on the validation "
                          "split, which a resumed run keeps; leave --no-eval out")
    target = args.epochs if args.epochs is not None else info["num_epochs"]
    if target <= info["epoch"]:
        raise ConfigError(f"the checkpoint {args.resume} has finished epoch {info['epoch']} of {info['num_epochs']}: "
                          f"nothing is left to train to {target} epochs; pass --epochs N with N > {info['epoch']} "
                          "to train longer")
    train, val = _train_data(dataset, data_dir, evaluated)
    input_dim = _checkpoint_input_dim(args.resume)
    if input_dim is not None:  # else from_checkpoint names what is wrong with config.json
        _check_shape(input_dim, train, dataset)
    overrides: dict[str, Any] = {} if args.epochs is None else {"num_epochs": args.epochs}
    if args.no_progress:
        overrides["show_progress"] = False
    trainer = Trainer.from_checkpoint(args.resume, train, val, overrides=overrides)
    print(f"resuming {args.resume} at epoch {trainer.state.epoch}, step {trainer.state.step_in_epoch} on {dataset}, "
          f"training to {trainer.config.num_epochs} epochs")
    _run(trainer)
    return trainer


def _checkpoint_input_dim(checkpoint: str) -> list[int] | None:
    """The ``input_dim`` of the model config saved in a checkpoint folder (None when it is not readable)."""
    from gaekit.serialization import read_json

    config = read_json(Path(checkpoint) / "config.json", "not a gaekit training checkpoint")
    dims = config.get("input_dim") if isinstance(config, dict) else None
    return dims if isinstance(dims, list) and all(isinstance(d, int) for d in dims) else None


SAMPLER_ALIASES = {"normal": "NormalSampler", "gmm": "GaussianMixtureSampler", "vamp": "VAMPSampler",
                   "maf": "MAFSampler", "iaf": "IAFSampler", "two_stage": "TwoStageVAESampler"}


def _sampler_configs(names: str, config_file: str | None, n_components: int | None) -> list:
    """Configs of the comma-separated sampler ``names``, from ``--sampler-config`` and ``--n-components``."""
    from gaekit.samplers import SAMPLERS

    fields = _json_object(config_file, "--sampler-config") if config_file is not None else {}
    classes = []
    for name in (s.strip() for s in names.split(",") if s.strip()):
        if name not in SAMPLER_ALIASES and name not in SAMPLERS:
            raise ConfigError(f"--sampler: unknown sampler {name!r}; use one of {', '.join(SAMPLER_ALIASES)} or a "
                              f"registered sampler: {', '.join(SAMPLERS.names())}")
        classes.append(SAMPLERS.get(SAMPLER_ALIASES.get(name, name)))
    if not classes:
        raise ConfigError(f"--sampler {names!r} names no sampler")
    takes = [c for c in classes if "n_components" in c.config_class.accepted_keys()]
    if n_components is not None and not takes:
        raise ConfigError(f"--n-components applies to mixture samplers (gmm); --sampler {names} has none")
    return [c.config_class.from_dict({**fields, **({"n_components": n_components}
                                                   if n_components is not None and c in takes else {})})
            for c in classes]


def _load_model(folder: str):
    from gaekit.models import AutoModel

    return AutoModel.load_from_folder(folder)


def cmd_generate(args: argparse.Namespace) -> int:
    from gaekit.pipelines import GenerationPipeline
    from gaekit.samplers import sampler_for_config

    model = _load_model(args.model_dir)
    (sampler_config,) = _sampler_configs(args.sampler, args.sampler_config, args.n_components)
    train = None
    if sampler_for_config(sampler_config).needs_fit:
        dataset = args.dataset or "digits"
        train = _load(dataset, "train", args.data_dir)
        _check_shape(model.input_dim, train, dataset)
    elif args.dataset is not None or args.data_dir is not None:
        raise ConfigError(f"--dataset/--data-dir: the {args.sampler} sampler is not fitted on data, so they do not "
                          "apply; leave them out")
    out = Path(args.output_dir)
    samples = GenerationPipeline(model=model, sampler_config=sampler_config)(
        num_samples=args.num_samples, batch_size=args.batch_size, output_dir=str(out), train_data=train,
        seed=args.seed)
    png = out / "samples.png"
    print(f"wrote {len(samples)} samples to {out / 'samples.safetensors'}" + (f" and {png}" if png.exists() else ""))
    return 0


# evaluate flags that only some tasks use (dest, flag, tasks): given without any of them they are refused.
_FID = ("reconstruction", "generation")
TASK_FLAGS = (("sampler", "--sampler", ("generation",)), ("sampler_config", "--sampler-config", ("generation",)),
              ("n_components", "--n-components", ("generation",)), ("num_samples", "--num-samples", ("generation",)),
              ("classification_runs", "--classification-runs", ("classification",)),
              ("clustering_runs", "--clustering-runs", ("clustering",)), ("nll_samples", "--nll-samples", ("nll",)),
              ("nll_num_test", "--nll-num-test", ("nll",)), ("extractor", "--extractor", _FID),
              ("inception_weights", "--inception-weights", _FID))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gaekit.metrics import EvaluationConfig, EvaluationData, evaluate

    tasks = [t.strip().lower() for t in args.tasks.split(",") if t.strip()]
    unused = [f"{flag} (a {' / '.join(used)} setting)" for dest, flag, used in TASK_FLAGS
              if getattr(args, dest) is not None and not set(used) & set(tasks)]
    if unused:
        raise ConfigError(f"{', '.join(unused)}: not used by --tasks {args.tasks}; add the task or leave the flag "
                          "out")
    if args.inception_weights is not None and args.extractor not in (None, "auto", "inception-v3"):
        raise ConfigError(f"--inception-weights: --extractor {args.extractor} does not use them; leave one out")
    model = _load_model(args.model_dir)
    samplers = _sampler_configs(args.sampler or "normal", args.sampler_config, args.n_components)
    settings = {key: value for key, value in (
        ("classification_runs", args.classification_runs), ("clustering_runs", args.clustering_runs),
        ("num_generated", args.num_samples), ("nll_importance_samples", args.nll_samples),
        ("nll_num_test", args.nll_num_test), ("batch_size", args.batch_size), ("seed", args.seed)) if value is not None}
    config = EvaluationConfig.from_dict(_json_object(args.config, "--config")) if args.config else EvaluationConfig()
    train = _load(args.dataset, "train", args.data_dir)
    _check_shape(model.input_dim, train, args.dataset)
    data = EvaluationData(train, *(_load(args.dataset, split, args.data_dir) for split in ("validation", "test")))
    out = Path(args.out)
    result = evaluate(model, data, tasks=tasks, sampler=samplers, extractor=args.extractor or "auto", config=config,
                      output_dir=out, dataset=args.dataset, data_dir=args.data_dir, cache_dir=args.cache_dir,
                      inception_weights=args.inception_weights, download=not args.no_download,
                      show_progress=not args.no_progress, **settings)
    print(result.summary())
    for kind, path in result.files.items():
        print(f"  {kind:32s} {path}")
    print("seconds per task: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    return 0


# The folders that commands write to (dest, flag), checked before any work starts.
OUTPUT_FLAGS = (("output_dir", "--output-dir"), ("out", "--out"), ("cache_dir", "--cache-dir"))


def build_parser() -> argparse.ArgumentParser:
    from gaekit import __version__

    parser = _Parser(prog="gaekit", description="Generative autoencoders: train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"gaekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a VAE and an AE, write reconstructions, samples and metrics",
                          description="Train a VAE and an AE on real data (scikit-learn's bundled digits by "
                                      "default, no download), then write reconstructions, samples from the "
                                      "normal and GMM samplers, an interpolation (PNG grids) and metrics.json "
                                      "with the test MSE.")
    _add_data_args(demo)
    demo.add_argument("--output-dir", default="gaekit_demo", help="where everything is written (default: %(default)s)")
    demo.add_argument("--epochs", type=_positive, default=None, help="default: 60 on digits, 5 on mnist")
    demo.add_argument("--latent-dim", type=_positive, default=None, help="default: 8 on digits, 16 otherwise")
    demo.add_argument("--batch-size", type=_positive, default=64, help="default: %(default)s")
    demo.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: %(default)s)")
    demo.add_argument("--num-samples", type=_positive, default=64, help="samples per sampler (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser("train", help="train any registered model on a dataset",
                           description="Train a registered model. The model config comes from --model-config "
                                       "(JSON), --latent-dim, --reconstruction-loss and --set KEY=VALUE (flags "
                                       "override the file; two flags that disagree are refused); input_dim "
                                       "defaults to the data's shape. The training config comes from "
                                       "--training-config (JSON) and the flags, which override the file. The "
                                       "dataset's validation split is the eval data. Ctrl-C writes "
                                       "checkpoint_interrupted and prints the command that resumes it.")
    from gaekit.models import MODELS

    train.add_argument("model", nargs="?", default=None,
                       help="registered model name, one of: " + ", ".join(MODELS.names()) + " (default: VAE)")
    train.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as an option")
    _add_data_args(train, default=None, default_text="digits; with --resume, the dataset recorded in the "
                                                     "checkpoint, and a different one is refused")
    train.add_argument("--model-config", help="JSON file holding an object of model config fields (a \"name\" "
                                              "in it must be the model's)")
    train.add_argument("--training-config", help="JSON file holding an object of TrainerConfig fields")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="model config field (value parsed as JSON when possible); repeatable")
    train.add_argument("--net", default=None, choices=["mlp", "conv", "convnet", "resnet"],
                       help="encoder/decoder: the default MLP, a convolutional net for any image size, or the "
                            "paper's ConvNet / ResNet (Appendix C; MNIST, CIFAR-10, CelebA shapes) "
                            "(default: mlp)")
    train.add_argument("--latent-dim", type=_positive)
    train.add_argument("--reconstruction-loss", choices=["mse", "bce"])
    train.add_argument("--epochs", type=_positive,
                       help="num_epochs; with --resume, train the resumed run on to this many epochs")
    train.add_argument("--batch-size", type=_positive)
    train.add_argument("--lr", type=float, help="learning_rate")
    train.add_argument("--seed", type=int)
    train.add_argument("--output-dir", help="TrainerConfig.output_dir, checked before training starts")
    train.add_argument("--no-eval", action="store_true", help="do not evaluate on the validation split")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.add_argument("--resume", metavar="CHECKPOINT_DIR",
                       help="continue exactly from a checkpoint folder: model, configs, run folder and data "
                            "(--dataset, --data-dir, evaluation) are read from it; only --epochs, --data-dir "
                            "(the data moved) and --no-progress may be given with it, any other flag that would "
                            "change the run is refused. Ctrl-C during training writes checkpoint_interrupted "
                            "and prints the command to resume it (exit 130)")
    train.set_defaults(func=cmd_train)

    gen = sub.add_parser("generate", help="sample from a trained model folder",
                         description="Load a saved model folder, draw samples with a sampler and write "
                                     "samples.safetensors (and samples.png for image data).")
    gen.add_argument("model_dir", help="a saved model folder (e.g. .../final_model)")
    gen.add_argument("--sampler", default="normal",
                     help="normal, gmm, vamp (VAMP models), maf, iaf, two_stage or any registered sampler class name "
                          "(default: %(default)s); samplers that need fitting are fitted on --dataset")
    gen.add_argument("--sampler-config", help="JSON file holding an object of the sampler's config fields")
    gen.add_argument("--n-components", type=_positive, default=None, help="GMM components (the config's default: 10)")
    _add_data_args(gen, default=None, default_text="digits; only for samplers fitted on data, the dataset must "
                                                   "have the model's input shape")
    gen.add_argument("--num-samples", type=_positive, default=100, help="default: %(default)s")
    gen.add_argument("--batch-size", type=_positive, default=500, help="default: %(default)s")
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
                    help="comma-separated tasks (default: all); the flags of a task not run (e.g. "
                         "--sampler without generation) are refused")
    ev.add_argument("--sampler", default=None,
                    help="comma-separated samplers for the generation task: normal, gmm, vamp, maf, iaf, two_stage or "
                         "registered sampler class names (default: normal); fitted on the train split")
    ev.add_argument("--sampler-config", help="JSON file holding an object of sampler config fields (applied "
                                             "to every sampler)")
    ev.add_argument("--n-components", type=_positive, default=None, help="GMM components (the config's default: 10)")
    ev.add_argument("--extractor", default=None,
                    help="FID/IS feature extractor of the reconstruction and generation tasks: auto (Inception-v3 "
                         "when its weights are here, else the dataset's classifier), inception-v3, "
                         "mnist-classifier, fashion-mnist-classifier, digits-classifier or none (default: auto)")
    ev.add_argument("--inception-weights", metavar="PATH",
                    help="the FID Inception weights (pt_inception-2015-12-05-6726825d.pth or its .safetensors)")
    ev.add_argument("--no-download", action="store_true", help="never download the Inception weights")
    ev.add_argument("--cache-dir", help="gaekit cache folder (default: $GAEKIT_CACHE_DIR or ~/.cache/gaekit)")
    ev.add_argument("--config", help="JSON file holding an object of EvaluationConfig fields")
    ev.add_argument("--classification-runs", type=_positive, help="linear classifier runs (default: 20)")
    ev.add_argument("--clustering-runs", type=_positive, help="k-means runs (default: 100)")
    ev.add_argument("--num-samples", type=_positive, help="generated samples per sampler (default: the test-set size)")
    ev.add_argument("--nll-samples", type=_positive, help="importance samples per image for the NLL (default: 100)")
    ev.add_argument("--nll-num-test", type=_positive, help="test images for the NLL (default: all)")
    ev.add_argument("--batch-size", type=_positive, help="default: 500")
    ev.add_argument("--seed", type=int, help="default: 0")
    ev.add_argument("--out", default="gaekit_eval", help="output folder (default: %(default)s)")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    ev.set_defaults(func=cmd_evaluate)

    from gaekit.bench.commands import add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gaekit.bench.commands import default_bench_command

    try:  # building the parser imports torch and the models: seconds in which Ctrl-C may come
        args = build_parser().parse_args(default_bench_command(sys.argv[1:] if argv is None else list(argv)))
    except KeyboardInterrupt:
        print("gaekit: interrupted while starting; nothing was run or written", file=sys.stderr)
        return 130
    try:
        for dest, flag in OUTPUT_FLAGS:
            if getattr(args, dest, None) is not None:
                _check_output_dir(getattr(args, dest), flag)
        return args.func(args)
    except GaekitError as err:  # one line, also for messages that list places searched on lines of their own
        message = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"gaekit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C: one line (where the checkpoint went), not a traceback
        print(f"gaekit {args.command}: interrupted" + (f"; {err}" if str(err) else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
