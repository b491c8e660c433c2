from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from gaekit.data import (
    ArrayDataset,
    Batch,
    LoaderAdapter,
    TorchDatasetAdapter,
    as_dataset,
    check_batch,
    iterate_batches,
    num_batches,
    validate_data,
)
from gaekit.data import validation as validation_mod
from gaekit.errors import ConfigError, DataError


def _indexed(n: int, shape=(1, 2, 2), dtype=np.uint8) -> ArrayDataset:
    """Dataset whose labels are the sample indices, so batches reveal which samples they hold."""
    rng = np.random.default_rng(0)
    if dtype == np.uint8:
        data = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    else:
        data = rng.random((n, *shape)).astype(dtype)
    return ArrayDataset(data, np.arange(n))


def _ids(batches) -> list[list[int]]:
    return [b.labels.tolist() for b in batches]


class _CountingDataset(Dataset):
    """Map-style dataset of (uint8 image, label=index) that counts item loads."""

    def __init__(self, n: int):
        self.images = torch.randint(
            0, 256, (n, 1, 3, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
        )
        self.loads = 0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        self.loads += 1
        return self.images[i], i


# ---------------------------------------------------------------------- ArrayDataset
def test_uint8_kept_in_storage_and_scaled_per_batch():
    arr = np.random.default_rng(0).integers(0, 256, size=(7, 1, 4, 4), dtype=np.uint8)
    ds = ArrayDataset(arr)
    assert ds.dtype == torch.uint8
    assert np.shares_memory(ds.data.numpy(), arr)  # no copy
    assert ds.sample_shape == (1, 4, 4) and len(ds) == 7 and ds.labels is None
    batch = ds.get_batch(torch.tensor([3, 0, 5]))
    assert batch.data.dtype == torch.float32
    np.testing.assert_allclose(batch.data.numpy(), arr[[3, 0, 5]].astype(np.float32) / 255, rtol=1e-6)
    assert batch.labels is None and len(batch) == 3


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtypes_kept_and_batches_are_float32(dtype):
    arr = np.random.default_rng(1).random((5, 3)).astype(dtype)
    ds = ArrayDataset(arr, labels=np.array([0, 1, 2, 3, 4], dtype=np.int32))
    assert ds.dtype == torch.from_numpy(arr).dtype
    b = ds.get_batch([4, 1])
    assert b.data.dtype == torch.float32 and b.labels.dtype == torch.int64
    np.testing.assert_allclose(b.data.numpy(), arr[[4, 1]].astype(np.float32))
    assert b.labels.tolist() == [4, 1]


@pytest.mark.parametrize("shuffle", [True, False])
def test_batch_never_aliases_storage(shuffle):
    t = torch.rand(6, 2) + 0.5
    original = t.clone()
    ds = ArrayDataset(t)
    for b in iterate_batches(ds, 3, shuffle=shuffle, generator=None):
        b.data.zero_()
    assert torch.equal(t, original)


def test_read_only_numpy_array_does_not_warn():
    arr = np.ones((4, 2), dtype=np.float32)
    arr.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ArrayDataset(arr)
    assert ds.get_batch([0]).data.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize(
    ("arr", "found"),
    [
        (np.zeros((3, 2), dtype=np.int64), "int64"),
        (np.zeros((3, 2), dtype=np.int16), "int16"),
        (torch.zeros(3, 2, dtype=torch.int32), "int32"),
    ],
)
def test_non_uint8_integer_data_rejected(arr, found):
    with pytest.raises(DataError, match="uint8") as info:
        ArrayDataset(arr)
    assert found in str(info.value)


def test_bool_and_object_data_rejected():
    with pytest.raises(DataError, match="bool"):
        ArrayDataset(np.zeros((3, 2), dtype=bool))
    with pytest.raises(DataError, match="object"):
        ArrayDataset(np.array([[1], "a"], dtype=object))
    with pytest.raises(DataError, match="list"):
        ArrayDataset([[0.0, 1.0]])


def test_label_length_mismatch():
    with pytest.raises(DataError) as info:
        ArrayDataset(np.zeros((5, 2), dtype=np.float32), labels=np.arange(4))
    assert "5 samples" in str(info.value) and "4 labels" in str(info.value)


def test_non_integer_float_labels_rejected():
    with pytest.raises(DataError, match="non-integer"):
        ArrayDataset(np.zeros((2, 2), dtype=np.float32), labels=np.array([0.5, 1.0]))
    ds = ArrayDataset(np.zeros((2, 2), dtype=np.float32), labels=np.array([0.0, 3.0]))
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == [0, 3]


def test_subset_to_and_whole_data_views():
    ds = _indexed(10)
    view = ds.subset(slice(2, 5))
    assert view.labels.tolist() == [2, 3, 4]
    assert view.data.data_ptr() == ds.data[2].data_ptr()  # a view
    picked = ds.subset([7, 1])
    assert picked.labels.tolist() == [7, 1]
    torch.testing.assert_close(picked.data, ds.data[[7, 1]])
    assert ds.to("cpu") is ds
    whole, labels = ds.tensors()
    assert whole.dtype == torch.float32 and whole.shape == (10, 1, 2, 2)
    torch.testing.assert_close(whole, ds.data.float() / 255)
    torch.testing.assert_close(ds.as_float(), whole)
    assert labels.tolist() == list(range(10))


def test_batch_to_and_len():
    b = Batch(torch.zeros(3, 2), torch.arange(3))
    moved = b.to("cpu")
    assert len(moved) == 3 and moved.labels.tolist() == [0, 1, 2]
    assert Batch(torch.zeros(2, 1)).to(torch.device("cpu")).labels is None


# ---------------------------------------------------------------------- iteration
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_exactly_once_per_epoch(shuffle):
    ds = _indexed(103)
    g = torch.Generator().manual_seed(3)
    batches = list(iterate_batches(ds, 10, shuffle=shuffle, generator=g))
    assert len(batches) == num_batches(ds, 10) == 11
    assert [len(b) for b in batches] == [10] * 10 + [3]
    ids = [i for b in _ids(batches) for i in b]
    assert sorted(ids) == list(range(103))
    if not shuffle:
        assert ids == list(range(103))
    for b in batches:
        assert b.data.dtype == torch.float32
        torch.testing.assert_close(b.data, ds.data[b.labels].float() / 255)


def test_drop_last():
    ds = _indexed(103)
    batches = list(
        iterate_batches(ds, 10, shuffle=True, generator=torch.Generator().manual_seed(0), drop_last=True)
    )
    assert len(batches) == num_batches(ds, 10, drop_last=True) == 10
    assert all(len(b) == 10 for b in batches)
    assert len({i for b in _ids(batches) for i in b}) == 100


def test_shuffle_reproducible_with_seeded_generator():
    ds = _indexed(50)

    def run(seed):
        return _ids(iterate_batches(ds, 8, shuffle=True, generator=torch.Generator().manual_seed(seed)))

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert run(5) != _ids(iterate_batches(ds, 8, shuffle=False, generator=None))


def test_permutation_drawn_once_at_call_time():
    ds = _indexed(20)
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    it = iterate_batches(ds, 4, shuffle=True, generator=g, start_batch=3)
    after_call = g.get_state()
    assert not torch.equal(before, after_call)  # drawn eagerly
    list(it)
    assert torch.equal(g.get_state(), after_call)  # and only once
    ref = torch.Generator().manual_seed(0)
    torch.randperm(20, generator=ref)
    assert torch.equal(ref.get_state(), after_call)


@pytest.mark.parametrize("k", [0, 1, 4, 6])
def test_exact_resume_array_dataset(k):
    ds = _indexed(23)
    g = torch.Generator().manual_seed(11)
    g.manual_seed(11)
    torch.rand(3, generator=g)  # some earlier use of the generator
    epoch_state = g.get_state()
    full = list(iterate_batches(ds, 4, shuffle=True, generator=g))
    state_after = g.get_state()

    g.set_state(epoch_state)
    resumed = list(iterate_batches(ds, 4, shuffle=True, generator=g, start_batch=k))
    assert _ids(resumed) == _ids(full)[k:]
    for a, b in zip(resumed, full[k:]):
        assert torch.equal(a.data, b.data)
    assert torch.equal(g.get_state(), state_after)


@pytest.mark.parametrize("k", [0, 2, 5])
def test_exact_resume_torch_dataset_adapter_skips_loading(k):
    base = _CountingDataset(17)
    ds = TorchDatasetAdapter(base)
    g = torch.Generator().manual_seed(4)
    state = g.get_state()
    full = list(iterate_batches(ds, 3, shuffle=True, generator=g))
    assert sorted(i for b in _ids(full) for i in b) == list(range(17))
    assert [len(b) for b in full] == [3] * 5 + [2]

    g.set_state(state)
    base.loads = 0
    resumed = list(iterate_batches(ds, 3, shuffle=True, generator=g, start_batch=k))
    assert _ids(resumed) == _ids(full)[k:]
    assert base.loads == 17 - 3 * k  # skipped items are not loaded
    for a, b in zip(resumed, full[k:]):
        assert a.data.dtype == torch.float32
        torch.testing.assert_close(a.data, base.images[b.labels].float() / 255)
        assert torch.equal(a.data, b.data)


def test_torch_dataset_adapter_item_shapes_and_drop_last():
    class DictDS(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"data": np.full((2, 3), i / 10, dtype=np.float64), "labels": i}

    class PlainDS(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.full((4,), float(i))

    d = as_dataset(DictDS())
    assert isinstance(d, TorchDatasetAdapter) and d.sample_shape == (2, 3) and len(d) == 5
    batches = list(iterate_batches(d, 2, shuffle=False, generator=None, drop_last=True))
    assert _ids(batches) == [[0, 1], [2, 3]]
    assert batches[1].data.dtype == torch.float32
    assert float(batches[1].data[1, 0, 0]) == pytest.approx(0.3)
    p = as_dataset(PlainDS())
    assert p.sample_shape == (4,)
    b = next(iterate_batches(p, 5, shuffle=False, generator=None))
    assert b.labels is None and b.data[:, 0].tolist() == [0, 1, 2, 3, 4]


def test_dataloader_accepted_and_resume_skips_batches():
    x = torch.randint(0, 256, (10, 1, 2, 2), dtype=torch.uint8)
    loader = DataLoader(TensorDataset(x, torch.arange(10)), batch_size=4, shuffle=False)
    ds = as_dataset(loader)
    assert isinstance(ds, LoaderAdapter)
    assert ds.sample_shape == (1, 2, 2) and len(ds) == 10
    assert num_batches(ds, 999) == num_batches(loader, 1) == 3
    batches = list(iterate_batches(loader, 999, shuffle=True, generator=None))
    assert _ids(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    torch.testing.assert_close(batches[0].data, x[:4].float() / 255)
    assert _ids(iterate_batches(ds, 999, shuffle=False, generator=None, start_batch=2)) == [[8, 9]]


def test_peeking_a_shuffling_loader_keeps_global_rng():
    loader = DataLoader(TensorDataset(torch.zeros(8, 2)), batch_size=4, shuffle=True)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    assert as_dataset(loader).sample_shape == (2,)
    validate_data(loader, (2,), unit_range=True)
    assert torch.equal(torch.get_rng_state(), state)


def test_non_numeric_labels_are_dropped():
    class Named(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.zeros(2), f"file{i}.png"

    b = next(iterate_batches(Named(), 3, shuffle=False, generator=None))
    assert b.labels is None and b.data.shape == (3, 2)


def test_loader_adapter_generic_iterables():
    batches = [np.zeros((2, 3), dtype=np.float32), np.ones((1, 3), dtype=np.float32)]
    ds = LoaderAdapter(batches)
    assert ds.sample_shape == (3,) and len(ds) == 3 and num_batches(ds, 7) == 2
    out = list(iterate_batches(ds, 7, shuffle=False, generator=None))
    assert [len(b) for b in out] == [2, 1] and out[1].data.dtype == torch.float32
    with pytest.raises(DataError, match="once"):
        LoaderAdapter(iter(batches))
    no_len = LoaderAdapter(type("Gen", (), {"__iter__": lambda self: iter(batches)})())
    with pytest.raises(DataError, match="no len"):
        num_batches(no_len, 4)


def test_as_dataset_dispatch_and_rejection():
    arr = np.zeros((3, 2), dtype=np.float32)
    ds = as_dataset(arr, labels=[0, 1, 2])
    assert isinstance(ds, ArrayDataset) and ds.labels.tolist() == [0, 1, 2]
    assert as_dataset(ds) is ds
    assert isinstance(as_dataset(TensorDataset(torch.zeros(3, 2))), TorchDatasetAdapter)
    with pytest.raises(DataError) as info:
        as_dataset([[0.0, 1.0]])
    assert "list" in str(info.value) and "DataLoader" in str(info.value)
    with pytest.raises(DataError, match="labels"):
        as_dataset(ds, labels=[0, 1, 2])


def test_bad_batch_arguments():
    ds = _indexed(4)
    with pytest.raises(ConfigError, match="batch_size"):
        iterate_batches(ds, 0, shuffle=False, generator=None)
    with pytest.raises(ConfigError, match="start_batch"):
        iterate_batches(ds, 2, shuffle=False, generator=None, start_batch=-1)
    assert list(iterate_batches(ds, 2, shuffle=True, generator=None, start_batch=5)) == []


# ---------------------------------------------------------------------- validation
def test_validate_ok_cases():
    validate_data(np.random.default_rng(0).random((4, 1, 3, 3)), (1, 3, 3), unit_range=True)
    u8 = np.full((4, 1, 3, 3), 255, dtype=np.uint8)
    validate_data(u8, (1, 3, 3), unit_range=True)  # uint8 is scaled automatically
    validate_data(np.full((2, 3), -5.0), (3,), unit_range=False)


def test_validate_empty():
    with pytest.raises(DataError, match=r"train_data is empty \(0 samples\)"):
        validate_data(np.zeros((0, 1, 28, 28), dtype=np.float32), (1, 28, 28), unit_range=False)


def test_validate_shape_with_reshape_hint():
    with pytest.raises(DataError) as info:
        validate_data(np.zeros((2, 28, 28), dtype=np.uint8), (1, 28, 28), unit_range=True)
    msg = str(info.value)
    assert "(28, 28)" in msg and "(1, 28, 28)" in msg and "reshape the data to (N, 1, 28, 28)" in msg


def test_validate_shape_different_size_no_reshape_hint():
    with pytest.raises(DataError) as info:
        validate_data(
            np.zeros((2, 3, 32, 32), dtype=np.uint8), (1, 28, 28), unit_range=False, name="eval_data"
        )
    msg = str(info.value)
    assert msg.startswith("eval_data") and "(3, 32, 32)" in msg and "reshape" not in msg
    assert "3072" in msg and "784" in msg


def test_validate_nan_and_inf_counts_and_first_sample(monkeypatch):
    monkeypatch.setattr(validation_mod, "_SCAN_CHUNK_ELEMENTS", 8)  # force many chunks
    data = np.random.default_rng(0).random((20, 4)).astype(np.float32)
    data[13, 1] = np.nan
    data[13, 2] = np.nan
    data[17, 0] = np.inf
    data[19, 3] = -np.inf
    data[15, 0] = np.nan
    with pytest.raises(DataError) as info:
        validate_data(data, (4,), unit_range=False)
    msg = str(info.value)
    assert "3 NaN" in msg and "2 inf" in msg and "first in sample 13" in msg


def test_validate_unit_range_reports_min_max():
    data = np.linspace(-0.25, 1.5, 12, dtype=np.float64).reshape(3, 4)
    with pytest.raises(DataError) as info:
        validate_data(data, (4,), unit_range=True)
    msg = str(info.value)
    assert "-0.25" in msg and "1.5" in msg and "BCE" in msg and "uint8" in msg
    assert "divide by 255, or use output_activation='identity'" in msg
    validate_data(data, (4,), unit_range=False)


def test_check_batch_converts_and_checks_one_batch():
    u8 = np.full((2, 1, 3, 3), 255, dtype=np.uint8)
    out = check_batch(u8, (1, 3, 3))
    assert out.dtype == torch.float32 and bool((out == 1).all())
    x = torch.rand(2, 1, 3, 3, dtype=torch.float64)
    assert torch.equal(check_batch(x, (1, 3, 3)), x.float())
    with pytest.raises(DataError, match=r"data \(shape \(2, 9\)\) has samples of shape \(9,\).*reshape the data"):
        check_batch(torch.rand(2, 9), (1, 3, 3), "data")
    with pytest.raises(DataError, match="single sample without its batch axis"):
        check_batch(torch.rand(1, 3, 3), (1, 3, 3))
    with pytest.raises(DataError, match="1 NaN"):
        check_batch(torch.tensor([[0.5, float("nan")]]), (2,))
    with pytest.raises(DataError, match="of type tuple"):
        check_batch((1.0, 2.0), (2,))


def test_validate_chunked_range_over_chunks(monkeypatch):
    monkeypatch.setattr(validation_mod, "_SCAN_CHUNK_ELEMENTS", 6)
    data = np.full((10, 3), 0.5, dtype=np.float32)
    data[8, 2] = 1.75
    data[1, 0] = 0.0
    with pytest.raises(DataError) as info:
        validate_data(data, (3,), unit_range=True)
    assert "[0, 1.75]" in str(info.value)


def test_validate_adapters_check_first_item_or_batch():
    class Bad(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.full((2, 2), float("nan")), 0

    with pytest.raises(DataError, match="first item"):
        validate_data(Bad(), (2, 2), unit_range=False)
    with pytest.raises(DataError, match=r"reshape the data to \(N, 4\)"):
        validate_data(Bad(), (4,), unit_range=False)
    loader = DataLoader(TensorDataset(torch.full((4, 3), 2.0)), batch_size=2)
    with pytest.raises(DataError, match="first batch") as info:
        validate_data(loader, (3,), unit_range=True)
    assert "[2, 2]" in str(info.value)
    with pytest.raises(DataError, match="empty"):
        validate_data(DataLoader(TensorDataset(torch.zeros(0, 3)), batch_size=2), (3,), unit_range=False)
    with pytest.raises(DataError, match="int64"):
        validate_data(TensorDataset(torch.zeros(3, 2, dtype=torch.int64)), (2,), unit_range=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_resident_and_transfer():
    ds = _indexed(9)
    b = next(iterate_batches(ds, 4, shuffle=True, generator=torch.Generator().manual_seed(0), device="cuda"))
    assert b.data.is_cuda and b.labels.is_cuda and b.data.dtype == torch.float32
    gpu = ds.to("cuda")
    assert gpu.data.is_cuda and gpu.dtype == torch.uint8
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    on_gpu = _ids(iterate_batches(gpu, 4, shuffle=True, generator=g1))
    on_cpu = _ids(iterate_batches(ds, 4, shuffle=True, generator=g2))
    assert on_gpu == on_cpu
