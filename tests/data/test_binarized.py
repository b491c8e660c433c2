"""Binarized MNIST: dynamic draws (pure, fresh each epoch, identical on resume), the fixed and stand-in
binarizations, Larochelle's .amat files (parsing, checksums, the missing-files error) and the registry."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
import torch
from conftest import recording, run_recorded, tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaekit.data import (
    DATASETS,
    ArrayDataset,
    DynamicBinarizedDataset,
    binarize_fixed,
    load_binarized_mnist,
    load_dataset,
    read_amat,
)
from gaekit.data import binarized as binarized_module
from gaekit.errors import ConfigError, DataError


def write_amat(path, bits: np.ndarray, gz: bool = False, end: str = "\n") -> bytes:
    """Write 0/1 rows in Larochelle's layout (values separated by one space, one image a line)."""
    text = "".join(" ".join(str(int(v)) for v in row) + end for row in bits.reshape(bits.shape[0], -1))
    raw = text.encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return raw


def intensities(n=40, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 255, (n, 1, 8, 8), dtype=np.uint8)


# ---------------------------------------------------------------------- dynamic draws
def test_a_dynamic_batch_is_a_pure_function_of_seed_and_indices():
    ds = DynamicBinarizedDataset(intensities(), seed=3)
    a, b = ds.get_batch([4, 1, 7]).data, ds.get_batch(torch.tensor([4, 1, 7])).data
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert a.shape == (3, 1, 8, 8) and a.dtype == torch.float32
    assert not torch.equal(a, DynamicBinarizedDataset(intensities(), seed=4).get_batch([4, 1, 7]).data)
    assert not torch.equal(a, ds.get_batch([4, 1, 8]).data)  # another batch, another draw
    # an unshuffled batch draws as the shuffled batch with the same indices
    assert torch.equal(ds._get_range(2, 5, None).data, ds.get_batch([2, 3, 4]).data)


def test_dynamic_draws_follow_the_intensities():
    p = np.array([0, 77, 255], dtype=np.uint8)[None, :].repeat(20_000, 0)  # probabilities 0, 0.302, 1
    x = DynamicBinarizedDataset(p).get_batch(np.arange(20_000)).data
    assert x[:, 0].sum() == 0 and x[:, 2].sum() == 20_000
    mean, q = x[:, 1].mean().item(), 77 / 255
    assert abs(mean - q) < 4 * (q * (1 - q) / 20_000) ** 0.5


def test_subset_and_to_stay_dynamic():
    ds = DynamicBinarizedDataset(intensities(), np.arange(40) % 10, seed=2)
    sub = ds.subset(slice(10, 20))
    assert isinstance(sub, DynamicBinarizedDataset) and sub.seed == 2 and len(sub) == 10
    assert torch.equal(sub.labels, ds.labels[10:20])
    assert ds.to("cpu") is ds and "seed=2" in repr(ds)
    with pytest.raises(ConfigError, match="seed"):
        DynamicBinarizedDataset(intensities(), seed=-1)


Recording = recording(DynamicBinarizedDataset)


def _run(data, tmp_path, stop_step=None, resume=None):
    return run_recorded(data, tiny_model("VAE", reconstruction_loss="bce"), tmp_path, 3, stop_step, resume)


def test_trainer_draws_fresh_bits_each_epoch_and_the_same_bits_on_resume(tmp_path):
    x = intensities(40)
    ref = Recording(x)
    ref_trainer = _run(ref, tmp_path / "ref")
    # the same sample in two epochs: other bits
    bits_of = {}
    for epoch, idx, data in ref.seen:
        for row, i in enumerate(idx):
            bits_of.setdefault(i, {})[epoch] = data[row]
    assert all(not torch.equal(e[0], e[1]) and not torch.equal(e[1], e[2]) for e in bits_of.values())
    # stopped mid-epoch 2 (step 7 of 5 a epoch) and resumed: the remaining batches are drawn identically
    stopped = Recording(x)
    with pytest.raises(KeyboardInterrupt):
        _run(stopped, tmp_path / "stop", stop_step=7)
    resumed = Recording(x)
    run = _run(resumed, tmp_path / "stop2", resume=next((tmp_path / "stop").glob("*/checkpoint_interrupted")))
    tail = ref.seen[7:]
    assert len(resumed.seen) == len(tail)
    assert all(a[:2] == b[:2] and torch.equal(a[2], b[2]) for a, b in zip(resumed.seen, tail, strict=True))
    assert run.state.history == ref_trainer.state.history


# ---------------------------------------------------------------------- fixed binarization and MNIST
def test_binarize_fixed_is_seeded():
    x = intensities(30)
    a = binarize_fixed(x, 1, "t")
    assert np.array_equal(a, binarize_fixed(x, 1, "t")) and set(np.unique(a)) <= {0, 255}
    assert not np.array_equal(a, binarize_fixed(x, 2, "t")) and not np.array_equal(a, binarize_fixed(x, 1, "u"))
    with pytest.raises(DataError, match="uint8"):
        binarize_fixed(x.astype(np.float32))


