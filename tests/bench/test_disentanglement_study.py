"""The disentanglement study: its presets (Locatello et al. 2019's grids as data), random data subsets, spec
checks, the report section (scores, distributions, rank correlations) and one tiny study run end to end."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from bench.study_factory import write_run, write_study
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from gaekit.bench.grids import LOCATELLO_GRIDS, LOCATELLO_MODEL_ORDER
from gaekit.bench.presets import disentanglement, disentanglement_cpu_quick
from gaekit.bench.report import write_report
from gaekit.bench.report.disentanglement import spearman
from gaekit.bench.runner import load_split, run_one
from gaekit.bench.runs import expand
from gaekit.bench.spec import DataSpec, StudySpec
from gaekit.errors import ConfigError
from gaekit.metrics import EvaluationResult

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib not installed (pip install 'gaekit[report]')")


def test_full_preset_is_locatello_et_al_grid():
    spec = disentanglement()
    assert [m.label for m in spec.models] == list(LOCATELLO_MODEL_ORDER)
    assert all(len(m.configs) == 6 for m in spec.models) and len(spec.seeds) == 5
    assert spec.tasks == ["disentanglement"] and spec.latent_dims == {"dsprites": [10]}
    assert (spec.training.batch_size, spec.training.learning_rate) == (64, 1e-4)
    # 300,000 steps of 64 on the 80 % training split (589,824 images)
    assert abs(spec.training.num_epochs * 589_824 / 64 - 300_000) < 9_216
    by_label = {m.label: m for m in spec.models}
    assert [c["beta"] for c in by_label["beta-VAE"].configs] == [1, 2, 4, 6, 8, 16]
    assert [c["lambda_offdiag"] for c in by_label["DIP-VAE-II"].configs] == [1, 2, 5, 10, 20, 50]
    assert by_label["AnnealedVAE"].fields["beta"] == 1000.0
    assert all(m.fields["reconstruction_loss"] == "bce" for m in spec.models)  # a Bernoulli decoder


def test_every_configuration_of_both_presets_builds(tmp_path):
    """Each run's model (on the meta device: no memory) of both presets, with the study's network options."""
    import torch

    from gaekit.bench.runner import build_model

    for spec in (disentanglement(), disentanglement_cpu_quick()):
        runs = expand(spec)
        assert len(runs) == sum(len(m.configs) for m in spec.models) * len(spec.seeds)
        for run in [r for r in runs if r.seed == spec.seeds[0]]:  # the seeds build the same models
            with torch.device("meta"):
                model = build_model(spec, run, (1, 64, 64))
            assert model.latent_dim == 10 and type(model).__name__ == LOCATELLO_GRIDS[run.model]["model"]
            if spec.networks == ["conv"]:  # the full study: Locatello et al.'s network, their 256-unit layer included
                assert (model.encoder.channels, model.encoder.dense_dim) == ((32, 32, 64, 64), 256)
                assert (model.decoder.channels, model.decoder.dense_dim) == ((32, 32, 64, 64), 256)


def test_cpu_quick_is_twelve_runs_on_a_random_subset():
    spec = disentanglement_cpu_quick()
    assert len(expand(spec)) == 12 and spec.data.subset == "random"
    assert spec.evaluation["disentanglement_num_train"] < 10000


def test_random_subset_is_seeded_spread_and_in_order(digits):
    first = load_split("digits", "train", 50, None, "first")
    picked = load_split("digits", "train", 50, None, "random")
    again = load_split("digits", "train", 50, None, "random")
    assert len(picked) == 50 and picked is again
    assert not np.array_equal(first.as_float().numpy(), picked.as_float().numpy())
    whole = digits[0].as_float().numpy().reshape(len(digits[0]), -1)
    rows = [int(np.flatnonzero((whole == row).all(1))[0]) for row in picked.as_float().numpy().reshape(50, -1)]
    assert rows == sorted(rows) and rows[-1] > 50  # the split's order kept, spread beyond its first images
    with pytest.raises(ConfigError, match="subset"):
        DataSpec(subset="last")


def test_default_subset_keeps_the_hash_of_older_studies():
    spec = disentanglement_cpu_quick()
    first = spec.replace(data=spec.data.replace(subset="first"))
    data = first.to_dict()
    del data["data"]["subset"]
    assert StudySpec.from_dict(data).spec_hash() == first.spec_hash() != spec.spec_hash()


def test_disentanglement_needs_datasets_with_ground_truth():
    data = disentanglement_cpu_quick().to_dict()
    data.update(datasets=["mnist"], latent_dims={"mnist": [10]}, network_options={})
    with pytest.raises(ConfigError, match="ground-truth factors"):
        StudySpec.from_dict(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(-3, 3, allow_nan=False)), min_size=3, max_size=25))
def test_spearman_matches_scipy_with_ties(pairs):
    a, b = [float(p[0]) for p in pairs], [p[1] for p in pairs]
    ours = spearman(a, b)
    if len(set(a)) == 1 or len(set(b)) == 1:
        assert ours is None
    else:
        assert ours == pytest.approx(spearmanr(a, b).statistic, abs=1e-9)


def _scores_result(mig: float, dci: float, beta: float) -> dict:
    out = EvaluationResult(model="BetaVAE", latent_dim=10, tasks=["disentanglement"])
    out.disentanglement = {"ground_truth": "DSpritesGroundTruth", "factor_names": [], "factor_sizes": [],
                           "scores": {"mig": mig, "dci_disentanglement": dci, "beta_vae": beta},
                           "metrics": {}, "seconds": {}}
    return out.to_dict()


@needs_matplotlib
def test_report_section_scores_distributions_and_rank_correlations(tmp_path):
    study = write_study(tmp_path / "study", disentanglement_cpu_quick().to_dict())
    values = {("beta-VAE", 1, 0): 0.10, ("beta-VAE", 1, 1): 0.14, ("beta-VAE", 2, 0): 0.30,
              ("FactorVAE", 1, 0): 0.20, ("FactorVAE", 2, 0): 0.05}
    for (model, config, seed), mig in values.items():
        # dci rises with mig (rank correlation 1), the beta-VAE score falls with it (-1)
        write_run(study, model, config, seed, dataset="dsprites", network="mlp", latent_dim=10,
                  config={"beta": config}, test=_scores_result(mig, 2 * mig, 1 - mig))
    text = (write_report(study) / "report.md").read_text()
    assert "## Disentanglement (Locatello et al. 2019 analogue)" in text
    assert "Differences from Locatello et al. 2019's protocol" in text and "1 seed(s) per value" in text
    assert "Comparison with the paper" not in text and "MSE" not in text
    assert "| beta-VAE | c01 | beta=1 | 2 | 0.880 (0.020) | 0.120 (0.020) | 0.240 (0.040) |" in text
    table = text[text.index("| metric | BetaVAE score | MIG | DCI disentanglement |"):]
    assert "| MIG | -1.00 | 1.00 | 1.00 |" in table and "| BetaVAE score | 1.00 | -1.00 | -1.00 |" in table
    figures = sorted(p.name for p in (study / "report" / "figures").glob("*.png"))
    assert figures == ["disentanglement-correlation-dsprites-mlp-10.png", "disentanglement-dsprites-mlp-10.png"]


def test_tiny_study_runs_end_to_end(tmp_path, dsprites_root):
    """The cpu-quick spec cut to one model and a few hundred images: train, score, report."""
    data = disentanglement_cpu_quick().to_dict()
    data["models"] = [m for m in data["models"] if m["label"] == "DIP-VAE-I"]
    data["models"][0]["configs"] = data["models"][0]["configs"][:1]
    data.update(data={"max_train": 256, "max_validation": 64, "max_test": 64, "subset": "random"},
                evaluation={"disentanglement_num_train": 64, "disentanglement_num_test": 32,
                            "disentanglement_metrics": ["mig", "sap"]})
    data["training"]["num_epochs"] = 1
    spec = StudySpec.from_dict(data)
    (run,) = expand(spec)
    out = run_one(tmp_path / "study", spec, run, data_dir=str(dsprites_root))
    assert out["status"] == "finished", out
    assert set(out["headline"]) == {"mig"}
    saved = json.loads(next((tmp_path / "study").rglob("metrics/test.json")).read_text())
    assert set(saved["result"]["disentanglement"]["scores"]) == {"mig", "sap"}
    write_study(tmp_path / "study", spec.to_dict())
    assert "DIP-VAE-I" in (write_report(tmp_path / "study") / "report.md").read_text()


def test_report_header_names_every_network_difference_from_locatello_et_al():
    from gaekit.bench.report.protocol import locatello_differences

    full = disentanglement().to_dict()
    assert not [line for line in locatello_differences(full) if line.startswith("network")]
    without_dense = {**full, "network_options": {"conv": {"channels": [32, 32, 64, 64], "batch_norm": False}}}
    lines = [line for line in locatello_differences(without_dense) if line.startswith("network")]
    assert len(lines) == 1 and "dense_dim=256" in lines[0]
    quick_lines = locatello_differences(disentanglement_cpu_quick().to_dict())
    quick = [line for line in quick_lines if line.startswith("network")]
    assert len(quick) == 1 and quick[0].startswith("network: mlp")
