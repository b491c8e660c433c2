"""The ``disentanglement`` task of ``gaekit.metrics.evaluate`` and ``gaekit evaluate --tasks disentanglement``:
the metrics reach the model's embedding with the settings asked for, the scores are those of the metric
functions called directly, and every bad request is refused before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from gaekit import create_model
from gaekit.cli import main
from gaekit.errors import ConfigError, DataError
from gaekit.metrics import DEFAULT_TASKS, TASKS, EvaluationConfig, EvaluationResult, evaluate
from gaekit.metrics.disentanglement import (
    METRICS,
    DSpritesGroundTruth,
    SyntheticGroundTruth,
    compute_mig,
    compute_sap,
    model_representation,
)
from gaekit.metrics.evaluation_disentanglement import HEADLINES
from gaekit.nn import EncoderOutput

SIZES = (3, 4, 5, 4, 3)
SMALL = {"disentanglement_num_train": 200, "disentanglement_num_test": 100, "disentanglement_batch_size": 16}


class Linear(nn.Module):
    """An encoder whose embedding is ``x @ matrix``: the identity of the factors, or a mix of them."""

    def __init__(self, matrix: np.ndarray):
        super().__init__()
        self.matrix = nn.Parameter(torch.as_tensor(matrix, dtype=torch.float32))

    def forward(self, x):
        return EncoderOutput(embedding=x.float() @ self.matrix)


def factor_model(matrix: np.ndarray):
    return create_model("AE", input_dim=[len(SIZES)], latent_dim=matrix.shape[1], encoder=Linear(matrix))


@pytest.fixture(scope="module")
def identity_result():
    return evaluate(factor_model(np.eye(len(SIZES))), tasks="disentanglement",
                    ground_truth=SyntheticGroundTruth(SIZES), **SMALL)


def test_identity_of_the_factors_scores_near_perfectly(identity_result):
    scores = identity_result.disentanglement["scores"]
    assert set(scores) == {flat for pairs in HEADLINES.values() for flat, _ in pairs}
    for name in ("beta_vae", "factor_vae", "dci_disentanglement", "dci_completeness", "dci_informativeness",
                 "modularity"):
        assert scores[name] > 0.95, (name, scores[name])
    assert scores["mig"] > 0.9
    assert identity_result.metrics()["disentanglement/mig"] == scores["mig"]
    assert identity_result.disentanglement["factor_sizes"] == list(SIZES)
    assert set(identity_result.disentanglement["seconds"]) == set(METRICS)


def test_a_mix_of_the_factors_loses_disentanglement_not_information():
    mix = np.linalg.qr(np.random.default_rng(0).normal(size=(len(SIZES), len(SIZES))))[0]
    scores = evaluate(factor_model(mix), tasks="disentanglement", ground_truth=SyntheticGroundTruth(SIZES),
                      disentanglement_metrics=["mig", "dci"], **SMALL).disentanglement["scores"]
    assert set(scores) == {"mig", "dci_disentanglement", "dci_completeness", "dci_informativeness"}
    assert scores["mig"] < 0.5 and scores["dci_disentanglement"] < 0.7
    assert scores["dci_informativeness"] > 0.8


def test_scores_are_those_of_the_metric_functions(identity_result):
    model = factor_model(np.eye(len(SIZES)))
    data, rep = SyntheticGroundTruth(SIZES), model_representation(model)
    metrics = identity_result.disentanglement["metrics"]
    direct_mig = compute_mig(data, rep, num_train=200, batch_size=16, seed=0)
    assert metrics["mig"]["discrete_mig"] == direct_mig["discrete_mig"]
    assert metrics["sap"]["sap_score"] == compute_sap(data, rep, num_train=200, num_test=100, batch_size=16,
                                                      seed=0)["sap_score"]
    assert metrics["beta_vae"]["num_train"] == 200 and metrics["beta_vae"]["num_eval"] == 100
    assert metrics["factor_vae"]["num_variance_estimate"] == 200 and metrics["factor_vae"]["batch_size"] == 16


def test_seed_changes_draws_and_same_seed_repeats():
    model, source = factor_model(np.eye(len(SIZES))[:, :3]), SyntheticGroundTruth(SIZES)
    runs = [evaluate(model, tasks="disentanglement", ground_truth=source, disentanglement_metrics=["mig"], seed=s,
                     **SMALL).disentanglement["metrics"]["mig"]["mutual_info"] for s in (0, 0, 1)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_result_round_trips_through_json(identity_result, tmp_path):
    path = identity_result.to_json(tmp_path / "metrics.json")
    again = EvaluationResult.from_json(path)
    assert again.disentanglement["scores"] == pytest.approx(identity_result.disentanglement["scores"])
    assert "disentanglement" in json.loads(path.read_text())["tasks"]


def test_default_tasks_leave_disentanglement_out():
    assert "disentanglement" in TASKS and "disentanglement" not in DEFAULT_TASKS
    assert DEFAULT_TASKS == tuple(t for t in TASKS if t != "disentanglement")


def test_ground_truth_alone_adds_the_task_to_the_defaults_and_is_checked_first(digits):
    """``ground_truth=`` with the default tasks runs the disentanglement task too; its source's shape is checked
    before any task runs (the digits tasks would otherwise run first)."""
    model = create_model("VAE", input_dim=[1, 8, 8], latent_dim=2, network_options={"hidden_dims": [8]})
    with pytest.raises(DataError, match=r"observations of shape \(5,\).*input_dim=\(1, 8, 8\)"):
        evaluate(model, digits, ground_truth=SyntheticGroundTruth(SIZES), extractor="none")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "needs the data's ground-truth factors"),
    ({"dataset": "mnist"}, "'mnist' has no ground-truth factors"),
    ({"ground_truth": object()}, "ground_truth must be a gaekit.metrics.disentanglement.GroundTruthData"),
    ({"ground_truth": SyntheticGroundTruth(SIZES), "disentanglement_metrics": ["mig", "beta"]},
     "disentanglement_metrics"),
    ({"ground_truth": SyntheticGroundTruth(SIZES), "disentanglement_metrics": ["mig", "mig"]},
     "without repeats"),
    ({"ground_truth": SyntheticGroundTruth(SIZES), "disentanglement_num_train": 1}, "disentanglement_num_train"),
])
def test_bad_requests_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        evaluate(factor_model(np.eye(len(SIZES))), tasks="disentanglement", **kwargs)


def test_config_fields_validate():
    assert EvaluationConfig().disentanglement_num_train == 10000  # Locatello et al. 2019's protocol
    with pytest.raises(ConfigError, match="disentanglement_batch_size"):
        EvaluationConfig(disentanglement_batch_size=0)


def test_dsprites_model_through_the_cli(tmp_path, capsys, dsprites_root):
    """``gaekit evaluate --tasks disentanglement`` on a saved dSprites model: no split is loaded, the ground
    truth comes from the dataset's name (its cache read from --data-dir)."""
    model = create_model("BetaVAE", input_dim=[1, 64, 64], latent_dim=4, reconstruction_loss="bce",
                         network_options={"hidden_dims": [16]})
    model.save(tmp_path / "model")
    out = tmp_path / "eval"
    code = main(["evaluate", str(tmp_path / "model"), "--dataset", "dsprites", "--data-dir", str(dsprites_root),
                 "--tasks", "disentanglement", "--disentanglement-metrics", "mig,sap",
                 "--disentanglement-num-train", "64", "--disentanglement-num-test", "32", "--no-progress",
                 "--disentanglement-batch-size", "16", "--out", str(out)])
    assert code == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["settings"]["disentanglement_batch_size"] == 16
    assert set(saved["disentanglement"]["scores"]) == {"mig", "sap"}
    assert saved["disentanglement"]["ground_truth"] == "DSpritesGroundTruth"
    assert "disentanglement/mig" in capsys.readouterr().out
    direct = evaluate(model, tasks="disentanglement", ground_truth=DSpritesGroundTruth(),
                      disentanglement_metrics=["mig"], disentanglement_num_train=64, disentanglement_num_test=32,
                      disentanglement_batch_size=16)
    assert direct.disentanglement["scores"]["mig"] == pytest.approx(saved["disentanglement"]["scores"]["mig"])


def test_cli_refuses_disentanglement_flags_without_the_task(tmp_path, capsys):
    model = create_model("VAE", input_dim=[1, 8, 8], latent_dim=2, network_options={"hidden_dims": [8]})
    model.save(tmp_path / "model")
    code = main(["evaluate", str(tmp_path / "model"), "--tasks", "nll", "--disentanglement-num-train", "10",
                 "--out", str(tmp_path / "eval")])
    assert code == 2
    assert "--disentanglement-num-train" in capsys.readouterr().err
    assert not (tmp_path / "eval").exists()
