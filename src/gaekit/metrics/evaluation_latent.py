"""Tasks 3-5 of the Pythae benchmark (arXiv:2206.08309, Section 4.2), which work on the latent codes:
classification (linear probe), clustering (k-means), interpolation and traversal grids; and the
importance-sampled NLL of variational models."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from gaekit.errors import DataError
from gaekit.metrics.evaluation_run import EvaluationRun, batches, first_images, progress_bar
from gaekit.metrics.probes import kmeans_accuracy, linear_probe


def classification(run: EvaluationRun) -> None:
    """Linear probes on the train embeddings, selected on validation, scored on test."""
    cfg = run.cfg
    z = {s: run.embeddings(s) for s in ("train", "validation", "test")}
    with progress_bar(run.show, cfg.classification_epochs, "linear classifier") as bar:
        run.result.classification = linear_probe(
            *z["train"], *z["validation"], *z["test"], runs=cfg.classification_runs,
            epochs=cfg.classification_epochs, batch_size=cfg.classification_batch_size,
            learning_rate=cfg.classification_lr, weight_decay=cfg.classification_weight_decay, seed=cfg.seed,
            progress=bar.update)


def clustering(run: EvaluationRun) -> None:
    """k-means on the train embeddings, clusters labelled by their most frequent class."""
    z_train, y_train = run.embeddings("train")
    z_test = y_test = None
    if run.data.test is not None:
        z_test, y_test = run.embeddings("test")
    with progress_bar(run.show, run.cfg.clustering_runs, "k-means") as bar:
        run.result.clustering = kmeans_accuracy(z_train, y_train, runs=run.cfg.clustering_runs,
                                                seed=run.cfg.seed, test_z=z_test, test_y=y_test,
                                                progress=bar.update)


def interpolation(run: EvaluationRun) -> None:
    """Decoded linear paths between pairs of test codes (Appendix B) and a latent traversal, as PNG grids."""
    from gaekit.models.base import inference_mode

    cfg, model = run.cfg, run.model
    pairs = min(cfg.interpolation_pairs, len(run.data.test) // 2)
    if pairs < 1:
        raise DataError("interpolation needs at least 2 test images")
    x = first_images(run.data.test, 2 * pairs, model.device)
    path = model.interpolate(x[:pairs], x[pairs:2 * pairs], steps=cfg.interpolation_steps).cpu()
    rows = torch.cat([x[:pairs].cpu().unsqueeze(1), path, x[pairs:2 * pairs].cpu().unsqueeze(1)], dim=1)
    out: dict[str, Any] = {"pairs": pairs, "steps": cfg.interpolation_steps,
                           "layout": "one row per pair: start image, decoded path (both ends "
                                     "included), end image"}
    out["interpolation_png"] = run.save_grid("interpolation", rows.reshape(-1, *rows.shape[2:]),
                                             "interpolation.png", nrow=cfg.interpolation_steps + 2)
    # traversal around the first image's code, in units of each dimension's spread over test images
    # (codes that are maps, as a VQ-VAE's with a convolutional encoder, are traversed flattened)
    spread_z = model.embed(first_images(run.data.test, min(len(run.data.test), cfg.batch_size), model.device))
    code_shape, spread_z = spread_z.shape[1:], spread_z.flatten(1)
    std = spread_z.std(0) if len(spread_z) > 1 else torch.ones(spread_z.shape[1], device=spread_z.device)
    dims = min(cfg.traversal_dims, spread_z.shape[1])
    z0 = model.embed(x[:1]).flatten(1)[0]
    offsets = torch.linspace(-cfg.traversal_range, cfg.traversal_range, cfg.traversal_steps, device=z0.device)
    codes = z0.repeat(dims, cfg.traversal_steps, 1)
    for d in range(dims):
        codes[d, :, d] += offsets * std[d]
    with inference_mode(model):
        decoded = model.decode(codes.reshape(-1, *code_shape)).cpu()
    out.update(traversal_dims=dims, traversal_steps=cfg.traversal_steps, traversal_range=cfg.traversal_range,
               traversal_layout="one row per latent dimension d (the first ones): the first pair's start "
                                "code with z_d moved by -range..+range standard deviations")
    out["traversal_png"] = run.save_grid("traversal", decoded, "traversal.png", nrow=cfg.traversal_steps)
    if out["interpolation_png"] is None:
        why = "no output_dir given" if run.output_dir is None else "the data is not image-shaped"
        run.result.notes["interpolation"] = f"grids not written: {why}"
    run.result.interpolation = out


def nll(run: EvaluationRun) -> None:
    """The importance-sampled negative log-likelihood of the test images (nats)."""
    cfg, model = run.cfg, run.model
    log_likelihood: Callable[..., Tensor] = model.log_likelihood
    takes_generator = "generator" in inspect.signature(log_likelihood).parameters
    generator = torch.Generator(device=model.device).manual_seed(cfg.seed)
    limit = min(cfg.nll_num_test or len(run.data.test), len(run.data.test))
    kwargs = {"generator": generator} if takes_generator else {}
    values, done = [], 0
    with progress_bar(run.show, limit, "importance-sampled NLL") as bar:
        for batch in batches(run.data.test, cfg.nll_batch_size, model.device):
            x = batch.data[:limit - done]
            values.append(log_likelihood(x, cfg.num_importance_samples, **kwargs)  # positional: any model's name
                          .detach().to("cpu", torch.float64))
            done += len(x)
            bar.update(len(x))
            if done >= limit:
                break
    ll = torch.cat(values)
    run.result.nll = {"nll": float(-ll.mean()), "nll_std": float(ll.std()) if len(ll) > 1 else 0.0,
                      "num_test": len(ll), "importance_samples": cfg.num_importance_samples, "unit": "nats"}

