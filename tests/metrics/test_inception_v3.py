"""The FID Inception-v3 with random weights (shapes, state-dict keys) and its weights handling:
sha256 verification, weights_only loading, safetensors conversion, and a clear error offline.
The network is never touched: downloads go through a monkeypatched ``_open_url``."""

from __future__ import annotations

import hashlib
import io
import urllib.error
from pathlib import Path

import pytest
import torch

from gaekit.errors import CheckpointError
from gaekit.metrics import EXTRACTORS, ExtractorUnavailableError, FIDInceptionV3, resolve_extractor
from gaekit.metrics import inception as inc


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Never read or write the user's cache folder."""
    monkeypatch.setenv("GAEKIT_CACHE_DIR", str(tmp_path / "user-cache"))


def test_weights_file_name_carries_its_sha256_prefix():
    # torch.hub's convention: <name>-<first 8+ hex digits of the file's sha256>.<ext>
    prefix = inc.FID_WEIGHTS_FILE.rsplit("-", 1)[1].split(".")[0]
    assert prefix == "6726825d" and inc.FID_WEIGHTS_SHA256.startswith(prefix)
    assert inc.FID_WEIGHTS_URL.endswith("/" + inc.FID_WEIGHTS_FILE)


def test_random_weights_output_shapes_and_preprocessing():
    torch.manual_seed(0)
    net = FIDInceptionV3().eval()
    with torch.no_grad():
        pool, logits = net(torch.rand(1, 1, 28, 28))
    assert pool.shape == (1, 2048) and logits.shape == (1, 1008)
    assert bool((pool >= 0).all()) and bool(torch.isfinite(logits).all())  # pool: mean of ReLU outputs
    grey = torch.rand(2, 1, 28, 28)
    x = FIDInceptionV3.preprocess(grey)
    assert x.shape == (2, 3, 299, 299)  # grey repeated to 3 channels, resized to 299x299
    assert torch.equal(x, FIDInceptionV3.preprocess(grey.expand(-1, 3, -1, -1)))
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert float(FIDInceptionV3.preprocess(torch.zeros(1, 3, 8, 8)).min()) == -1.0  # [0, 1] -> [-1, 1]
    with pytest.raises(ValueError, match="images"):
        FIDInceptionV3.preprocess(torch.zeros(1, 2, 8, 8))


