"""Files in gaekit folders: judged by what they are; saving replaces only gaekit's files; killed saves recover."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from gaekit.errors import CheckpointError, UnsafeLoadError
from gaekit.models import AE, VQVAE, AEConfig, AutoModel, VQVAEConfig
from gaekit.pipelines import GenerationPipeline
from gaekit.samplers import BaseSampler, GaussianMixtureSamplerConfig, NormalSampler
from gaekit.serialization import check_file, check_folder_files, read_safetensors_header, sha256_file

PICKLE_HEAD_LENGTHS = [640, 896, 1152, 1408]  # little-endian 0x80 0x02..0x05: the first bytes of a pickle
DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32, torch.int16,
          torch.int8, torch.uint8, torch.bool]
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def tiny_ae(seed: int = 0) -> AE:
    torch.manual_seed(seed)
    return AE(AEConfig(input_dim=(1, 8, 8), latent_dim=3))


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def header_length(data: bytes) -> int:
    return int.from_bytes(data[:8], "little")


def safetensors_with_header(tensors: dict[str, torch.Tensor], length: int) -> bytes | None:
    """The safetensors bytes of ``tensors`` whose header is exactly ``length`` bytes (padded metadata), if any."""
    base = header_length(st_save(tensors, metadata={"pad": ""}))
    pad = max(length - base, 0)
    for extra in range(pad, pad + 16):  # the header is space-padded to a multiple of 8
        data = st_save(tensors, metadata={"pad": "x" * extra})
        if header_length(data) == length:
            return data
        if header_length(data) > length:
            return None
    return None


# -- defect 1: gaekit's own files are accepted whatever their first bytes ------------------------------
def test_a_model_whose_weights_header_starts_like_a_pickle_loads(tmp_path):
    model = VQVAE(VQVAEConfig(input_dim=(1, 28, 28), latent_dim=8))
    model.save(tmp_path / "vq")
    head = (tmp_path / "vq" / "model.safetensors").read_bytes()[:2]
    assert head[0] == 0x80 and 2 <= head[1] <= 5  # what the former first-bytes sniffing refused
    assert same_weights(AutoModel.load_from_folder(tmp_path / "vq"), model)


@pytest.mark.parametrize("length", PICKLE_HEAD_LENGTHS)
def test_every_pickle_like_header_length_is_accepted(tmp_path, length):
    tiny_ae().save(tmp_path / "m")
    data = safetensors_with_header({"w": torch.arange(6.0).view(2, 3)}, length)
    assert data is not None and data[0] == 0x80 and data[1] == length >> 8
    (tmp_path / "m" / "extra.safetensors").write_bytes(data)
    assert read_safetensors_header(tmp_path / "m" / "extra.safetensors") == {"w": ("F32", (2, 3))}
    AutoModel.load_from_folder(tmp_path / "m")


tensor_dicts = st.dictionaries(
    st.text("abcdefghij._", min_size=1, max_size=12),
    st.tuples(st.sampled_from(DTYPES), st.lists(st.integers(0, 4), max_size=4)),
    max_size=5,
)


@FAST
@given(specs=tensor_dicts, length=st.sampled_from(PICKLE_HEAD_LENGTHS) | st.integers(40, 400).map(lambda n: 8 * n))
def test_header_of_drawn_tensors_is_read_exactly_and_the_folder_loads(tmp_path_factory, specs, length):
    tensors = {name: torch.zeros(shape, dtype=dtype) for name, (dtype, shape) in specs.items()}
    data = safetensors_with_header(tensors, length)
    assume(data is not None)
    folder = tmp_path_factory.mktemp("m")
    tiny_ae().save(folder)
    path = folder / "extra.safetensors"
    path.write_bytes(data)
    header = read_safetensors_header(path)
    with safe_open(str(path), "pt") as fh:
        assert set(header) == set(fh.keys())
        for name in fh.keys():
            assert header[name][1] == tuple(fh.get_slice(name).get_shape())
    assert {k: v[1] for k, v in header.items()} == {k: tuple(t.shape) for k, t in tensors.items()}
    assert header_length(data) == length
    AutoModel.load_from_folder(folder)


@FAST
@given(blob=st.binary(max_size=300), cut=st.integers(0, 400), flip=st.integers(0, 400))
def test_the_header_reader_never_accepts_what_safetensors_cannot_load(tmp_path_factory, blob, cut, flip):
    """Random bytes, truncations and bit flips: a CheckpointError, or a file that safetensors loads."""
    valid = bytearray(st_save({"a": torch.arange(4.0), "b": torch.ones(2, 3, dtype=torch.int8)}))
    if flip < len(valid):
        valid[flip] ^= 0x20
    folder = tmp_path_factory.mktemp("f")
    for i, data in enumerate([blob, bytes(valid), bytes(valid[:cut])]):
        path = folder / f"{i}.safetensors"
        path.write_bytes(data)
        try:
            read_safetensors_header(path)
        except CheckpointError as err:
            assert str(path) in str(err)
            continue
        st_load(data)  # accepted by the header reader: safetensors reads it too


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("name", ["extra.pkl", "notes.txt", "README.md", "meta.json", "LICENSE", "blob", "x.npy"])
def test_pickles_of_every_protocol_are_refused_under_any_name(tmp_path, protocol, name):
    tiny_ae().save(tmp_path / "m")
    (tmp_path / "m" / name).write_bytes(pickle.dumps({"a": [1, 2.5, "x"]}, protocol=protocol))
    with pytest.raises(UnsafeLoadError, match=name.replace(".", r"\.")):
        AutoModel.load_from_folder(tmp_path / "m")


def replace_weights(folder, data: bytes) -> None:
    """Write ``data`` as the weights, recording its checksum as if gaekit had saved it."""
    (folder / "model.safetensors").write_bytes(data)
    meta = json.loads((folder / "gaekit.json").read_text())
    meta["sha256"]["model.safetensors"] = sha256_file(folder / "model.safetensors")
    (folder / "gaekit.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_pickle_named_safetensors_is_refused(tmp_path, protocol):
    tiny_ae().save(tmp_path / "m")
    payload = pickle.dumps({"w": 1}, protocol=protocol)
    (tmp_path / "m" / "model.safetensors").write_bytes(payload)
    with pytest.raises(CheckpointError, match="checksum"):
        AutoModel.load_from_folder(tmp_path / "m")
    replace_weights(tmp_path / "m", payload)
    with pytest.raises(CheckpointError, match="model.safetensors is not a readable safetensors file"):
        AutoModel.load_from_folder(tmp_path / "m")
    (tmp_path / "m" / "other.safetensors").write_bytes(payload)
    with pytest.raises(CheckpointError, match="other.safetensors is not a readable safetensors file"):
        check_file(tmp_path / "m" / "other.safetensors")


@pytest.mark.parametrize("name", ["weights.pt", "weights.zip", "weights.json", "weights.safetensors", "weights"])
def test_torch_zip_archives_are_refused(tmp_path, name):
    tiny_ae().save(tmp_path / "m")
    torch.save({"w": torch.zeros(2)}, tmp_path / "m" / name)
    with pytest.raises(CheckpointError, match=name):
        AutoModel.load_from_folder(tmp_path / "m")


def test_random_bytes_and_truncated_weights_are_reported(tmp_path):
    tiny_ae().save(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    good = weights.read_bytes()
    for data in [os.urandom(200), good[:7], good[: len(good) - 4], good[:100], good + b"\0" * 8]:
        weights.write_bytes(data)
        with pytest.raises(CheckpointError, match="checksum"):
            AutoModel.load_from_folder(tmp_path / "m")
        replace_weights(tmp_path / "m", data)  # even with a matching checksum
        with pytest.raises(CheckpointError, match="not a readable safetensors file"):
            AutoModel.load_from_folder(tmp_path / "m")


def test_files_gaekit_and_the_hub_write_are_accepted(tmp_path):
    from gaekit.hub import _write_samples, model_card

    model = tiny_ae()
    folder = model.save(tmp_path / "m")
    assert _write_samples(model, folder / "samples.png")
    (folder / "README.md").write_text(model_card(model, "me/ae", samples=True), encoding="utf8")
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (folder / "LICENSE").write_text("MIT\n")
    (folder / ".lock").write_text("")
    (folder / "notes.txt").write_text("trained on digits, ünïcode fine\n")
    (folder / "losses.csv").write_text("epoch,loss\n1,0.5\n")
    (folder / ".git" / "objects").mkdir(parents=True)
    (folder / ".git" / "objects" / "ab").write_bytes(pickle.dumps(1))  # tool folders are not read
    assert same_weights(AutoModel.load_from_folder(folder), model)
    sampler_dir = NormalSampler(model).save(tmp_path / "s")
    check_folder_files(sampler_dir)
    BaseSampler.load_from_folder(sampler_dir, model)


def test_a_checkpoint_folder_passes_the_file_checks(tmp_path):
    from gaekit.trainers.checkpoint import write_checkpoint

    model = tiny_ae()
    write_checkpoint(tmp_path / "ckpt", model_state=model.state_dict(), best_state=model.state_dict(),
                     state={"opt": {"m": torch.zeros(3)}, "step": 1}, configs={"config": model.model_config})
    check_folder_files(tmp_path / "ckpt")


@pytest.mark.parametrize("name, data", [("x.png", b"not a png"), ("x.json", b"{nope"), ("x.txt", b"\xff\xfe\x00"),
                                        ("x.unknown", b"hello")])
def test_a_file_that_is_not_what_its_name_says_is_refused(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(UnsafeLoadError, match=name):
        check_file(tmp_path / name)


# -- defect 2: saving never deletes files gaekit did not write --------------------------------------------
def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_saving_into_a_folder_of_the_user_is_refused_and_deletes_nothing(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    with pytest.raises(CheckpointError, match="mine.*not empty"):
        tiny_ae().save(folder)
    assert snapshot(folder) == {folder.relative_to(folder) / "notes.txt": b"my notes"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        tiny_ae().save(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "x"


def test_resaving_a_model_keeps_the_files_of_the_user(tmp_path):
    folder = tiny_ae(0).save(tmp_path / "m", training_config=AEConfig(input_dim=(1, 8, 8)))
    (folder / "notes.txt").write_text("keep me")
    (folder / "extra").mkdir()
    (folder / "extra" / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\nrest")
    new = tiny_ae(1)
    new.save(folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert (folder / "extra" / "plot.png").read_bytes().startswith(b"\x89PNG")
    assert not (folder / "training_config.json").exists()  # gaekit's own stale file is not carried over
    assert same_weights(AutoModel.load_from_folder(folder), new)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    (tmp_path / "empty").mkdir()
    tiny_ae().save(tmp_path / "empty")  # an empty folder is fine
    AutoModel.load_from_folder(tmp_path / "empty")


def test_a_gaekit_folder_of_another_kind_is_never_replaced(tmp_path):
    model = tiny_ae()
    model_dir = model.save(tmp_path / "m")
    sampler_dir = NormalSampler(model).save(tmp_path / "s")
    before_model, before_sampler = snapshot(model_dir), snapshot(sampler_dir)
    with pytest.raises(CheckpointError, match="gaekit model folder"):
        NormalSampler(model).save(model_dir)
    with pytest.raises(CheckpointError, match="gaekit sampler folder"):
        model.save(sampler_dir)
    assert snapshot(model_dir) == before_model and snapshot(sampler_dir) == before_sampler
    NormalSampler(model).save(sampler_dir)  # same kind: replaced
    BaseSampler.load_from_folder(sampler_dir, model)


def test_the_pipeline_refuses_to_save_a_sampler_over_the_model_before_fitting(tmp_path):
    model = tiny_ae()
    model_dir = model.save(tmp_path / "m")
    before = snapshot(model_dir)
    pipeline = GenerationPipeline(model=model, sampler_config=GaussianMixtureSamplerConfig(num_components=2))
    with pytest.raises(CheckpointError, match="gaekit model folder"):
        pipeline(num_samples=2, train_data=torch.rand(20, 1, 8, 8), save_sampler_dir=model_dir)
    assert pipeline.sampler is None  # refused before fitting
    assert snapshot(model_dir) == before
    assert same_weights(AutoModel.load_from_folder(model_dir), model)
    both = tmp_path / "out"  # samples and sampler in one new folder
    pipeline(num_samples=2, train_data=torch.rand(20, 1, 8, 8), save_sampler_dir=both, output_dir=both)
    assert (both / "samples.safetensors").is_file()
    BaseSampler.load_from_folder(both, model)


# -- defect 3: a save killed between its two renames is rolled back -----------------------------------
CHILD = textwrap.dedent("""
    import os, sys, time
    import torch
    from gaekit.models import AE, AEConfig

    folder, marker = sys.argv[1], sys.argv[2]
    real_replace = os.replace

    def replace_then_hang(src, dst):
        real_replace(src, dst)
        if ".old-" in os.path.basename(str(dst)):  # the first rename of a folder replace is done
            open(marker, "w").close()
            time.sleep(600)

    os.replace = replace_then_hang
    torch.manual_seed(1)
    AE(AEConfig(input_dim=(1, 8, 8), latent_dim=3)).save(folder)
