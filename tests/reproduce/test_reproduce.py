"""``gaekit reproduce``: shipped recipes validate and run end to end (``--smoke``), runs resume, rows and reports say
what they obtained against what the paper published, and on which data."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gaekit.cli import main
from gaekit.errors import ConfigError, DataError
from gaekit.reproduce import Recipe, get_recipe, load_recipes, run_recipe, write_report

RECIPES = load_recipes()


def _smoke_data_available(recipe: Recipe) -> bool:
    from gaekit.data import load_dataset

    try:
        load_dataset(recipe.dataset, "test")
    except DataError:
        return False
    return True


def test_every_shipped_recipe_validates_and_is_named_by_its_file():
    assert RECIPES and all(key == r.recipe for key, r in RECIPES.items())
    for recipe in RECIPES.values():
        assert Recipe.from_dict(json.loads(recipe.to_json_string())) == recipe
        recipe.model_class()


@pytest.mark.parametrize("key", sorted(RECIPES))
def test_every_recipe_runs_end_to_end_in_its_smoke_form(key, tmp_path):
    recipe = RECIPES[key]
    if not _smoke_data_available(recipe):
        pytest.skip(f"{recipe.dataset} is not on this machine (the recipe's data: {recipe.data_note or 'the paper'})")
    result = run_recipe(recipe, tmp_path / key, smoke=True)
    assert result.smoke and len(result.values) == 1 and result.values[0] == result.values[0]  # a number, not NaN
    saved = json.loads((tmp_path / key / "result.json").read_text())
    assert saved["recipe"] == key and saved["mean"] == result.mean and saved["reference"] == recipe.reference
    row = (tmp_path / key / "row.md").read_text()
    assert "smoke run, not a reproduction" in row and f"{recipe.reference:.2f}" in row


def test_a_finished_repeat_is_not_run_again_and_a_measured_run_measures_the_same(tmp_path):
    recipe = RECIPES["pvae-mnist"]
    if not _smoke_data_available(recipe):
        pytest.skip("real MNIST is not on this machine")
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
