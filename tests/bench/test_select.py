"""Selection per task on validation, reported on test (Pythae paper, Section 4.2), on synthetic studies."""

from __future__ import annotations

import pytest
from bench.study_factory import result, write_run, write_study

from gaekit.bench import layout
from gaekit.bench.select import load_study, sampler_label, select_study
from gaekit.errors import DataError


def _only(study_dir):
    (selection,) = select_study(load_study(study_dir))
    return selection


def test_reconstruction_picks_lowest_validation_mse_not_lowest_test(tmp_path):
    write_study(tmp_path)
    write_run(tmp_path, config_index=1, validation=result(mse=0.010), test=result(mse=0.005, rec_fid=3.0))
    write_run(tmp_path, config_index=2, validation=result(mse=0.008), test=result(mse=0.009, rec_fid=7.0))
    write_run(tmp_path, config_index=3, validation=result(mse=0.012), test=result(mse=0.001, rec_fid=1.0))
    choice = _only(tmp_path).reconstruction
    assert choice.config_index == 2
    assert choice.criterion.mean == pytest.approx(0.008)
    assert choice.values["mse"].mean == pytest.approx(0.009)
    assert choice.values["fid"].mean == pytest.approx(7.0)


def test_classification_picks_highest_validation_accuracy_and_clustering_its_own(tmp_path):
    write_run(tmp_path, config_index=1, test=result(cls=(0.90, 0.95, 0.01), clu=(0.60, 0.02)))
    write_run(tmp_path, config_index=2, test=result(cls=(0.93, 0.91, 0.02), clu=(0.70, 0.03)))
    write_run(tmp_path, config_index=3, test=result(cls=(0.80, 0.99, 0.01), clu=(0.65, 0.01)))
    selection = _only(tmp_path)
    assert selection.classification.config_index == 2
    accuracy = selection.classification.values["accuracy"]
    assert (accuracy.mean, accuracy.std, accuracy.over) == (pytest.approx(0.91), pytest.approx(0.02),
                                                            "classifier runs")
    assert selection.clustering.config_index == 2
    assert selection.clustering.values["accuracy"].over == "k-means runs"


def test_generation_is_selected_per_sampler_and_drives_interpolation_and_training_time(tmp_path):
    write_run(tmp_path, config_index=1, train_seconds=11.0,
              validation=result(gen={"normal": (20.0, 2.0), "gmm": (15.0, 2.1)}),
              test=result(gen={"normal": (21.0, 2.0), "gmm": (14.0, 2.2)}))
    write_run(tmp_path, config_index=2, train_seconds=22.0,
              validation=result(gen={"normal": (25.0, 2.0), "gmm": (9.0, 2.3)}),
              test=result(gen={"normal": (19.0, 2.0), "gmm": (16.0, 2.0)}))
    selection = _only(tmp_path)
    assert selection.generation["normal"].config_index == 1
    assert selection.generation["gmm"].config_index == 2
    assert selection.generation["gmm"].values["fid"].mean == pytest.approx(16.0)
    assert selection.generation["gmm"].values["is"].mean == pytest.approx(2.0)
    assert selection.best_sampler == "gmm"
    assert selection.interpolation.config_index == 2
    assert selection.train_seconds().mean == pytest.approx(22.0)
    assert selection.chosen_for(1) == ["generation:normal"]


def test_without_gmm_the_prior_and_the_best_sampler_are_used(tmp_path):
    write_run(tmp_path, config_index=1, train_seconds=5.0, validation=result(gen={"normal": (20.0, 2.0)}),
              test=result(gen={"normal": (20.0, 2.0)}))
    write_run(tmp_path, config_index=2, train_seconds=7.0, validation=result(gen={"normal": (30.0, 2.0)}),
              test=result(gen={"normal": (10.0, 2.0)}))
    selection = _only(tmp_path)
    assert selection.interpolation.config_index == 1
    assert selection.train_seconds().mean == pytest.approx(5.0)