def test_state_dict_keys_and_shapes_of_the_fid_weights_file():
    shapes = inc.expected_state_shapes()
    assert len(shapes) == 94 * 5 + 2  # 94 conv+BN units (5 tensors each) and the fc layer
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert shapes["Conv2d_4a_3x3.bn.running_var"] == (192,)
    assert shapes["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert shapes["Mixed_6a.branch3x3.conv.weight"] == (384, 288, 3, 3)
    assert shapes["Mixed_6e.branch7x7dbl_5.conv.weight"] == (192, 192, 1, 7)
    assert shapes["Mixed_7a.branch7x7x3_3.conv.weight"] == (192, 192, 7, 1)
    assert shapes["Mixed_7c.branch3x3dbl_3b.conv.weight"] == (384, 384, 3, 1)
    assert shapes["fc.weight"] == (1008, 2048) and shapes["fc.bias"] == (1008,)
    assert not any("AuxLogits" in k or "bias" in k and ".conv." in k for k in shapes)
    numbers = sum(torch.Size(s).numel() for s in shapes.values())
    # the 95,628,359-byte file holds these float32 numbers plus its zip/pickle overhead
    assert 0.99 * inc.FID_WEIGHTS_SIZE < 4 * numbers < inc.FID_WEIGHTS_SIZE


@pytest.fixture
def fake_release(tmp_path, monkeypatch):
    """A .pth file of random FID-Inception weights standing in for the release, its checksum pinned."""
    torch.manual_seed(1)
    state = FIDInceptionV3().state_dict()
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    monkeypatch.setattr(inc, "FID_WEIGHTS_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(inc, "FID_WEIGHTS_SIZE", len(payload))
    return payload, state


def test_offline_gives_a_clear_error(tmp_path, monkeypatch):
    def offline(url, timeout=60.0):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(inc, "_open_url", offline)
    with pytest.raises(ExtractorUnavailableError) as err:
        resolve_extractor("inception-v3", cache_dir=tmp_path)
    message = str(err.value)
    assert inc.FID_WEIGHTS_URL in message and "offline" in message and inc.FID_WEIGHTS_SHA256 in message
    assert str(tmp_path) in message and "mnist-classifier" in message
    assert not any(tmp_path.rglob("*.part"))  # no partial download left behind
    with pytest.raises(ExtractorUnavailableError, match="download=False"):
        inc.ensure_inception_weights(cache=tmp_path, download=False)


def test_download_verifies_converts_and_later_runs_read_safetensors(tmp_path, monkeypatch, fake_release):
    payload, state = fake_release
    calls = []

    def serve(url, timeout=60.0):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(inc, "_open_url", serve)
    extractor = EXTRACTORS.get("inception-v3")(cache_dir=tmp_path)
    assert calls == [inc.FID_WEIGHTS_URL]
    assert extractor.fid_key == "fid" and extractor.is_key == "is"
    folder = tmp_path / "metrics" / "inception"
    assert (folder / inc.SAFETENSORS_FILE).is_file() and (folder / inc.RECORD_FILE).is_file()
    loaded = extractor.module.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in inc.expected_state_shapes())

    # later runs: no download, and the pickle is never read again
    monkeypatch.setattr(inc, "_open_url", lambda *a, **k: pytest.fail("downloaded twice"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the .pth was read again"))
    assert inc.find_inception_weights(cache=tmp_path) == folder / inc.SAFETENSORS_FILE
    again = inc.load_fid_inception(cache=tmp_path)
    assert torch.equal(again.fc.weight, state["fc.weight"])


def test_a_wrong_download_is_discarded(tmp_path, monkeypatch, fake_release):
    monkeypatch.setattr(inc, "_open_url", lambda url, timeout=60.0: io.BytesIO(b"not the weights"))
    with pytest.raises(ExtractorUnavailableError, match="sha256"):
        inc.ensure_inception_weights(cache=tmp_path)
    assert not list((tmp_path / "metrics" / "inception").iterdir())


def test_given_pth_is_hash_checked_before_loading_and_converted_next_to_it(tmp_path, monkeypatch, fake_release):
    payload, state = fake_release
    bad = tmp_path / "bad" / inc.FID_WEIGHTS_FILE
    bad.parent.mkdir()
    corrupted = bytearray(payload)
    corrupted[len(payload) // 2] ^= 0xFF  # same size, one byte changed
    bad.write_bytes(bytes(corrupted))
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("an unverified pickle was loaded"))
    with pytest.raises(CheckpointError, match="refused unread"):
        inc.find_inception_weights(bad)

    loads = []

    def spy(*args, **kwargs):
        loads.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    good = tmp_path / "good" / inc.FID_WEIGHTS_FILE
    good.parent.mkdir()
    good.write_bytes(payload)
    out = inc.find_inception_weights(good, cache=tmp_path / "cache")
    assert out == good.parent / inc.SAFETENSORS_FILE
    assert loads == [{"weights_only": True, "map_location": "cpu"}]
    assert inc.find_inception_weights(good) == out and len(loads) == 1  # converted once
    net = inc.load_fid_inception(out)
    assert torch.equal(net.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])


def test_a_state_dict_that_does_not_fit_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = Path(tmp_path) / "other.safetensors"
    save_file({"fc.weight": torch.zeros(10, 2048)}, str(path))
    with pytest.raises(CheckpointError, match="does not fit the FID Inception-v3"):
        inc.load_fid_inception(path)
