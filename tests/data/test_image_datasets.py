"""CIFAR-10 python batches (restricted unpickling, md5, tar.gz, splits) and image folders / CelebA
(Pillow decoding, centre crop, partition and checksum files), on files the tests write and on the
real CelebA sample (``celeba-sample`` in $GAEKIT_DATA_DIR, which tests/conftest.py points at the shared data)."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gaekit.data import (
    CIFAR10_CLASSES,
    DATASETS,
    decode_image,
    find_data_dir,
    list_images,
    load_celeba,
    load_cifar10,
    load_dataset,
    load_image_folder,
    read_cifar_batch,
)
from gaekit.data import cifar as cifar_mod
from gaekit.errors import ConfigError, DataError

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
OFFICIAL_TAR_MD5 = "c58f30108f718f92721af3b95e74349a"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No dataset reachable through the environment or the user's cache."""
    home = tmp_path / "nowhere"
    (home / "cwd").mkdir(parents=True)
    monkeypatch.delenv("GAEKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.chdir(home / "cwd")
    return home


# ====================================================================== CIFAR-10 helpers
def _batch_arrays(n: int, seed: int, offset: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    data[:, :4] = np.frombuffer(np.arange(offset, offset + n, dtype=">u4").tobytes(), np.uint8).reshape(n, 4)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    return data, labels


def _write_batches(folder: Path, n: int = 6) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Six batches like the official ones (protocol-2 pickles of dicts with bytes keys), n images each;
    every image carries its global index in its first 4 bytes, so all images differ."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, name in enumerate(BATCHES):
        data, labels = _batch_arrays(n, seed=k, offset=k * n)
        obj = {b"batch_label": f"{name}".encode(), b"labels": labels, b"data": data,
               b"filenames": [f"img_{k}_{i}.png".encode() for i in range(n)]}  # fmt: skip
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f, protocol=2)
        out[name] = (data, labels)
    return out


def _py2_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """The byte layout of the official batches (Python 2 cPickle, protocol 2, str as BINSTRING)."""

    def s(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b

    def i(v: int) -> bytes:
        return b"K" + bytes([v]) if 0 <= v < 256 else b"J" + struct.pack("<i", v)

    n = data.shape[0]
    out = b"\x80\x02}("
    out += s(b"batch_label") + s(b"training batch 1 of 5")
    out += s(b"labels") + b"](" + b"".join(i(v) for v in labels) + b"e"
    out += s(b"data") + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + i(0) + b"\x85" + s(b"b")
    out += b"\x87R(" + i(1) + i(n) + i(3072) + b"\x86cnumpy\ndtype\n" + s(b"u1") + i(0) + i(1) + b"\x87R"
    out += b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb"
    out += b"\x89" + s(data.tobytes()) + b"tb"
    out += b"u."
    return out


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _make_tar(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:gz") as tar:
        for name in BATCHES:
            tar.add(src / name, arcname=f"cifar-10-batches-py/{name}")
    return dest


# ====================================================================== CIFAR-10
def test_cifar_splits_shapes_and_order(tmp_path, isolated):
    written = _write_batches(tmp_path / "cifar-10-batches-py", n=6)
    sets = {s: load_cifar10(s, root=tmp_path, verify=False) for s in ("train", "validation", "train_full", "test")}
    assert {s: len(d) for s, d in sets.items()} == {"train": 24, "validation": 6, "train_full": 30, "test": 6}
    for d in sets.values():
        assert d.data.dtype == torch.uint8 and d.sample_shape == (3, 32, 32)
        assert d.labels.dtype == torch.int64 and d.labels.shape == (len(d),)
        assert int(d.labels.min()) >= 0 and int(d.labels.max()) < len(CIFAR10_CLASSES)
    # train = batches 1-4, validation = batch 5 (the last fifth), test = test_batch; rows are R, G, B planes
    train_rows = np.concatenate([written[b][0] for b in BATCHES[:4]])
    np.testing.assert_array_equal(sets["train"].data.numpy().reshape(-1, 3072), train_rows)
    np.testing.assert_array_equal(sets["validation"].data.numpy().reshape(-1, 3072), written["data_batch_5"][0])
    np.testing.assert_array_equal(sets["test"].data.numpy().reshape(-1, 3072), written["test_batch"][0])
    np.testing.assert_array_equal(sets["train"].data[0, 1].numpy(), train_rows[0, 1024:2048].reshape(32, 32))
    assert sets["validation"].labels.tolist() == written["data_batch_5"][1]
    ids = {s: {bytes(x[:4]) for x in d.data.numpy().reshape(len(d), -1)} for s, d in sets.items()}
    assert not ids["train"] & ids["validation"] and not ids["train_full"] & ids["test"]
    assert ids["train"] | ids["validation"] == ids["train_full"]
    # callers get their own writable copies, not the cache
    sets["test"].data[0] = 0
    assert load_cifar10("test", root=tmp_path, verify=False).data[0].numpy().reshape(-1)[:4].tolist() != [0] * 4


def test_cifar_reads_the_python2_layout_of_the_official_files():
    data, labels = _batch_arrays(3, seed=1, offset=0)
    raw = _py2_pickle(data, labels)
    reference = pickle.loads(raw, encoding="bytes")  # trusted: the test wrote it; checks the layout
    np.testing.assert_array_equal(reference[b"data"], data)
    images, labs = read_cifar_batch(raw)
    assert images.dtype == np.uint8 and images.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(images.reshape(3, -1), data)
    assert labs.dtype == np.int64 and labs.tolist() == labels


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_cifar_reads_other_pickle_protocols(tmp_path, protocol):
    data, labels = _batch_arrays(4, seed=2, offset=0)
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({"data": data, "labels": labels}, protocol=protocol))
    images, labs = read_cifar_batch(path)
    np.testing.assert_array_equal(images.reshape(4, -1), data)
    assert labs.tolist() == labels


def test_cifar_tar_gz_is_read_in_memory(tmp_path, isolated):
    src = tmp_path / "src"
    _write_batches(src, n=5)
    archive = _make_tar(src, tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz")
    from_folder = load_cifar10("train_full", root=src, verify=False)
    from_root = load_cifar10("train_full", root=tmp_path / "data", verify=False)  # found in root/cifar10
    from_path = load_cifar10("test", root=archive, verify=False)
    torch.testing.assert_close(from_root.data, from_folder.data)
    assert torch.equal(from_root.labels, from_folder.labels)
    assert len(from_path) == 5 and not list(archive.parent.glob("cifar-10-batches-py"))  # nothing extracted
    with pytest.raises(DataError, match=rf"(?s)checksum mismatch for .*cifar-10-python\.tar\.gz.*{OFFICIAL_TAR_MD5}"):
        load_cifar10("train", root=archive)


def test_cifar_md5_is_checked(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    _write_batches(folder, n=2)
    actual = _md5(folder / "data_batch_1")
    with pytest.raises(DataError) as err:
        load_cifar10("train", root=tmp_path)
    msg = str(err.value)
    assert str(folder / "data_batch_1") in msg and "c99cafc152244af753f735de768cd75f" in msg and actual in msg
    # with the table pointing at these files, verification passes
    monkeypatch.setitem(cifar_mod._MD5, "test_batch", _md5(folder / "test_batch"))
    assert len(load_cifar10("test", root=tmp_path)) == 2
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes() + b"\0")  # one byte more
    with pytest.raises(DataError, match="checksum mismatch for .*test_batch"):
        load_cifar10("test", root=tmp_path)


class _RunsCommand:
    """Pickles as a call to os.system: unpickling it with plain pickle would run the command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("payload", ["os.system", "eval", "numpy-scalar", "object-array"])
def test_cifar_malicious_or_foreign_pickles_are_refused_without_running(tmp_path, isolated, payload):
    marker = tmp_path / "pwned"
    data, labels = _batch_arrays(2, seed=0, offset=0)
    obj = {
        "os.system": {b"data": _RunsCommand(marker), b"labels": labels},
        "eval": {b"data": data, b"labels": _Evals()},
        "numpy-scalar": {b"data": data, b"labels": [np.int64(1), np.int64(2)]},
        "object-array": {b"data": np.array([None, 1], dtype=object), b"labels": labels},
    }[payload]
    folder = tmp_path / "cifar-10-batches-py"
    _write_batches(folder, n=2)
    (folder / "data_batch_1").write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(DataError, match="refused to unpickle|not a plain|dtype") as err:
        load_cifar10("train", root=tmp_path, verify=False)
    assert "data_batch_1" in str(err.value)
    if payload == "os.system":
        assert "system" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("glob", [b"numpy\nndarray", b"numpy\ndtype", b"numpy.core.multiarray\n_reconstruct"])
def test_cifar_pickle_cannot_alter_the_stand_ins(glob):
    # GLOBAL, then BUILD with a slot state {"__setstate__": None}: setattr on what find_class returned
    attr = b"__setstate__"
    raw = b"\x80\x02c" + glob + b"\nN}X" + len(attr).to_bytes(4, "little") + attr + b"Ns\x86b."
    with pytest.raises(DataError):
        read_cifar_batch(raw)
    for cls in (cifar_mod._NdarrayType, cifar_mod._Dtype, cifar_mod._Array):
        assert cls.__dict__.get("__setstate__", "absent") is not None
    data, labels = _batch_arrays(2, seed=0, offset=0)
    assert read_cifar_batch(_py2_pickle(data, labels))[1].tolist() == labels


@pytest.mark.parametrize(
    "obj, match",
    [
        ([1, 2, 3], "holds a list"),
        ({b"labels": [1]}, "no data"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"shape \(2, 100\)"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "dtype float32"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels in 0\.\.10"),
        ({b"data": b"\x00" * 3072, b"labels": [0]}, "expected a uint8 numpy array"),
    ],
)
def test_cifar_wrong_content_is_a_clear_error(tmp_path, obj, match):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(DataError, match=match):
        read_cifar_batch(path)


def test_cifar_truncated_or_garbage_file(tmp_path):
    data, labels = _batch_arrays(2, seed=0, offset=0)
    path = tmp_path / "data_batch_1"
    path.write_bytes(_py2_pickle(data, labels)[:-200])
    with pytest.raises(DataError, match="data_batch_1"):
        read_cifar_batch(path)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="not a readable CIFAR-10 batch"):
        read_cifar_batch(path)


def test_cifar_missing_files_say_where_they_were_looked_for(tmp_path, isolated):
    root = tmp_path / "empty"
    root.mkdir()
    _write_batches(root / "cifar-10-batches-py", n=1)
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError) as err:
        load_cifar10("train", root=root)
    msg = str(err.value)  # a given root is the only place looked at: named, with how to get the data
    assert "searched" in msg and str(root) in msg and str(root / "cifar10") in msg and "data_batch_3" in msg
    assert "cs.toronto.edu" in msg and str(isolated / "cache") not in msg
    with pytest.raises(DataError, match=f"{root / 'nowhere'} \\(it does not exist\\)"):
        load_cifar10("train", root=root / "nowhere")
    with pytest.raises(DataError) as err:
        load_cifar10("train")  # no root: the usual places, in order
    msg = str(err.value)
    assert "searched" in msg and str(isolated / "cache" / "gaekit" / "data" / "cifar10") in msg
    assert "GAEKIT_DATA_DIR" in msg and "cs.toronto.edu" in msg
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        load_cifar10("val", root=root)


def test_cifar_registered_and_dispatched(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    _write_batches(folder, n=2)
    for name in BATCHES:  # the md5 table pointing at these files: the default verify=True passes
        monkeypatch.setitem(cifar_mod._MD5, name, _md5(folder / name))
    assert {"cifar10", "celeba"} <= set(DATASETS.names())
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(tmp_path))  # found as $GAEKIT_DATA_DIR/cifar10
    d = load_dataset("cifar10", "validation")
    assert len(d) == 2 and d.sample_shape == (3, 32, 32)


# ====================================================================== image helpers
def _png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _faces(folder: Path, names: list[str], size=(12, 10)) -> dict[str, np.ndarray]:
    """Small lossless RGB PNGs with distinct content."""
    out = {}
    for k, name in enumerate(names):
        arr = np.full((*size, 3), 0, np.uint8)
        arr[..., 0] = k % 256
        arr[..., 1] = (k * 7) % 256
        arr[..., 2] = np.arange(size[1], dtype=np.uint8)[None, :] * 10
        _png(folder / name, arr)
        out[name] = arr
    return out


@pytest.fixture(scope="module")
def celeba_sample():
    try:
        return find_data_dir("celeba-sample", required=("align_89x109.sha256", "align_178x218.sha256"))
    except DataError as err:
        pytest.skip(f"CelebA sample not available here: {err}")


# ====================================================================== CelebA sample
def test_celeba_sample_at_both_scales_gives_the_same_faces(celeba_sample, isolated):
    small = load_celeba("train", root=celeba_sample / "align_89x109")
    large = load_celeba("all", root=celeba_sample / "align_178x218")
    assert small.data.shape == (500, 3, 64, 64) and large.data.shape == (32, 3, 64, 64)
    assert small.data.dtype == torch.uint8 and small.labels is None
    a = small.data[:32].double()
    b = large.data.double()
    same = (a - b).abs().mean().item()
    other = (a - b.roll(1, dims=0)).abs().mean().item()
    assert same < 6.0 and other > 8 * same, (same, other)  # resampling + JPEG error only
    # the crop scales with the image: an absolute 140-pixel crop would not fit the 89x109 images
    with pytest.raises(DataError, match=r"000001\.jpg is 89x109.*does not fit"):
        load_image_folder(celeba_sample / "align_89x109", crop=(140, 140))


def test_celeba_sample_splits_and_threads(celeba_sample, isolated):
    folder = celeba_sample / "align_178x218"
    with pytest.raises(DataError, match="none in split 'test'.*official CelebA index"):
        load_celeba("test", root=folder)
    one = load_celeba("train_full", root=folder, num_workers=1)
    many = load_celeba("train", root=folder, num_workers=3)
    assert torch.equal(one.data, many.data)
    assert load_dataset(f"images:{folder}", "all").data.shape == (32, 3, 64, 64)


def test_sha256_list_is_checked(celeba_sample, tmp_path):
    src = celeba_sample / "align_89x109"
    dst = tmp_path / "faces"
    dst.mkdir()
    sums = dict(line.split()[::-1] for line in (celeba_sample / "align_89x109.sha256").read_text().splitlines())
    names = [f"{i:06d}.jpg" for i in range(1, 6)]
    for n in names:
        shutil.copy(src / n, dst / n)
    (tmp_path / "faces.sha256").write_text("".join(f"{sums[n]}  {n}\n" for n in names))
    ok = load_image_folder(dst)  # found as <folder>.sha256
    assert ok.data.shape == (5, 3, 64, 64)
    shutil.copy(src / "000009.jpg", dst / "000003.jpg")  # a valid image, but not the listed one
    with pytest.raises(DataError) as err:
        load_image_folder(dst)
    assert "000003.jpg" in str(err.value) and sums["000003.jpg"] in str(err.value)
    assert hashlib.sha256((dst / "000003.jpg").read_bytes()).hexdigest() in str(err.value)
    assert load_image_folder(dst, checksums=None).data.shape == (5, 3, 64, 64)
    (dst / "000002.jpg").unlink()
    with pytest.raises(DataError, match="lacks 1 images listed"):
        load_image_folder(dst, checksums=tmp_path / "faces.sha256")


# ====================================================================== image folders
def test_decode_crop_resize_and_modes(tmp_path):
    from PIL import Image

    arr = np.arange(20 * 30 * 3, dtype=np.uint32).reshape(20, 30, 3).astype(np.uint8)
    path = _png(tmp_path / "a.png", arr)
    out = decode_image(path, image_size=10, crop=(10, 10))  # integer box, no scaling: exact pixels
    np.testing.assert_array_equal(out, arr[5:15, 10:20].transpose(2, 0, 1))
    np.testing.assert_array_equal(decode_image(path, 10, crop=(0.5, 1 / 3)), out)
    np.testing.assert_array_equal(decode_image(path, (20, 20), crop="square"), arr[:, 5:25].transpose(2, 0, 1))
    assert decode_image(path, (8, 12)).shape == (3, 8, 12)
    grey = Image.fromarray(arr[..., 0]).convert("L")
    grey.save(tmp_path / "g.png")
    rgb = decode_image(tmp_path / "g.png", (20, 30))
    assert rgb.shape == (3, 20, 30) and (rgb[0] == rgb[1]).all() and (rgb[0] == arr[..., 0]).all()
    Image.fromarray(np.dstack([arr, np.full((20, 30), 7, np.uint8)])).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(decode_image(tmp_path / "rgba.png", (20, 30)), arr.transpose(2, 0, 1))
    assert decode_image(path, 8, channels=1).shape == (1, 8, 8)
    with pytest.raises(DataError, match="does not fit"):
        decode_image(path, 8, crop=(25, 10))
    for bad in [(0, 5), (1.5, 0.5), "centre", (5,)]:
        with pytest.raises(ConfigError, match="crop must be"):
            decode_image(path, 8, crop=bad)
    with pytest.raises(ConfigError, match="unknown resample"):
        decode_image(path, 8, resample="cubic")
    with pytest.raises(ConfigError, match="image_size"):
        decode_image(path, 0)


def test_unreadable_image_is_named(tmp_path):
    folder = tmp_path / "imgs"
    _faces(folder, ["a.png", "b.png"])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match=r"cannot read image .*broken\.jpg"):
        load_image_folder(folder)
    (folder / "broken.jpg").unlink()
    good = (folder / "a.png").read_bytes()
    (folder / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"cut\.png"):
        load_image_folder(folder, num_workers=1)


def test_missing_or_empty_folder(tmp_path, isolated):
    with pytest.raises(DataError, match=f"{tmp_path / 'absent'}.* does not exist"):
        load_image_folder(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no image"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(DataError) as err:
        load_celeba("train", root=tmp_path / "empty")
    msg = str(err.value)  # a given root is the only place looked at: named, with how to get the data
    assert "searched" in msg and str(tmp_path / "empty" / "celeba") in msg and "img_align_celeba.zip" in msg
    assert str(isolated / "cache") not in msg
    with pytest.raises(DataError) as err:
        load_celeba("train")  # no root: the usual places
    msg = str(err.value)
    assert "searched" in msg and str(isolated / "cache" / "gaekit" / "data" / "celeba") in msg
    assert "GAEKIT_DATA_DIR" in msg and "img_align_celeba.zip" in msg


def test_hash_split_is_deterministic_disjoint_and_stable(tmp_path):
    folder = tmp_path / "imgs"
    names = [f"pic_{i:03d}.png" for i in range(60)]
    _faces(folder, names, size=(6, 6))
    assert [p.name for p in list_images(folder)] == sorted(names)
    parts = {s: load_image_folder(folder, 6, split=s, num_workers=1) for s in ("train", "validation", "test")}
    key = {s: {bytes(x) for x in d.data.numpy()[:, :2, 0, 0]} for s, d in parts.items()}
    assert sum(len(d) for d in parts.values()) == 60 and all(len(d) > 0 for d in parts.values())
    assert not (key["train"] & key["validation"] or key["train"] & key["test"] or key["validation"] & key["test"])
    full = load_image_folder(folder, 6, split="train_full")
    assert len(full) == len(parts["train"]) + len(parts["validation"])
    assert torch.equal(load_image_folder(folder, 6, split="test").data, parts["test"].data)
    _faces(folder, [f"zz_{i}.png" for i in range(30)], size=(6, 6))  # adding files moves no old file
    test_after = load_image_folder(folder, 6, split="test")
    assert key["test"] <= {bytes(x) for x in test_after.data.numpy()[:, :2, 0, 0]}
    # load_dataset("images:...") is the same rule at 64x64
    via = load_dataset(f"images:{folder}", "validation")
    assert via.data.shape[1:] == (3, 64, 64) and len(via) == len(load_image_folder(folder, split="validation"))
    with pytest.raises(ConfigError, match="unknown split"):
        load_dataset(f"images:{folder}", "valid")


def test_partition_and_attribute_files(tmp_path, isolated):
    root = tmp_path / "celeba"
    names = [f"{i:06d}.png" for i in range(1, 11)]
    arrays = _faces(root / "img_align_celeba", names, size=(218 // 4, 178 // 4))
    codes = [0, 0, 0, 0, 1, 1, 2, 2, 2, 0]
    (root / "list_eval_partition.txt").write_text("".join(f"{n} {c}\n" for n, c in zip(names, codes)))
    attr_names = ["Smiling", "Young", "Male"]
    rng = np.random.default_rng(0)
    attrs = rng.choice([-1, 1], size=(10, 3))
    rows = "".join(f"{n} " + "  ".join(map(str, a)) + "\n" for n, a in zip(names, attrs))
    (root / "list_attr_celeba.txt").write_text("10\n" + " ".join(attr_names) + "\n" + rows)
    sizes = {s: len(load_celeba(s, root=tmp_path)) for s in ("train", "validation", "test", "train_full", "all")}
    assert sizes == {"train": 5, "validation": 2, "test": 3, "train_full": 7, "all": 10}
    test = load_celeba("test", root=tmp_path, image_size=16)
    assert test.data.shape == (3, 3, 16, 16)
    assert test.labels.tolist() == (attrs[[6, 7, 8]] > 0).astype(int).tolist()
    assert load_celeba("test", root=tmp_path, attributes=False).labels is None
    first = load_celeba("train", root=root / "img_align_celeba", crop=None, image_size=(218 // 4, 178 // 4))
    np.testing.assert_array_equal(first.data[0].numpy(), arrays[names[0]].transpose(2, 0, 1))
    assert torch.equal(load_dataset("celeba", "validation", root=tmp_path).data,
                       load_celeba("validation", root=root).data)  # fmt: skip
    _faces(root / "img_align_celeba", ["000011.png"], size=(218 // 4, 178 // 4))
    with pytest.raises(DataError, match=r"partition file .* does not list 1 of its images \(e\.g\. 000011\.png\)"):
        load_celeba("train", root=tmp_path)
    (root / "list_eval_partition.txt").write_text("000001.png 7\n")
    with pytest.raises(DataError, match=r"list_eval_partition\.txt, line 1"):
        load_celeba("train", root=tmp_path)


def test_celeba_official_ranges_without_partition_file(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "celeba"
    _faces(folder, ["000001.jpg", "162770.jpg", "162771.jpg", "182637.jpg", "182638.jpg", "202599.jpg"])
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(tmp_path))  # found as $GAEKIT_DATA_DIR/celeba
    sizes = {s: len(load_celeba(s, crop=None)) for s in ("train", "validation", "test", "train_full")}
    assert sizes == {"train": 2, "validation": 2, "test": 2, "train_full": 4}
    _faces(folder, ["face.png"])
    with pytest.raises(DataError, match="not CelebA's"):
        load_celeba("train", root=folder)
    assert len(load_celeba("all", root=folder, crop=None)) == 7


def test_image_bytes_are_not_reread_through_pickle(tmp_path):
    """The image path never touches pickle: a pickle file named .png is just an unreadable image."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "x.png").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataError, match=r"cannot read image .*x\.png"):
        load_image_folder(folder)
