"""``gaekit demo``: train a VAE and an AE, then write reconstructions, samples, an interpolation and metrics."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from gaekit.cli.inputs import _load

DEMO_EPOCHS = {"digits": 60, "mnist": 5}


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
    gmm = GenerationPipeline(model=model, sampler_config=GaussianMixtureSamplerConfig(num_components=10))(
        num_samples=num_samples, train_data=train, seed=seed)
    save_image_grid(gmm, files["samples_gmm"], scale=scale)
    path = model.interpolate(x[:8], x[8:16], steps=10).cpu()
    save_image_grid(path.reshape(-1, *path.shape[2:]), files["interpolation"], nrow=10, scale=scale)
    return {k: str(v) for k, v in files.items()}


def cmd_demo(args: argparse.Namespace) -> int:
    from gaekit.models import create_model
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
    for name in ("VAE", "AE"):
        set_seed(args.seed)
        model = create_model(name, input_dim=input_dim, latent_dim=latent_dim, reconstruction_loss="bce")
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
