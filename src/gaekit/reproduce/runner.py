"""``run_recipe``: train a recipe's model with the paper's schedule, measure it as the paper did, compare.

Each repeat trains in ``OUT/repeat_<i>/train`` (checkpointed every epoch: a run stopped at any point resumes
from its newest checkpoint, exactly), then measures the recipe's metric on the test split and writes
``OUT/repeat_<i>/value.json``; a repeat with its value is not run again. When every repeat is done,
``OUT/result.json`` and ``OUT/row.md`` hold the obtained mean ± std against the reference.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gaekit.errors import ConfigError
from gaekit.reproduce.recipe import ROW_HEADER, Recipe, RecipeResult

# a smoke run's data: enough for every split to make a batch, small enough for seconds
SMOKE_SIZES = {"train": 64, "train_full": 64, "validation": 32, "test": 32}


def run_recipe(recipe: Recipe, out: str | Path, *, repeats: int | None = None, device: str = "cpu",
               data_dir: str | Path | None = None, smoke: bool = False, show_progress: bool = False,
               inception_weights: str | Path | None = None) -> RecipeResult:
    """Train and measure ``recipe`` ``repeats`` times (default: the recipe's) in ``out``; return the result.

    Parameters
    ----------
    recipe : Recipe
    out : str or Path
        The run's folder (created; a folder of an earlier call continues where it stopped).
    repeats : int, optional
    device : str, default "cpu"
        The trainer's device (``"cuda"`` on a GPU machine).
    data_dir : str or Path, optional
        Where the dataset is looked up first (see ``gaekit.data.find_data_dir``).
    smoke : bool, default False
        Shorten to seconds (one epoch on a few hundred images, 2 importance samples): checks that the recipe
        runs end to end; its row says it is no reproduction.
    inception_weights : str or Path, optional
        The FID Inception-v3 weights file for ``fid`` recipes (default: gaekit's cache; downloaded once, and
        checked against its sha256, when missing).
    """
    from gaekit.serialization import ensure_output_folder, read_json, write_json

    if smoke:
        recipe = recipe.smoke()
    repeats = recipe.repeats if repeats is None else repeats
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"repeats={repeats!r} is invalid: expected a positive int")
    if inception_weights is not None and not Path(inception_weights).expanduser().is_file():
        raise ConfigError(f"inception_weights={str(inception_weights)!r}: no such file (the FID Inception-v3 "
                          "weights, pt_inception-2015-12-05-6726825d.pth or its .safetensors conversion)")
    start = time.perf_counter()
    splits = _splits(recipe, data_dir, smoke)  # before anything is written: missing data leaves no folder
    out = ensure_output_folder(out, "gaekit reproduce: --out")
    details = []
    for i in range(1, repeats + 1):
        folder = out / f"repeat_{i}"
        if not (folder / "value.json").is_file():
            trainer = _train(recipe, folder / "train", recipe.seed + i - 1, device, splits, show_progress)
            write_json(folder / "value.json",
                       {"seed": recipe.seed + i - 1,
                        **_measure(recipe, trainer, splits, smoke, inception_weights)})
        details.append(read_json(folder / "value.json", "recipe value"))
    result = RecipeResult(recipe=recipe.recipe, metric=recipe.metric, values=[d["value"] for d in details],
                          reference=recipe.reference, tolerance=recipe.tolerance, source=recipe.source,
                          data_matches_paper=recipe.data_matches_paper, data_note=recipe.data_note, smoke=smoke,
                          seconds=round(time.perf_counter() - start, 1), device=device, details=details,
                          other_references=dict(recipe.other_references))
    write_json(out / "result.json", result.to_dict())
    (out / "row.md").write_text(f"{ROW_HEADER}\n{result.row()}\n")
    return result


def _splits(recipe: Recipe, data_dir: str | Path | None, smoke: bool) -> dict[str, Any]:
    """``train`` (the recipe's ``train_split``), ``validation`` (None when training on ``train_full``) and
    ``measure`` (its ``measure_split``), each loaded once."""
    from gaekit.data import load_dataset

    names = {"train": recipe.train_split, "measure": recipe.measure_split}
    if recipe.train_split == "train":
        names["validation"] = "validation"
    loaded = {split: load_dataset(recipe.dataset, split, root=data_dir) for split in set(names.values())}
    if smoke:
        loaded = {split: d.subset(slice(0, min(len(d), SMOKE_SIZES[split]))) for split, d in loaded.items()}
    return {"validation": None, **{role: loaded[split] for role, split in names.items()}}


def _train(recipe: Recipe, training_dir: Path, seed: int, device: str, splits: dict[str, Any],
           show_progress: bool):
    """The trainer of the trained model: resumed from the newest checkpoint under ``training_dir`` when there
    is one."""
    from gaekit.bench.runner import latest_checkpoint
    from gaekit.models import create_model
    from gaekit.trainers import KeepNewestCheckpoint, Trainer, set_seed

    checkpoint = latest_checkpoint(training_dir) if training_dir.is_dir() else None
    if checkpoint is not None:
        trainer = Trainer.from_checkpoint(checkpoint, splits["train"], splits["validation"],
                                          callbacks=[KeepNewestCheckpoint()],
                                          overrides={"show_progress": show_progress})
    else:
        config = recipe.trainer_config(output_dir=str(training_dir), seed=seed, device=device,
                                       show_progress=show_progress, checkpoint_every_n_epochs=1)
        set_seed(seed)
        fields = {"input_dim": list(splits["train"].sample_shape), **recipe.model_config}
        trainer = Trainer(create_model(recipe.model, **fields), config, splits["train"], splits["validation"],
                          callbacks=[KeepNewestCheckpoint()])
    trainer.train()
    return trainer


def _measure(recipe: Recipe, trainer: Any, splits: dict[str, Any], smoke: bool,
             inception_weights: str | Path | None) -> dict[str, Any]:
    """The recipe's metric on its ``measure_split``, as the paper measured it."""
    from gaekit.metrics import EvaluationData, evaluate

    model = trainer.model
    if recipe.metric == "elbo":
        return {**_negative_elbo(recipe, trainer, splits["measure"]), "num_images": len(splits["measure"])}
    data = EvaluationData(splits["train"], splits["validation"], splits["measure"])
    if recipe.metric == "nll":
        result = evaluate(model, data, tasks="nll", extractor="none",
                          num_importance_samples=recipe.num_importance_samples)
        if not result.nll:
            raise ConfigError(f"recipe {recipe.recipe!r}: {recipe.model} has no log_likelihood to measure the NLL")
        return {"value": result.nll["nll"], "nll_std": result.nll["nll_std"], "num_test": result.nll["num_test"]}
    # the paper's FID needs the Inception-v3; a smoke run scores with a fixed random projection (seconds)
    extractor = _smoke_extractor(model.input_dim) if smoke else "inception-v3"
    result = evaluate(model, data, tasks="generation", sampler=recipe.sampler_config() or "normal",
                      extractor=extractor, dataset=recipe.dataset, inception_weights=inception_weights)
    (values,) = result.generation.values()  # one sampler
    fid = next(v for k, v in values.items() if k.startswith("fid"))
    return {"value": fid, "sampler": recipe.sampler, "extractor": "random projection (smoke)" if smoke else
            "inception-v3"}


def _negative_elbo(recipe: Recipe, trainer: Any, data: Any) -> dict[str, float]:
    """``-ELBO = recon_loss + kl`` and the model's own objective (its loss), per image, averaged over ``data`` in
    batches of the training batch size (the trainer's evaluation: eval mode, fixed noise, the training set's
    size for estimators that need it)."""
    terms = trainer.evaluate(data)
    if "recon_loss" not in terms or "kl" not in terms:
        raise ConfigError(f"recipe {recipe.recipe!r}: {recipe.model} reports no 'recon_loss' and 'kl' terms, so it "
                          f"has no ELBO to measure (it reports {', '.join(sorted(terms))})")
    return {"value": terms["recon_loss"] + terms["kl"], "objective": terms["loss"], "recon_loss": terms["recon_loss"],
            "kl": terms["kl"]}


def _smoke_extractor(input_dim: tuple[int, ...]):
    """A fixed random linear map of the flattened image to 16 features: lets a smoke run compute an FID."""
    import math

    import torch
    from torch import nn

    projection = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_dim), 16))
    with torch.no_grad():
        generator = torch.Generator().manual_seed(0)
        for p in projection.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[-1]))
    return projection.eval()