def test_seeds_are_averaged_before_selecting(tmp_path):
    # c1: seeds 0.010 and 0.006 (mean 0.008) beats c2's single 0.009 though c1's first seed is worse
    write_run(tmp_path, config_index=1, seed=0, validation=result(mse=0.010), test=result(mse=0.011))
    write_run(tmp_path, config_index=1, seed=1, validation=result(mse=0.006), test=result(mse=0.007))
    write_run(tmp_path, config_index=2, seed=0, validation=result(mse=0.009), test=result(mse=0.002))
    choice = _only(tmp_path).reconstruction
    assert choice.config_index == 1 and len(choice.runs) == 2
    assert choice.values["mse"].mean == pytest.approx(0.009)
    assert choice.values["mse"].std == pytest.approx(0.002)  # population std over the two seeds
    assert choice.values["mse"].over == "seeds" and choice.values["mse"].n == 2


def test_failed_and_unfinished_runs_are_excluded(tmp_path):
    write_run(tmp_path, config_index=1, validation=result(mse=0.010), test=result(mse=0.010))
    write_run(tmp_path, config_index=2, status=layout.FAILED, error="boom",
              validation=result(mse=0.001), test=result(mse=0.001))
    write_run(tmp_path, config_index=3, status=layout.RUNNING, validation=result(mse=0.002))
    write_run(tmp_path, config_index=4, status=layout.PENDING)
    study = load_study(tmp_path)
    assert [r.config_index for r in study.failed] == [2]
    assert sorted(r.config_index for r in study.unfinished) == [3, 4]
    (selection,) = select_study(study)
    assert list(selection.group.configs) == [1]
    assert selection.reconstruction.config_index == 1


def test_missing_tasks_and_metrics_give_no_choice_instead_of_crashing(tmp_path):
    write_run(tmp_path, config_index=1, validation=None, test=result(mse=0.004))  # no validation file
    write_run(tmp_path, config_index=2, validation=result(mse=0.009), test=result(mse=0.009))
    selection = _only(tmp_path)
    assert selection.reconstruction.config_index == 2  # c1 has no validation MSE: not a candidate
    assert selection.classification is None and selection.clustering is None and selection.generation == {}
    assert selection.reconstruction.values["fid"] is None  # no reconstruction FID in the results


def test_ties_go_to_the_lowest_config_index(tmp_path):
    for index in (3, 1, 2):
        write_run(tmp_path, config_index=index, validation=result(mse=0.005), test=result(mse=0.005))
    assert _only(tmp_path).reconstruction.config_index == 1


def test_groups_follow_the_paper_order_and_split_settings(tmp_path):
    for model in ("RAE-GP", "Custom", "VAE", "beta-VAE"):
        write_run(tmp_path, model=model, validation=result(mse=0.01), test=result(mse=0.01))
    write_run(tmp_path, model="VAE", latent_dim=8, validation=result(mse=0.01), test=result(mse=0.01))
    write_run(tmp_path, model="AE", dataset="cifar10", latent_dim=256, validation=result(mse=0.01))
    keys = [(s.group.dataset, s.group.latent_dim, s.group.model) for s in select_study(load_study(tmp_path))]
    assert keys == [("mnist", 8, "VAE"), ("mnist", 16, "VAE"), ("mnist", 16, "beta-VAE"), ("mnist", 16, "RAE-GP"),
                    ("mnist", 16, "Custom"), ("cifar10", 256, "AE")]


def test_load_study_reads_the_spec_and_notes_unreadable_runs(tmp_path):
    write_study(tmp_path, {"study": "x"})
    write_run(tmp_path, config_index=1, validation=result(mse=0.01))
    broken = tmp_path / layout.RUNS_DIR / "broken"
    broken.mkdir()
    (broken / layout.RUN_FILE).write_text("{not json")
    study = load_study(tmp_path)
    assert study.spec["spec"] == {"study": "x"}
    assert len(study.runs) == 1
    assert any("broken" in note for note in study.notes)


def test_load_study_refuses_a_folder_that_is_not_a_study(tmp_path):
    with pytest.raises(DataError, match="not a benchmark study folder"):
        load_study(tmp_path)


def test_sampler_labels_map_result_keys_to_study_aliases():
    assert sampler_label("NormalSampler") == "normal"
    assert sampler_label("GaussianMixtureSampler") == "gmm"
    assert sampler_label("TwoStageVAESampler") == "two_stage"
    assert sampler_label("GaussianMixtureSampler_2") == "gmm_2"
    assert sampler_label("PixelCNNSampler") == "PixelCNNSampler"
