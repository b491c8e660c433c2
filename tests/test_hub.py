"""Hugging Face Hub sharing: push through huggingface_hub with only the HTTP transport faked; load
through snapshot_download from a Hub cache laid out as it writes it, offline."""

from __future__ import annotations

import base64
import json
import sys

import pytest
import torch
from conftest import tiny_model

pytest.importorskip("huggingface_hub", reason="huggingface_hub is installed by the dev extra (extra hub)")

import httpx2  # noqa: E402  (huggingface_hub's HTTP client)
from huggingface_hub import constants  # noqa: E402
from huggingface_hub.utils import set_client_factory  # noqa: E402
from huggingface_hub.utils._http import default_client_factory, hf_request_event_hook  # noqa: E402
from safetensors.torch import load as load_safetensors  # noqa: E402

from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError  # noqa: E402
from gaekit.models import AutoModel  # noqa: E402
from gaekit.trainers import Trainer, TrainerConfig  # noqa: E402

REPO = "my-org/my-vae"


class FakeHub:
    """Answers the Hub's HTTP endpoints that create_repo and upload_folder call; keeps the committed files."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.created: dict = {}
        self.commit_path = ""
        self.files: dict[str, bytes] = {}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        if path == "/api/repos/create":
            self.created = json.loads(request.content)
            return httpx2.Response(200, json={"url": f"https://huggingface.co/{REPO}"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if "/preupload/" in path:  # every file goes inline ("regular"), so no LFS/Xet transfer is needed
            files = json.loads(request.content)["files"]
            return httpx2.Response(200, json={"files": [{"path": f["path"], "uploadMode": "regular",
                                                         "shouldIgnore": False} for f in files]})
        if "/commit/" in path:  # the final upload: an ndjson header line, then one line per file
            self.commit_path = path
            for line in request.content.splitlines():
                entry = json.loads(line)
                if entry["key"] == "file":
                    self.files[entry["value"]["path"]] = base64.b64decode(entry["value"]["content"])
            return httpx2.Response(200, json={"commitUrl": f"https://huggingface.co/{REPO}/commit/{'a' * 40}",
                                              "commitOid": "a" * 40})
        return httpx2.Response(500, json={"error": f"unexpected request {request.method} {path}"})


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    # huggingface_hub's own client, with its request hook (which enforces HF_HUB_OFFLINE), on a fake transport
    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(hub), follow_redirects=True,
                                             event_hooks={"request": [hf_request_event_hook]}))
    yield hub
    set_client_factory(default_client_factory)


def _trained_vae(epochs=2):
    model = tiny_model("VAE")
    data = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    config = TrainerConfig(output_dir=None, num_epochs=epochs, batch_size=16, show_progress=False)
    trainer = Trainer(model, config, train_data=data, eval_data=data[:16])
    trainer.train()
    return model, trainer


def test_push_to_hub_uploads_the_safetensors_folder_and_a_model_card(fake_hub):
    model, trainer = _trained_vae()
    url = model.push_to_hub(REPO, token="hf_test", private=True, training_config=trainer.config,
                            history=trainer.state.history)
    assert url == f"https://huggingface.co/{REPO}/commit/{'a' * 40}"
    assert fake_hub.created.items() >= {"name": "my-vae", "organization": "my-org", "visibility": "private"}.items()
    assert fake_hub.commit_path == f"/api/models/{REPO}/commit/main"  # the namespace is kept
    assert set(fake_hub.files) == {"config.json", "model.safetensors", "gaekit.json", "training_config.json",
                                   "README.md", "samples.png"}
    weights = load_safetensors(fake_hub.files["model.safetensors"])
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert json.loads(fake_hub.files["config.json"])["latent_dim"] == 3
    assert fake_hub.files["samples.png"][:8] == b"\x89PNG\r\n\x1a\n"
    card = fake_hub.files["README.md"].decode()
    assert card.startswith("---\nlibrary_name: gaekit\n")
    assert "`gaekit.models.VAE`" in card and "arXiv:1312.6114" in card  # model and paper
    assert "| latent_dim | `3` |" in card and "| input_dim | `[1, 8, 8]` |" in card  # config table
    last = trainer.state.history[-1]
    assert f"| final eval loss | `{last['eval_loss']:.6g}` |" in card and "| epochs trained | `2` |" in card
    assert "![samples from the prior](samples.png)" in card
    assert f'AutoModel.from_hub("{REPO}")' in card


def test_push_without_training_info_says_so_and_flat_models_get_no_grid(fake_hub):
    tiny_model("VAE", input_dim=(10,)).push_to_hub("solo-vae", token="hf_test")
    assert fake_hub.created["name"] == "solo-vae" and fake_hub.created.get("organization") is None
    assert fake_hub.created["visibility"] == "public"
    assert "samples.png" not in fake_hub.files and "training_config.json" not in fake_hub.files
    assert "No training summary was given" in fake_hub.files["README.md"].decode()


def test_push_takes_pythaes_hf_hub_path_keyword(fake_hub):
    tiny_model("VAE", input_dim=(10,)).push_to_hub(hf_hub_path="my-vae", token="hf_test")  # Pythae's spelling
    assert fake_hub.created["name"] == "my-vae" and "model.safetensors" in fake_hub.files


def _cache_snapshot(cache, repo_id, files, revision="c" * 40):
    """Lay ``files`` out as snapshot_download's cache: models--org--name/{refs/main, snapshots/<rev>/...}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for name, content in files.items():
        (snapshot / name).write_bytes(content)
    return snapshot


@pytest.fixture
def offline(monkeypatch, fake_hub):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    yield
    assert fake_hub.requests == []  # offline: nothing was requested


def test_from_hub_loads_what_push_to_hub_uploaded(fake_hub, tmp_path, monkeypatch):
    model, _ = _trained_vae(epochs=1)
    model.push_to_hub(REPO, token="hf_test")
    _cache_snapshot(tmp_path, REPO, fake_hub.files)
    fake_hub.requests.clear()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    loaded = AutoModel.from_hub(REPO, cache_dir=tmp_path)  # through snapshot_download, from its cache
    assert fake_hub.requests == []
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert type(loaded) is type(model)
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))


def test_from_hub_errors(offline, tmp_path):
    with pytest.raises(CheckpointError, match="cannot get 'my-org/absent'"):
        AutoModel.from_hub("my-org/absent", cache_dir=tmp_path)
    model = tiny_model("VAE")
    folder = model.save(tmp_path / "saved")
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    _cache_snapshot(tmp_path / "cache", REPO, {**files, "extra.pkl": b"\x80\x04K\x01."})
    with pytest.raises(UnsafeLoadError, match="extra.pkl"):
        AutoModel.from_hub(REPO, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="repo_id='a/b/c'"):
        AutoModel.from_hub("a/b/c")


def test_missing_hub_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "gaekit\[hub\]"'):
        tiny_model("VAE").push_to_hub(REPO)
