"""``AutoModel``: load any saved gaekit model, dispatching on the name in its ``config.json``."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from gaekit.models.base import BaseAE


class AutoModel:
    """Loads a model folder written by ``BaseAE.save`` without knowing its class.

    Examples
    --------
    >>> model = AutoModel.load_from_folder("my_model/VAE_training_.../final_model")  # doctest: +SKIP
    """

    def __init__(self) -> None:
        raise TypeError("AutoModel is not instantiated; use AutoModel.load_from_folder(path)")

    @staticmethod
    def load_from_folder(folder: str | Path, encoder: nn.Module | None = None,
                         decoder: nn.Module | None = None, **networks: nn.Module | None) -> BaseAE:
        """Load any saved model; custom networks (encoder, decoder, discriminator, ...) are given again.

        ``folder`` is the model folder itself (a run's ``final_model/``); a run folder, a training
        checkpoint or a sampler folder is refused with a ``CheckpointError`` saying what to pass instead.
        A file that is not a gaekit file (e.g. a pickle) gives ``UnsafeLoadError``.
        """
        return BaseAE.load_from_folder(folder, encoder=encoder, decoder=decoder, **networks)

    @classmethod
    def from_hub(cls, repo_id: str, revision: str | None = None, *, token: str | None = None,
                 cache_dir: str | Path | None = None, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, **networks: nn.Module | None) -> BaseAE:
        """Download a model pushed with ``push_to_hub`` from the Hugging Face Hub and load it (extra ``hub``).

        ``revision`` is a branch, tag or commit (default ``main``); ``cache_dir`` the Hub cache (default
        ``HF_HUB_CACHE``); with ``HF_HUB_OFFLINE=1`` the cached snapshot is used. Custom networks the model was
        saved with are given again, as for ``load_from_folder``. See ``gaekit.hub.download_model_folder``.
        """
        from gaekit.hub import download_model_folder

        folder = download_model_folder(repo_id, revision, token=token, cache_dir=cache_dir)
        return BaseAE.load_from_folder(folder, encoder=encoder, decoder=decoder, **networks)
