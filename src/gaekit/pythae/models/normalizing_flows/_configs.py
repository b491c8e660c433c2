"""Pythae's flow configs (``MAFConfig``, ``IAFConfig``, ``MADEConfig``, ``PlanarFlowConfig``, ``RadialFlowConfig``,
``PixelCNNConfig``, ``BaseNFConfig``) as gaekit configs: Pythae's field names, defaults and ``"name"`` values, so
that the JSON files Pythae's ``save_json`` writes load with ``from_json_file``. What each field maps to in gaekit's
flows is said in ``gaekit.pythae.models.normalizing_flows``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from gaekit.config import BaseConfig

__all__ = ["BaseNFConfig", "IAFConfig", "MADEConfig", "MAFConfig", "PixelCNNConfig", "PlanarFlowConfig",
           "RadialFlowConfig"]


@dataclass
class BaseNFConfig(BaseConfig):
    """Pythae's ``BaseNFConfig``: ``input_dim``, the shape of the data the flow acts on (flattened)."""

    name: ClassVar[str] = "BaseNFConfig"
    input_dim: tuple[int, ...] | None = None

    def _check(self) -> None:
        super()._check()
        if self.input_dim is not None:
            self._require("input_dim", len(self.input_dim) >= 1 and all(d >= 1 for d in self.input_dim),
                          "a tuple of sizes >= 1, e.g. (latent_dim,)")

    @classmethod
    def from_json_file(cls, json_path: str | Path) -> BaseNFConfig:
        """Pythae's ``from_json_file``: read a file written by Pythae's ``save_json`` (or gaekit's)."""
        return cls.from_json(json_path)


@dataclass
class _AutoregressiveConfig(BaseNFConfig):
    # gaekit's spellings (docs/names.md); Pythae's read, write and load through the aliases
    aliases: ClassVar[dict[str, str]] = {"n_made_blocks": "num_made_blocks",
                                         "n_hidden_in_made": "num_made_hidden_layers"}
    num_made_blocks: int = 2
    num_made_hidden_layers: int = 3
    hidden_size: int = 128
    include_batch_norm: bool = False

    def _check(self) -> None:
        super()._check()
        self._require("num_made_blocks", self.num_made_blocks >= 1, "an int >= 1")
        self._require("num_made_hidden_layers", self.num_made_hidden_layers >= 0, "an int >= 0")
        self._require("hidden_size", self.hidden_size >= 1, "an int >= 1")
        self._require("include_batch_norm", not self.include_batch_norm or self.num_made_blocks >= 2,
                      "False with num_made_blocks=1 (gaekit puts batch norm between MADE blocks)")


@dataclass
class MAFConfig(_AutoregressiveConfig):
    """Pythae's ``MAFConfig``: ``input_dim``, ``n_made_blocks=2``, ``n_hidden_in_made=3``, ``hidden_size=128``,
    ``include_batch_norm=False`` (gaekit spells the first two ``num_made_blocks``, ``num_made_hidden_layers``;
    Pythae's names are aliases)."""

    name: ClassVar[str] = "MAFConfig"


@dataclass
class IAFConfig(_AutoregressiveConfig):
    """Pythae's ``IAFConfig``: the fields of ``MAFConfig``."""

    name: ClassVar[str] = "IAFConfig"


@dataclass
class MADEConfig(BaseNFConfig):
    """Pythae's ``MADEConfig``: ``input_dim``, ``output_dim`` (must equal ``input_dim``: gaekit's MADE gives a
    mean and a log-variance per input), ``hidden_sizes=[128]``, ``degrees_ordering="sequential"`` (``"random"``
    is refused: gaekit's masks are deterministic)."""

    name: ClassVar[str] = "MADEConfig"
    output_dim: tuple[int, ...] | None = None
    hidden_sizes: list[int] = field(default_factory=lambda: [128])
    degrees_ordering: str = "sequential"

    def _check(self) -> None:
        super()._check()
        self._require("hidden_sizes", all(h >= 1 for h in self.hidden_sizes), "a list of ints >= 1")
        self._require("degrees_ordering", self.degrees_ordering == "sequential",
                      "'sequential' (gaekit's MADE masks are deterministic; Pythae's 'random' ordering has no "
                      "gaekit counterpart)")


@dataclass
class PlanarFlowConfig(BaseNFConfig):
    """Pythae's ``PlanarFlowConfig``: ``input_dim``, ``activation`` in {"tanh", "elu", "linear"}."""

    name: ClassVar[str] = "PlanarFlowConfig"
    activation: str = "tanh"

    def _check(self) -> None:
        super()._check()
        self._require("activation", self.activation in ("linear", "tanh", "elu"), "'linear', 'tanh' or 'elu'")


@dataclass
class RadialFlowConfig(BaseNFConfig):
    """Pythae's ``RadialFlowConfig``: ``input_dim``."""

    name: ClassVar[str] = "RadialFlowConfig"


@dataclass
class PixelCNNConfig(BaseNFConfig):
    """Pythae's ``PixelCNNConfig``: ``input_dim`` ``(1, H, W)`` (one index per position), ``n_embeddings=256``,
    ``n_layers=10``, ``kernel_size=5`` (odd); gaekit spells them ``num_embeddings``, ``num_layers`` (Pythae's names
    are aliases)."""

    name: ClassVar[str] = "PixelCNNConfig"
    aliases: ClassVar[dict[str, str]] = {"n_embeddings": "num_embeddings", "n_layers": "num_layers"}
    num_embeddings: int = 256
    num_layers: int = 10
    kernel_size: int = 5

    def _check(self) -> None:
        super()._check()
        self._require("num_embeddings", self.num_embeddings >= 2, "an int >= 2")
        self._require("num_layers", self.num_layers >= 1, "an int >= 1")
        self._require("kernel_size", self.kernel_size >= 1 and self.kernel_size % 2 == 1, "an odd int >= 1")
        if self.input_dim is not None:
            self._require("input_dim", len(self.input_dim) == 3 and self.input_dim[0] == 1,
                          "(1, H, W): gaekit's PixelCNN models one codebook index per position (one channel)")
