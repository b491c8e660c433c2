"""``gaekit reproduce``: shipped recipes validate and run end to end (``--smoke``), runs resume, rows and reports say
what they obtained against what the paper published, and on which data."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from gaekit.cli import main
from gaekit.errors import ConfigError, DataError
from gaekit.reproduce import Recipe, get_recipe, load_recipes, run_recipe, write_report

RECIPES = load_recipes()


def _smoke_data_dir(recipe: Recipe, tmp_path):
    """Where the smoke run finds the recipe's data: None (the usual lookup) when it is on this machine; for
    CelebA, a folder in the official layout made of the real sample faces of ``$GAEKIT_DATA_DIR``; else a skip."""
    from gaekit.data import load_dataset

    try:
        load_dataset(recipe.dataset, "test")
        return None
    except DataError:
        pass
    sample = Path(os.environ.get("GAEKIT_DATA_DIR", "")) / "celeba-sample" / "align_178x218"
    if recipe.dataset != "celeba" or not sample.is_dir():
        pytest.skip(f"{recipe.dataset} is not on this machine (the recipe's data: {recipe.data_note or 'the paper'})")
    faces = sorted(sample.glob("*.jpg"))[:32]
    images = tmp_path / "data" / "celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    for face in faces:
        shutil.copy(face, images / face.name)
    # the official partition codes: 0 train, 1 validation, 2 test
    codes = [0] * 16 + [1] * 8 + [2] * (len(faces) - 24)
    (images.parent / "list_eval_partition.txt").write_text("".join(f"{f.name} {c}\n" for f, c in zip(faces, codes)))
    return tmp_path / "data"


def test_every_shipped_recipe_validates_and_is_named_by_its_file():
    assert RECIPES and all(key == r.recipe for key, r in RECIPES.items())
    for recipe in RECIPES.values():
        assert Recipe.from_dict(json.loads(recipe.to_json_string())) == recipe
        recipe.model_class()


@pytest.mark.parametrize("key", sorted(RECIPES))
def test_every_recipe_runs_end_to_end_in_its_smoke_form(key, tmp_path):
    recipe = RECIPES[key]
    result = run_recipe(recipe, tmp_path / key, smoke=True, data_dir=_smoke_data_dir(recipe, tmp_path))
    assert result.smoke and len(result.values) == 1 and result.values[0] == result.values[0]  # a number, not NaN
    saved = json.loads((tmp_path / key / "result.json").read_text())
    assert saved["recipe"] == key and saved["mean"] == result.mean and saved["reference"] == recipe.reference
    row = (tmp_path / key / "row.md").read_text()
    assert "smoke run, not a reproduction" in row and f"{recipe.reference:.2f}" in row


def test_a_finished_repeat_is_not_run_again_and_a_measured_run_measures_the_same(tmp_path):
    recipe = RECIPES["pvae-mnist"]
    _smoke_data_dir(recipe, tmp_path)
    first = run_recipe(recipe, tmp_path / "run", smoke=True)
    value = tmp_path / "run" / "repeat_1" / "value.json"
    stamp = value.stat().st_mtime_ns
    assert run_recipe(recipe, tmp_path / "run", smoke=True).values == first.values
    assert value.stat().st_mtime_ns == stamp  # read, not recomputed
    value.unlink()  # measured again from the trained run's checkpoint: the same number
    assert run_recipe(recipe, tmp_path / "run", smoke=True).values == first.values


@pytest.mark.parametrize("change, named", [
    ({"model": "NoSuchVAE"}, "model"),
    ({"dataset": "nosuchdata"}, "dataset"),
    ({"model_config": {"latent_dim": -1}}, "model_config"),
    ({"training": {"num_epochs": 0}}, "training"),
    ({"metric": "nll", "num_importance_samples": None}, "num_importance_samples"),
    ({"data_matches_paper": False, "data_note": None}, "data_note"),
    ({"needs": ("quantum",)}, "needs"),
    ({"tolerance": 0.0}, "tolerance"),
    ({"recipe": "PVAE MNIST"}, "recipe"),
    ({"metric": "fid", "sampler": "no-such-sampler"}, "sampler"),
    ({"metric": "fid", "sampler": "gmm", "sampler_options": {"num_components": 0}}, "sampler_options"),
    ({"other_references": {"objective": "high"}}, "other_references"),
    ({"train_split": "test"}, "train_split"),
    ({"measure_split": "everything"}, "measure_split"),
])
def test_a_bad_recipe_is_a_config_error_naming_the_field(change, named):
    data = {**RECIPES["pvae-mnist"].to_dict(), **change}
    with pytest.raises(ConfigError, match=named):
        Recipe.from_dict(data)


def test_a_stand_in_row_says_so_and_the_report_gathers_rows(tmp_path):
    from gaekit.reproduce.recipe import RecipeResult

    base = dict(metric="nll", reference=89.9, tolerance=1.0, source="a paper", smoke=False, seconds=1.0, device="cpu")
    for key, values, matches in (("a", [90.5, 90.1], True), ("b", [95.0], False)):
        result = RecipeResult(recipe=key, values=values, data_matches_paper=matches,
                              data_note=None if matches else "a seeded binarization", **base)
        (tmp_path / key).mkdir()
        (tmp_path / key / "result.json").write_text(json.dumps(result.to_dict()))
    report = write_report(tmp_path).read_text()
    assert "| `a` | nll | 90.30 ± 0.28 (2 runs) | 89.90 | +0.40 | yes (±1) | the paper's |" in report
    assert "| `b` | nll | 95.00 ± 0.00 (1 run) | 89.90 | +5.10 | no (±1) | stand-in: a seeded binarization |" in report
    assert "2 recipe run(s); 1 within the tolerance" in report
    # the plot of obtained against published (matplotlib is a dev dependency)
    assert "![obtained against published](report.png)" in report and (tmp_path / "report.png").stat().st_size > 0
    # a result.json written before other_references existed reads as it was
    old = json.loads((tmp_path / "b" / "result.json").read_text())
    for key in ("other_references", "other_means"):
        old.pop(key)
    (tmp_path / "b" / "result.json").write_text(json.dumps(old))
    assert "| `b` | nll | 95.00 ± 0.00 (1 run)" in write_report(tmp_path).read_text()


def test_the_command_lists_every_recipe_and_refuses_unknown_ones_in_one_line(capsys, tmp_path):
    assert main(["reproduce", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(f"`{key}`" in listing for key in RECIPES)
    assert main(["reproduce", "no-such-recipe", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown recipe 'no-such-recipe'" in err[0] and not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="unknown recipe"):
        get_recipe("nope")


def test_smoke_form_is_short_and_keeps_the_recipe():
    recipe = RECIPES["pvae-mnist"]
    smoke = recipe.smoke()
    assert smoke.training["num_epochs"] == 1 and smoke.repeats == 1 and smoke.num_importance_samples == 2
    assert dataclasses.replace(smoke, training=recipe.training, repeats=recipe.repeats,
                               num_importance_samples=recipe.num_importance_samples) == recipe


def test_a_run_keeps_only_its_newest_checkpoint(tmp_path):
    """A long schedule checkpoints every epoch; ``KeepNewestCheckpoint`` (which recipe runs and the bench use)
    keeps only the newest, the one a run resumes from."""
    import torch
    from conftest import tiny_model

    from gaekit.trainers import KeepNewestCheckpoint, Trainer, TrainerConfig

    config = TrainerConfig(output_dir=str(tmp_path), num_epochs=3, batch_size=16, checkpoint_every_n_epochs=1,
                           show_progress=False, device="cpu")
    trainer = Trainer(tiny_model("VAE"), config, torch.rand(32, 1, 8, 8), callbacks=[KeepNewestCheckpoint()])
    trainer.train()
    assert sorted(p.name for p in trainer.run_dir.glob("checkpoint_*")) == ["checkpoint_epoch_3"]


def test_the_elbo_metric_is_reconstruction_plus_kl_and_reports_the_objective_beside_it(tmp_path):
    """``metric="elbo"`` (the beta-TC-VAE row): -ELBO = recon + closed-form KL, measured on ``measure_split``
    in eval mode; the model's own objective (the modified ELBO) is reported beside it, with its published value
    in the row, not judged."""
    import torch

    recipe = RECIPES["betatcvae-dsprites"]
    assert recipe.metric == "elbo" and recipe.train_split == recipe.measure_split == "train_full"
    result = run_recipe(recipe, tmp_path / "run", smoke=True)
    (detail,) = result.details
    assert detail["value"] == pytest.approx(detail["recon_loss"] + detail["kl"])
    assert detail["num_images"] == 64  # the smoke run's slice of train_full: measured where it trained
    # beta = 6 weighs the total correlation estimate: the objective is not the ELBO
    assert detail["objective"] != pytest.approx(detail["value"])
    assert "objective" in result.other_means()
    row = result.row()
    assert f"objective {detail['objective']:.2f} (reference 712.26)" in row and "86.40" in row
    # the same numbers by hand: the trained model's per-image terms over the 64 images, in eval mode
    from gaekit.data import load_dataset
    from gaekit.models import AutoModel
    from gaekit.trainers import Trainer, TrainerConfig

    (final,) = (tmp_path / "run" / "repeat_1" / "train").glob("*/final_model")
    model = AutoModel.load_from_folder(final)
    data = load_dataset("dsprites", "train_full").subset(slice(0, 64))
    config = TrainerConfig(output_dir=None, batch_size=32, show_progress=False, device="cpu", seed=recipe.seed)
    terms = Trainer(model, config, data).evaluate(data)  # the same noise seed as the run's evaluation
    assert terms["recon_loss"] + terms["kl"] == pytest.approx(detail["value"], rel=1e-5)
    assert torch.isfinite(torch.tensor(detail["objective"]))


def test_a_model_without_elbo_terms_is_refused_for_the_elbo_metric(tmp_path):
    recipe = dataclasses.replace(RECIPES["rae-l2-mnist"], metric="elbo", recipe="rae-elbo")
    with pytest.raises(ConfigError, match="no ELBO to measure"):
        run_recipe(recipe, tmp_path / "run", smoke=True)
