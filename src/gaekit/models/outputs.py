"""``ModelOutput`` (what a model's ``forward`` returns) and ``batch_data`` (the data tensor of a batch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

__all__ = ["ModelOutput", "batch_data"]


@dataclass
class ModelOutput:
    """What ``forward`` returns.

    ``loss`` is the scalar used for logging and model selection; ``terms`` holds every named
    loss term (also readable as attributes, e.g. ``out.kl``, and as items, ``out["kl"]``, as Pythae's outputs
    are read; Pythae's ``reg_loss`` is ``loss - recon_loss`` where there is a ``recon_loss`` term);
    ``group_losses`` is set by models trained with several optimizers (one loss per parameter group).
    """

    loss: Tensor
    recon_x: Tensor | None = None
    z: Tensor | None = None
    terms: dict[str, Tensor] = field(default_factory=dict)
    group_losses: dict[str, Tensor] | None = None

    def __getattr__(self, name: str) -> Tensor:
        terms = self.__dict__.get("terms", {})
        if name in terms:
            return terms[name]
        if name == "reg_loss" and "recon_loss" in terms:  # Pythae's name for what the loss adds to the recon term
            return self.__dict__["loss"] - terms["recon_loss"]
        raise AttributeError(f"ModelOutput has no field or loss term {name!r}; terms: {sorted(terms)}")

    def __getitem__(self, key: str) -> Tensor | None:
        """``out["loss"]`` (as Pythae's outputs are read): a field or a loss term; ``KeyError`` otherwise."""
        try:
            return getattr(self, key)
        except (AttributeError, TypeError):
            raise KeyError(f"ModelOutput has no field or loss term {key!r}; terms: {sorted(self.terms)}") from None


def batch_data(batch: Any) -> Tensor:
    """The data tensor of a batch given as a ``Batch``, a dict with ``"data"`` or a tensor."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, dict):
        return batch["data"]
    data = getattr(batch, "data", None)
    if isinstance(data, Tensor):
        return data
    raise TypeError(f"a batch must be a Tensor, a dict with 'data' or a gaekit Batch; got {type(batch)}")
