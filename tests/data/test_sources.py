from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from gaekit.data import (
    DATASETS,
    ArrayDataset,
    digits,
    download_mnist,
    find_data_dir,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    lookup,
    mnist,
    read_idx,
)
from gaekit.errors import ConfigError, DataError

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
IDX_CODES = {np.dtype(k): v for k, v in {"u1": 8, "i1": 9, "i2": 11, "i4": 12, "f4": 13, "f8": 14}.items()}


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode ``arr`` in the IDX format (big-endian), independently of the code under test."""
    code = IDX_CODES[arr.dtype.newbyteorder("=")]
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_mnist_like(
    folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True, seed: int = 0
) -> dict:
    """Write four small MNIST-format files; return {file name: md5}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        STEMS[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        STEMS[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        STEMS[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        STEMS[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    sums = {}
    for stem, arr in arrays.items():
        p = write_idx(folder / (stem + (".gz" if gz else "")), arr, gz)
        sums[p.name] = md5(p)
    return {"md5": sums, **arrays}


def _clear_caches() -> None:
    """Forget the checksums, decoded IDX arrays and digits cached in-process."""
    for module in (lookup, mnist, digits):
        module._clear_cache()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No GAEKIT_DATA_DIR, a private user cache dir, fresh in-process caches."""
    monkeypatch.delenv("GAEKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _clear_caches()
    yield tmp_path
    _clear_caches()


# ---------------------------------------------------------------------- IDX
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_read_idx_roundtrip(tmp_path, gz, dtype):
    values = np.arange(30) * 3 if dtype == "u1" else np.arange(30) - 7.5 * (dtype[0] == "f") - 7
    arr = values.astype(dtype).reshape(2, 3, 5)
    out = read_idx(write_idx(tmp_path / "a.idx", arr, gz))
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_read_idx_truncated_and_malformed(tmp_path):
    good = idx_bytes(np.zeros((4, 3), dtype=np.uint8))
    (tmp_path / "short").write_bytes(good[:-2])
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(tmp_path / "short")
    assert str(len(good) - 2) in str(info.value) and str(len(good)) in str(info.value)
    (tmp_path / "short.gz").write_bytes(gzip.compress(good[:-2]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good)[:-10])  # broken gzip stream
    with pytest.raises(DataError, match="truncated|gzip"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "long").write_bytes(good + b"\0")
    with pytest.raises(DataError, match="longer"):
        read_idx(tmp_path / "long")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + good[4:])
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "missing")


# ---------------------------------------------------------------------- MNIST-like loading
def test_checksum_mismatch_names_file_and_sums(clean_env):
    folder = clean_env / "fake"
    written = write_mnist_like(folder)
    with pytest.raises(DataError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in msg
    assert mnist._MD5["mnist"]["t10k-images-idx3-ubyte.gz"] in msg
    assert written["md5"]["t10k-images-idx3-ubyte.gz"] in msg
    ds = load_mnist("test", root=folder, verify=False)
    assert len(ds) == 6


def test_md5_cached_per_file_state(clean_env, monkeypatch):
    folder = clean_env / "fashion-mnist"
    written = write_mnist_like(folder)
    monkeypatch.setitem(mnist._MD5, "fashion-mnist", dict(written["md5"]))
    calls = []
    real_md5 = hashlib.md5

    def counting_md5(*args, **kwargs):
        calls.append(1)
        return real_md5(*args, **kwargs)

    monkeypatch.setattr(hashlib, "md5", counting_md5)
    load_fashion_mnist("train", root=clean_env)
    first = len(calls)
    assert first == 2
    load_fashion_mnist("validation", root=clean_env)
    load_fashion_mnist("train_full", root=clean_env)
    assert len(calls) == first  # not re-hashed
    # a changed file (other size, so other cache key) is hashed again and caught
    write_idx(folder / (STEMS[1] + ".gz"), np.zeros(12, dtype=np.uint8), True)
    with pytest.raises(DataError, match="checksum mismatch"):
        load_fashion_mnist("train", root=clean_env)
    assert len(calls) > first


def test_fashion_mnist_small_files_and_splits(clean_env, monkeypatch):
    folder = clean_env / "data" / "fashion-mnist"
    written = write_mnist_like(folder, n_train=12, n_test=5)
    monkeypatch.setitem(mnist._MD5, "fashion-mnist", dict(written["md5"]))
    root = clean_env / "data"
    sizes = {s: len(load_fashion_mnist(s, root=root)) for s in ("train", "validation", "test", "train_full")}
    assert sizes == {"train": 10, "validation": 2, "test": 5, "train_full": 12}
    full = load_fashion_mnist("train_full", root=root)
    val = load_fashion_mnist("validation", root=root)
    assert full.dtype == torch.uint8 and full.sample_shape == (1, 28, 28) and full.labels.dtype == torch.int64
    np.testing.assert_array_equal(full.data.numpy()[:, 0], written[STEMS[0]])
    np.testing.assert_array_equal(full.labels.numpy(), written[STEMS[1]])
    assert torch.equal(val.data, full.data[-2:])
    assert load_dataset("fashion-mnist", "test", root=root).labels.tolist() == written[STEMS[3]].tolist()


def test_raw_fashion_files_checked_by_header_only(clean_env):
    folder = clean_env / "fashion-mnist"
    write_mnist_like(folder, gz=False)
    ds = load_fashion_mnist("train_full", root=folder)  # verify=True, no official md5 for raw files
    assert len(ds) == 12
    write_idx(folder / STEMS[2], np.zeros((3, 32, 32), dtype=np.uint8), False)
    with pytest.raises(DataError, match=r"\(N, 28, 28\)") as info:
        load_fashion_mnist("test", root=folder)
    assert "(3, 32, 32)" in str(info.value)


def test_raw_mnist_files_are_md5_checked(clean_env):
    folder = clean_env / "mnist"
    write_mnist_like(folder, gz=False)
    with pytest.raises(DataError, match="checksum mismatch") as info:
        load_mnist("train", root=folder)
    assert mnist._MD5["mnist"]["train-images-idx3-ubyte"] in str(info.value)


def test_mutating_a_loaded_dataset_does_not_leak_into_the_cache(clean_env):
    folder = clean_env / "mnist"
    write_mnist_like(folder)
    a = load_mnist("train_full", root=folder, verify=False)
    before = a.data.clone()
    a.data.zero_()
    b = load_mnist("train_full", root=folder, verify=False)
    assert torch.equal(b.data, before)


def test_bad_split_lists_allowed(clean_env):
    with pytest.raises(ConfigError) as info:
        load_mnist("valid", root=clean_env)
    for s in ("train", "validation", "test", "train_full"):
        assert s in str(info.value)
    with pytest.raises(ConfigError, match="train_full"):
        load_digits("dev")


def test_gaekit_data_dir_env(clean_env, monkeypatch):
    env_root = clean_env / "envdata"
    written = write_mnist_like(env_root / "mnist", n_train=18, n_test=4)
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(env_root))
    assert find_data_dir("mnist") == env_root / "mnist"
    ds = load_mnist("validation", verify=False)
    assert len(ds) == 3
    np.testing.assert_array_equal(ds.data.numpy()[:, 0], written[STEMS[0]][-3:])
    # an explicit root wins over the environment
    other = clean_env / "explicit"
    write_mnist_like(other, n_train=6, n_test=2)
    assert find_data_dir("mnist", root=other) == other
    assert len(load_mnist("train_full", root=other, verify=False)) == 6


def test_user_cache_dir_is_searched(clean_env):
    target = clean_env / "xdg" / "gaekit" / "data" / "fashion-mnist"
    write_mnist_like(target)
    assert find_data_dir("fashion-mnist") == target


def test_not_found_lists_places_and_how_to_get_data(clean_env, monkeypatch):
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(clean_env / "nothing"))
    with pytest.raises(DataError) as info:  # no root: the environment, then the user folder
        find_data_dir("fashion-mnist")
    msg = str(info.value)
    places = [clean_env / "nothing" / "fashion-mnist", clean_env / "xdg" / "gaekit" / "data" / "fashion-mnist"]
    assert [line[len("  - "):] for line in msg.splitlines() if line.startswith("  - ")] == list(map(str, places))
    assert "download_mnist(root, fashion=True)" in msg and "GAEKIT_DATA_DIR" in msg


@pytest.mark.parametrize("exists", [True, False])
def test_a_given_root_is_the_only_place_looked_at(clean_env, monkeypatch, exists):
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(clean_env / "nothing"))
    given = clean_env / "given"
    if exists:
        given.mkdir()
    with pytest.raises(DataError) as info:
        find_data_dir("fashion-mnist", root=given)
    msg = str(info.value)
    assert str(given) in msg and str(given / "fashion-mnist") in msg and "download_mnist(root, fashion=True)" in msg
    assert ("does not exist" in msg) != exists
    assert str(clean_env / "nothing") not in msg and str(clean_env / "xdg") not in msg


def test_no_folder_of_a_ci_checkout_is_searched(clean_env, monkeypatch):
    """``../shared/datasets`` (next to the current folder or to the source checkout) is a path of our CI, not
    of a user's machine: the lookup searches GAEKIT_DATA_DIR and the user folder only."""
    write_mnist_like(clean_env / "shared" / "datasets" / "mnist")
    (clean_env / "work").mkdir()
    monkeypatch.chdir(clean_env / "work")
    with pytest.raises(DataError) as info:
        find_data_dir("mnist")
    listed = [line[len("  - "):] for line in str(info.value).splitlines() if line.startswith("  - ")]
    assert listed == [str(clean_env / "xdg" / "gaekit" / "data" / "mnist")]


# ---------------------------------------------------------------------- real MNIST
def test_real_mnist_via_gaekit_data_dir(clean_env, monkeypatch, mnist_dir):
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(mnist_dir.parent))
    assert find_data_dir("mnist") == mnist_dir
    splits = {s: load_mnist(s) for s in ("train", "validation", "test", "train_full")}
    assert {s: len(d) for s, d in splits.items()} == {
        "train": 50000,
        "validation": 10000,
        "test": 10000,
        "train_full": 60000,
    }
    full = splits["train_full"]
    for d in splits.values():
        assert d.dtype == torch.uint8 and d.sample_shape == (1, 28, 28)
        assert d.labels.dtype == torch.int64 and set(d.labels.unique().tolist()) == set(range(10))
    assert torch.equal(splits["validation"].data, full.data[50000:])
    assert torch.equal(splits["validation"].labels, full.labels[50000:])
    assert torch.equal(splits["train"].data, full.data[:50000])
    assert not torch.equal(splits["test"].data, full.data[:10000])
    batch = splits["test"].get_batch(torch.arange(5))
    assert (
        batch.data.dtype == torch.float32
        and 0.0 <= float(batch.data.min())
        and float(batch.data.max()) <= 1.0
    )
    assert len(load_dataset("mnist", "test")) == 10000


# ---------------------------------------------------------------------- download
def test_download_offline_message(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("name resolution failed")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as info:
        download_mnist(tmp_path / "dl")
    msg = str(info.value)
    assert "offline?" in msg and "name resolution failed" in msg and str(tmp_path / "dl") in msg
    assert "GAEKIT_DATA_DIR" in msg
    assert list((tmp_path / "dl").iterdir()) == []  # no partial files left


def test_download_writes_verified_files(tmp_path, monkeypatch):
    payloads = {stem + ".gz": gzip.compress(f"content of {stem}".encode()) for stem in STEMS}
    monkeypatch.setitem(
        mnist._MD5, "fashion-mnist", {k: hashlib.md5(v).hexdigest() for k, v in payloads.items()}
    )
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        name = url.rsplit("/", 1)[1]
        if name == STEMS[0] + ".gz" and len([u for u in requested if u.endswith(name)]) == 1:
            return io.BytesIO(b"corrupted")  # first mirror serves a bad file: the next one is tried
        return io.BytesIO(payloads[name])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    folder = download_mnist(tmp_path / "fm", fashion=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(payloads)
    for name, data in payloads.items():
        assert (folder / name).read_bytes() == data
    assert len(requested) == 5
    requested.clear()
    download_mnist(tmp_path / "fm", fashion=True)  # already present and valid: nothing fetched
    assert requested == []


# ---------------------------------------------------------------------- digits
def test_load_digits_splits():
    from sklearn.datasets import load_digits as sk_digits

    splits = {s: load_digits(s) for s in ("train", "validation", "test", "train_full")}
    assert {s: len(d) for s, d in splits.items()} == {
        "train": 1297,
        "validation": 200,
        "test": 300,
        "train_full": 1497,
    }
    for d in splits.values():
        assert d.dtype == torch.float32 and d.sample_shape == (1, 8, 8) and d.labels.dtype == torch.int64
        assert float(d.data.min()) >= 0.0 and float(d.data.max()) <= 1.0

    def rows(d: ArrayDataset) -> Counter:
        return Counter((d.data[i].numpy().tobytes(), int(d.labels[i])) for i in range(len(d)))

    bunch = sk_digits()
    everything = ArrayDataset((bunch.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8), bunch.target)
    # train, validation and test partition the 1797 digits
    assert rows(splits["train"]) + rows(splits["validation"]) + rows(splits["test"]) == rows(everything)
    assert torch.equal(
        splits["train_full"].data, torch.cat([splits["train"].data, splits["validation"].data])
    )
    assert torch.equal(load_digits("test").data, splits["test"].data)  # deterministic
    assert len(set(splits["train"].labels.tolist())) == 10


def test_import_is_cheap():
    code = "import sys, gaekit.data; assert 'sklearn' not in sys.modules, 'sklearn imported eagerly'"
    env = dict(os.environ, PYTHONPATH=str(Path(lookup.__file__).resolve().parents[2]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


# ---------------------------------------------------------------------- npz
def test_load_npz_keys(tmp_path):
    x = np.random.default_rng(0).random((5, 2, 3)).astype(np.float32)
    y = np.arange(5)
    np.savez(tmp_path / "one.npz", arr=x)
    assert torch.equal(load_npz(tmp_path / "one.npz").data, torch.from_numpy(x))
    np.savez(tmp_path / "xy.npz", x=x, y=y, other=np.zeros(2))
    ds = load_npz(tmp_path / "xy.npz")
    assert ds.sample_shape == (2, 3) and ds.labels.tolist() == y.tolist()
    ds = load_npz(tmp_path / "xy.npz", key="other")
    assert len(ds) == 2 and ds.labels is None
    np.savez(tmp_path / "ambiguous.npz", a=x, b=x)
    with pytest.raises(DataError) as info:
        load_npz(tmp_path / "ambiguous.npz")
    assert "'a'" in str(info.value) and "'b'" in str(info.value)
    with pytest.raises(DataError, match="no array 'c'"):
        load_npz(tmp_path / "ambiguous.npz", key="c")
    ds = load_npz(tmp_path / "ambiguous.npz", key="a", labels_key=None)
    assert ds.labels is None
    np.save(tmp_path / "plain.npy", x)
    assert len(load_npz(tmp_path / "plain.npy")) == 5
    with pytest.raises(DataError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")


def test_load_npz_refuses_object_arrays(tmp_path):
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = [1, 2], "x"
    np.savez(tmp_path / "obj.npz", data=obj)
    with pytest.raises(DataError, match="pickle"):
        load_npz(tmp_path / "obj.npz")
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    with pytest.raises(DataError, match="pickle|allow_pickle"):
        load_npz(tmp_path / "obj.npy")


def test_load_dataset_registry_and_npz_splits(tmp_path):
    assert {"digits", "mnist", "fashion-mnist"} <= set(DATASETS.names())
    assert len(load_dataset("digits", "validation")) == 200
    with pytest.raises(ConfigError) as info:
        load_dataset("cifar-99")
    assert "digits" in str(info.value) and "mnist" in str(info.value)
    tr, te = np.zeros((6, 3), dtype=np.float32), np.ones((2, 3), dtype=np.float32)
    np.savez(tmp_path / "s.npz", train=tr, test=te, test_labels=np.array([1, 0]))
    assert len(load_dataset(f"npz:{tmp_path / 's.npz'}", "train")) == 6
    test = load_dataset(f"npz:{tmp_path / 's.npz'}", "test")
    assert len(test) == 2 and test.labels.tolist() == [1, 0]
    np.savez(tmp_path / "single.npz", images=tr)
    assert len(load_dataset(f"npz:{tmp_path / 'single.npz'}", "test")) == 6