def test_mnist_kinds_share_splits_and_fixed_draws(mnist_dir):
    full = load_binarized_mnist("train_full", "stand-in", root=mnist_dir)
    val = load_binarized_mnist("validation", "dynamic", root=mnist_dir)
    assert type(val) is ArrayDataset and len(val) == 10_000 and len(full) == 60_000
    assert torch.equal(full.data[50_000:], val.data) and torch.equal(full.labels[50_000:], val.labels)
    assert torch.equal(load_binarized_mnist("test", "stand-in", root=mnist_dir).data,
                       load_binarized_mnist("test", "dynamic", root=mnist_dir).data)
    train = load_dataset("binarized-mnist", "train", root=mnist_dir)
    assert isinstance(train, DynamicBinarizedDataset) and len(train) == 50_000
    mean = val.as_float().mean().item()
    assert abs(mean - train.as_float().mean().item()) < 0.01  # a draw keeps MNIST's mean intensity


@pytest.mark.parametrize(("kwargs", "match"), [({"kind": "fixed"}, "kind"), ({"seed": True}, "seed"),
                                               ({"split": "valid"}, "split")])
def test_bad_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_binarized_mnist(**{"split": "train", **kwargs})


def test_registered_names():
    names = {"binarized-mnist", "binarized-mnist-static", "binarized-mnist-stand-in", "dsprites"}
    assert names <= set(DATASETS.names())


# ---------------------------------------------------------------------- Larochelle's files
@settings(max_examples=15, deadline=None)
@given(bits=arrays(np.uint8, st.tuples(st.integers(1, 4), st.just(784)), elements=st.integers(0, 1)),
       gz=st.booleans(), end=st.sampled_from(["\n", "\r\n", " \n"]))
def test_read_amat_round_trips(tmp_path_factory, bits, gz, end):
    path = tmp_path_factory.mktemp("amat") / "x.amat"
    write_amat(path, bits, gz, end)  # the published layout, and line ends read by the general parser
    assert np.array_equal(read_amat(path), bits.reshape(-1, 1, 28, 28) * 255)


def _line(values) -> str:
    return " ".join(values) + "\n"


@pytest.mark.parametrize(("text", "match"), [
    (_line(["0"] * 784) + _line(["0"] * 783 + ["2"]), "line 2: character '2'"),
    (_line(["0"] * 783 + ["1.0"]), "line 1: character '.'"),
    (_line(["0"] * 782 + ["10"]), "line 1: a value of more than one character"),
    (_line(["1"] * 783), "line 1: 783 values"),
    (_line(["1"] * 784) + "\n" + _line(["1"] * 784), "line 2: an empty line"),
    ("\n", "holds no image"),
])
def test_read_amat_refuses_other_layouts(tmp_path, text, match):
    path = tmp_path / "bad.amat"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_amat(path)
    assert str(path) in str(info.value)


def test_static_loads_the_three_files_and_checks_their_sums(tmp_path):
    folder = tmp_path / "binarized-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    parts = {name: rng.integers(0, 2, (n, 784), dtype=np.uint8)
             for name, n in (("train", 5), ("valid", 3), ("test", 2))}
    raws = {name: write_amat(folder / f"binarized_mnist_{name}.amat", bits, gz=name == "test")
            for name, bits in parts.items()}
    test = load_binarized_mnist("test", "static", root=tmp_path, verify=False)
    assert np.array_equal(test.data.numpy(), parts["test"].reshape(-1, 1, 28, 28) * 255) and test.labels is None
    full = load_binarized_mnist("train_full", "static", root=folder, verify=False)
    assert np.array_equal(full.data.numpy().reshape(8, 784) // 255, np.concatenate([parts["train"], parts["valid"]]))
    with pytest.raises(DataError, match="checksum mismatch") as info:
        load_binarized_mnist("validation", "static", root=tmp_path)
    assert hashlib.sha256(raws["valid"]).hexdigest() in str(info.value)
    assert binarized_module.AMAT_SUMS["binarized_mnist_valid.amat"][1] in str(info.value)


def test_missing_static_files_name_the_files_and_the_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataError) as info:
        load_dataset("binarized-mnist-static", "test")
    msg = str(info.value)
    assert all(f in msg for f in binarized_module.AMAT_FILES.values())
    assert str(tmp_path / "env" / "binarized-mnist") in msg and "binarized-mnist-stand-in" in msg
    (tmp_path / "given").mkdir()
    with pytest.raises(DataError, match="binarized_mnist_train.amat") as info:
        load_binarized_mnist("train", "static", root=tmp_path / "given")
    assert str(tmp_path / "given") in str(info.value)