""")


def test_a_save_killed_between_its_renames_is_recovered(tmp_path):
    old = tiny_ae(0)
    folder = old.save(tmp_path / "m")
    (folder / "notes.txt").write_text("mine")
    marker = tmp_path / "renamed"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child did not reach the window"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not folder.exists()
    assert (tmp_path / f".m.old-{child.pid}").is_dir() and (tmp_path / f".m.tmp-{child.pid}").is_dir()
    loaded = AutoModel.load_from_folder(folder)  # rolled back to the previous version
    assert same_weights(loaded, old) and (folder / "notes.txt").read_text() == "mine"
    new = tiny_ae(2)
    new.save(folder)
    assert same_weights(AutoModel.load_from_folder(folder), new) and (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "renamed"]  # the dead child's folders are gone


def test_a_kill_before_the_renames_leaves_the_folder_and_the_next_save_removes_the_leftover(tmp_path):
    folder = tiny_ae(0).save(tmp_path / "m")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    leftover = tmp_path / f".m.tmp-{dead}"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    live = tmp_path / f".m.tmp-{os.getppid()}"  # a live process's folder is left alone
    live.mkdir()
    AutoModel.load_from_folder(folder)
    tiny_ae(1).save(folder)
    assert not leftover.exists() and live.is_dir()


def test_a_failed_second_rename_restores_the_folder(tmp_path, monkeypatch):
    old = tiny_ae(0)
    folder = old.save(tmp_path / "m")
    real_replace = os.replace

    def failing(src, dst):
        if ".tmp-" in os.path.basename(str(src)) and os.path.basename(str(dst)) == "m":
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk gone"):
        tiny_ae(1).save(folder)
    monkeypatch.setattr(os, "replace", real_replace)
    assert same_weights(AutoModel.load_from_folder(folder), old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


# -- where a folder may be written (issue 13) ---------------------------------------------------------
def test_model_sampler_and_checkpoint_saves_under_a_file_name_the_file(tmp_path):
    from gaekit.serialization import atomic_folder

    (tmp_path / "afile").write_text("mine")
    model = tiny_ae()
    saves = [lambda p: model.save(p), lambda p: NormalSampler(model).save(p),
             lambda p: atomic_folder(p).__enter__()]  # what checkpoints are written with
    for save in saves:
        with pytest.raises(CheckpointError, match=r"afile above it is a file"):
            save(tmp_path / "afile" / "deeper" / "folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("path, problem", [("afile", "it is a file"), ("afile/x/y", "afile above it is a file"),
                                           (123, "expected a path"), ("", "not empty")])
def test_ensure_output_folder_names_what_the_path_and_the_reason(tmp_path, monkeypatch, path, problem):
    from gaekit.errors import ConfigError
    from gaekit.serialization import ensure_output_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(ConfigError, match=f"the samples folder.*{problem}"):
        ensure_output_folder(path, "the samples folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_ensure_output_folder_creates_the_folder_and_accepts_the_current_one(tmp_path, monkeypatch):
    from pathlib import Path

    from gaekit.serialization import ensure_output_folder

    monkeypatch.chdir(tmp_path)
    assert ensure_output_folder(tmp_path / "a" / "b", "out").is_dir()
    assert ensure_output_folder(".", "out") == Path(".")  # the current folder is a usable output folder
