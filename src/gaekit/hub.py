"""Share models on the Hugging Face Hub (extra ``hub``): the safetensors model folder plus a model card.

``push_to_hub`` writes the standard saved-model folder (``BaseAE.save``: ``config.json``,
``model.safetensors``, ``gaekit.json``, ``training_config.json`` when given), a generated
``README.md`` card and, for image models, a ``samples.png`` grid, and uploads it with
``huggingface_hub``'s ``create_repo`` and ``upload_folder``. ``download_model_folder`` fetches a
repository with ``snapshot_download``; ``AutoModel.from_hub`` loads it with ``AutoModel.load_from_folder``,
which refuses pickles. This module knows models only through their public methods (it sits beside
``gaekit.models.base``, which imports it for ``push_to_hub``). The ``repo_id`` is passed to the Hub
unchanged, organisation namespace included.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gaekit._extras import require_extra
from gaekit.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from gaekit.config import BaseConfig
    from gaekit.models.base import BaseAE

SAMPLES_FILE = "samples.png"


def _check_repo_id(repo_id: Any) -> None:
    if not isinstance(repo_id, str) or not repo_id or repo_id.count("/") > 1:
        raise ConfigError(f"repo_id={repo_id!r} is invalid: expected 'name' or 'namespace/name', "
                          "e.g. 'my-org/mnist-vae'")


def push_to_hub(model: BaseAE, repo_id: str, token: str | None = None, private: bool = False, *,
                training_config: BaseConfig | None = None, history: Sequence[dict[str, Any]] | None = None,
                commit_message: str | None = None) -> str:
    """Upload ``model`` to the Hub repository ``repo_id`` (created when missing); return the commit URL.

    Parameters
    ----------
    model : BaseAE
    repo_id : str
        ``"name"`` (your namespace) or ``"namespace/name"``; an organisation namespace is kept.
    token : str, optional
        Default: the token saved by ``hf auth login`` or ``HF_TOKEN``.
    private : bool, default False
        Visibility of the repository when it is created.
    training_config : TrainerConfig, optional
        Saved as ``training_config.json`` and summarised in the card.
    history : list of dict, optional
        The trainer's per-epoch records (``trainer.state.history``), summarised in the card.
    commit_message : str, optional
    """
    _check_repo_id(repo_id)
    hub = require_extra("huggingface_hub", "hub", "push_to_hub")
    api = hub.HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "model", training_config=training_config)
        has_samples = _write_samples(model, folder / SAMPLES_FILE)
        card = model_card(model, repo_id, training_config=training_config, history=history, samples=has_samples)
        (folder / "README.md").write_text(card, encoding="utf8")
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="model",
                                 commit_message=commit_message or f"Upload {model.model_config.name} with gaekit")
    return str(info.commit_url)


def download_model_folder(repo_id: str, revision: str | None = None, *, token: str | None = None,
                          cache_dir: str | Path | None = None) -> Path:
    """Download a repository pushed with ``push_to_hub`` (``snapshot_download``); return its local folder.

    A Pythae repository (``model.pt``, ``model_config.json``, ``environment.json``, and ``encoder.pkl`` /
    ``decoder.pkl`` for custom networks, which are downloaded but never unpickled) downloads the same way.

    ``revision`` is a branch, tag or commit (default ``main``); ``cache_dir`` the Hub cache (default
    ``HF_HUB_CACHE``). With ``HF_HUB_OFFLINE=1`` the cached snapshot is used. ``AutoModel.from_hub`` loads
    the folder.
    """
    _check_repo_id(repo_id)
    hub = require_extra("huggingface_hub", "hub", "from_hub")
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hub.snapshot_download(repo_id, revision=revision, token=token,
                                          cache_dir=str(cache_dir) if cache_dir is not None else None))
    except (HfHubHTTPError, LocalEntryNotFoundError) as err:
        raise CheckpointError(f"cannot get {repo_id!r} (revision {revision or 'main'}) from the Hugging Face Hub: "
                              f"{type(err).__name__}: {err}") from None


def _write_samples(model: BaseAE, path: Path, n: int = 16) -> bool:
    """Write a grid of ``n`` prior samples (fixed seed) for image models; return whether it was written."""
    from gaekit.images import display_scale, is_image_shape, save_image_grid

    if not is_image_shape(model.input_dim):
        return False
    save_image_grid(model.generate(n, generator=torch.Generator().manual_seed(0)), path,
                    scale=display_scale(model.input_dim))
    return True


def _paper(model: BaseAE) -> str:
    """The reference line of the model's module docstring (its first paragraph, by convention)."""
    doc = sys.modules[type(model).__module__].__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _cell(value: Any) -> str:
    return f"`{value}`".replace("|", "\\|")


def _training_summary(training_config: BaseConfig | None, history: Sequence[dict[str, Any]] | None) -> list[str]:
    rows: list[tuple[str, Any]] = []
    if training_config is not None:
        cfg = training_config.to_dict()
        rows += [(k, cfg[k]) for k in ("num_epochs", "batch_size", "learning_rate", "optimizer", "scheduler", "seed")
                 if k in cfg]
    if history:
        last = history[-1]
        rows.append(("epochs trained", last.get("epoch", len(history))))
        rows += [(f"final {k.replace('_', ' ')}", f"{last[k]:.6g}") for k in ("train_loss", "eval_loss") if k in last]
        key = "eval_loss" if "eval_loss" in last else "train_loss"
        best = min(history, key=lambda r: r.get(key, float("inf")))
        if key in best:
            rows.append((f"best {key.replace('_', ' ')}", f"{best[key]:.6g} (epoch {best.get('epoch', '?')})"))
    if not rows:
        return ["No training summary was given when this model was pushed."]
    return ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows)]


def model_card(model: BaseAE, repo_id: str, training_config: BaseConfig | None = None,
               history: Sequence[dict[str, Any]] | None = None, samples: bool = False) -> str:
    """The ``README.md`` of a pushed model: model, paper, config table, training summary, samples, usage."""
    name = model.model_config.name
    config = model.model_config.to_dict()
    custom = sorted(model.custom_networks)
    usage_args = "".join(f", {p}=My{p.capitalize()}()" for p in custom)
    lines = [
        "---", "library_name: gaekit", f"tags:\n- gaekit\n- autoencoder\n- {name}", "---", "",
        f"# {repo_id.split('/')[-1]}", "",
        f"A `{name}` generative autoencoder shared with gaekit (weights in safetensors; nothing pickled).", "",
        "## Model", "", f"- class: `gaekit.models.{type(model).__name__}`",
        f"- parameters: {sum(p.numel() for p in model.parameters()):,}",
        f"- paper: {_paper(model)}", "",
        "## Config", "", "| field | value |", "|---|---|",
        *(f"| {k} | {_cell(v)} |" for k, v in config.items() if k != "name"), "",
        "## Training", "", *_training_summary(training_config, history), "",
    ]
    if samples:
        lines += ["## Samples", "", f"![samples from the prior]({SAMPLES_FILE})", ""]
    lines += ["## Usage", "", "```python", "from gaekit.models import AutoModel", "",
              f'model = AutoModel.from_hub("{repo_id}"{usage_args})', "samples = model.generate(16)", "```", ""]
    if custom:
        lines += [f"The model was saved with custom {', '.join(custom)} network(s): pass instances of the same "
                  "classes again when loading.", ""]
    return "\n".join(lines)
