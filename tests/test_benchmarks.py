"""The benchmark scripts run end to end in their quickest form on the bundled 8x8 digits and print their tables.

No timing is asserted (performance figures come from running the scripts, never from tests): only that each
script completes and reports every requested model with finite numbers.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(out: str, first: str) -> list[str]:
    """The cells of the Markdown table row starting with ``| first |``."""
    lines = [line for line in out.splitlines() if line.startswith(f"| {first} |")]
    assert lines, f"no table row for {first!r} in:\n{out}"
    return [cell.strip() for cell in lines[0].strip("|").split("|")]


def _number(cell: str) -> float:
    value = float(re.match(r"[-+0-9.e]+", cell).group())
    assert math.isfinite(value)
    return value


def test_model_costs_quick_prints_the_cost_table(capsys):
    _script("model_costs").main(["--quick", "--dataset", "digits", "--models", "IWAE", "--threads", "1"])
    out = capsys.readouterr().out
    vae, iwae = _row(out, "VAE"), _row(out, "IWAE")
    assert vae[2:5] == ["1.00", "1.00", "1.00"]  # the VAE is its own reference
    assert _number(iwae[1]) > 0
    # IWAE-K with K=10 decodes ten codes per image: its arithmetic ratio to the VAE is well above 1
    assert _number(iwae[3]) > 3
    assert _number(iwae[4]) == pytest.approx(_number(iwae[2]) / _number(iwae[3]), rel=0.02)
    assert iwae[5] == ("met" if _number(iwae[4]) <= 1.3 else "not met")  # the target, printed
    assert "3E + 3K D" in iwae[6]


def test_model_costs_refuses_a_model_without_formula(capsys):
    with pytest.raises(SystemExit):
        _script("model_costs").main(["--quick", "--models", "NoSuchModel"])
    assert "no cost formula for ['NoSuchModel']" in capsys.readouterr().err


def test_models_vs_pythae_quick_runs_both_libraries(capsys):
    pytest.importorskip("pythae", reason="the published peer pythae==0.1.2 is installed by the pythae extra")
    _script("models_vs_pythae").main(["--quick", "--dataset", "digits", "--models", "VAE", "--tasks", "train,nll"])
    out = capsys.readouterr().out
    assert "## Training" in out and "## NLL" in out
    train = _row(out, "VAE")  # the first VAE row is the training table's
    assert _number(train[1]) > 0 and _number(train[2]) > 0
    assert _number(train[3]) == pytest.approx(_number(train[2]) / _number(train[1]), rel=0.02)
    met = _number(train[3]) >= 1.5 and _number(train[5]) <= _number(train[4])
    assert train[6] == ("met" if met else "not met")  # the target, printed
    nll = [line for line in out.split("## NLL")[1].splitlines() if line.startswith("| VAE |")][0].split("|")
    pythae_nll, gaekit_nll = _number(nll[5].strip()), _number(nll[6].strip())
    assert pythae_nll > 0 and gaekit_nll > 0  # both estimate -log p(x) of the same images with the same K


def test_cpu_hogs_run_for_the_block_only():
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    from _load import CPUHogs

    with CPUHogs(2) as hogs:
        processes = list(hogs.processes)
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
    assert not any(p.is_alive() for p in processes)
    with pytest.raises(ValueError, match="count"):
        CPUHogs(-1)


@pytest.mark.slow
def test_demo_time_prints_both_conditions(capsys):
    _script("demo_time").main(["--repeats", "1", "--busy", "1", "--epochs", "1"])
    out = capsys.readouterr().out
    assert _number(_row(out, "idle")[1]) > 0 and _number(_row(out, "1 busy")[1]) > 0
