"""Mixed precision that pays: bf16 detection, and the warning or error where amp would be slower than fp32.

The branch tests replace the one detection function (``precision.bf16_support``); the real detection on
this machine is checked to answer without error.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from conftest import tiny_model

import gaekit.trainers.precision as precision
from gaekit.errors import ConfigError
from gaekit.trainers import Trainer, TrainerConfig
from gaekit.trainers.precision import PrecisionWarning, bf16_support, check_amp_pays, cpu_flags, native_bf16

CPU = torch.device("cpu")


def _trainer(**options) -> Trainer:
    config = TrainerConfig(output_dir=None, num_epochs=1, batch_size=8, show_progress=False, device="cpu", **options)
    return Trainer(tiny_model("VAE"), config, torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0)))


def _precision_warnings(**options) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _trainer(**options)
    return [w for w in caught if issubclass(w.category, PrecisionWarning)]


def _detected(native: bool, monkeypatch) -> None:
    monkeypatch.setattr(precision, "bf16_support", lambda device: (native, "this CPU (torch capability AVX2)"))


def test_the_real_detection_answers_on_this_machine():
    native, found = bf16_support("cpu")
    assert isinstance(native, bool) and native_bf16(CPU) is native
    assert torch.backends.cpu.get_cpu_capability() in found
    flags = cpu_flags()
    assert isinstance(flags, set)
    if native is False:  # no bf16 flag on a CPU judged without native bf16
        assert not flags & set(precision.CPU_BF16_FLAGS)


def test_the_real_trainer_warns_exactly_when_this_cpu_lacks_native_bf16():
    caught = _precision_warnings(amp=True)
    assert len(caught) == (0 if native_bf16(CPU) else 1)


def test_cpu_flags_reads_x86_and_arm_lines(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert cpu_flags(x86) == {"fpu", "avx2", "avx512_bf16"}
    assert "bf16" in cpu_flags(arm)
    assert cpu_flags(tmp_path / "missing") == set()


def test_default_bf16_on_a_cpu_without_it_warns_with_the_reason(monkeypatch):
    _detected(False, monkeypatch)
    (caught,) = _precision_warnings(amp=True)
    message = str(caught.message)
    assert "AVX2" in message and "slower than fp32" in message and "24x" in message
    assert "amp=False" in message and "amp_dtype='bfloat16'" in message
    assert caught.filename.endswith("test_amp_capability.py")  # points at the caller's Trainer(...) line


def test_no_warning_with_native_bf16_without_amp_or_with_an_explicit_dtype(monkeypatch):
    _detected(True, monkeypatch)
    assert _precision_warnings(amp=True) == []
    _detected(False, monkeypatch)
    assert _precision_warnings(amp=False) == []
    assert _precision_warnings(amp=True, amp_dtype="bfloat16") == []  # the user's deliberate choice


def test_bf16_on_a_cuda_gpu_without_it_is_refused(monkeypatch):
    monkeypatch.setattr(precision, "bf16_support", lambda device: (False, "Tesla T4 (compute capability 7.5)"))
    with pytest.raises(ConfigError, match=r"amp_dtype='bfloat16'.*Tesla T4.*7\.5.*amp_dtype=None"):
        check_amp_pays(torch.device("cuda"), True, "bfloat16")
    check_amp_pays(torch.device("cuda"), True, None)  # fp16 with a scaler: not judged
    check_amp_pays(torch.device("cuda"), False, None)
    monkeypatch.setattr(precision, "bf16_support", lambda device: (True, "A100 (compute capability 8.0)"))
    check_amp_pays(torch.device("cuda"), True, "bfloat16")


def test_other_devices_are_not_judged():
    assert bf16_support("mps") == (True, "a mps device (not checked)")
    check_amp_pays(torch.device("mps"), True, None)
