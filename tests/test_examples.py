"""The examples run and do what they say."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_networks_example(tmp_path):
    namespace = runpy.run_path(str(EXAMPLES / "custom_networks.py"))
    metrics = namespace["main"](["--epochs", "5", "--output-dir", str(tmp_path)])
    assert 0 < metrics["test_mse"] < 0.1 and metrics["test_nll"] > 0
    assert (tmp_path / "gmm_samples.png").is_file()
