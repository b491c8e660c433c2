"""``AutoModel``: load any saved gaekit model (or Pythae model folder), dispatching on the name in its config."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from gaekit.errors import ConfigError
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
        A file that is not a gaekit file (e.g. a pickle) gives ``UnsafeLoadError``. A Pythae folder (``model.pt``,
        ``model_config.json``) is read without unpickling: see ``gaekit.models.pythae_folders``.
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

    @classmethod
    def load_from_hf_hub(cls, hf_hub_path: str, allow_pickle: bool = False, revision: str | None = None, *,
                         token: str | None = None, cache_dir: str | Path | None = None,
                         encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                         **networks: nn.Module | None) -> BaseAE:
        """Pythae's name for ``from_hub``: a gaekit or Pythae repository (``model.pt``, ``model_config.json``,
        ``environment.json``), e.g. the Pythae authors' ``clementchadebec/reproduced_iwae``.

        ``allow_pickle`` is Pythae's consent to unpickle ``encoder.pkl`` / ``decoder.pkl``: gaekit never unpickles,
        with or without it, so a repository with custom networks loads only when they are passed again
        (``encoder=``, ``decoder=``, ...); they receive the saved weights.
        """
        if not isinstance(allow_pickle, bool):
            raise ConfigError(f"allow_pickle={allow_pickle!r} is invalid: expected True or False")
        return cls.from_hub(hf_hub_path, revision, token=token, cache_dir=cache_dir, encoder=encoder,
                            decoder=decoder, **networks)
