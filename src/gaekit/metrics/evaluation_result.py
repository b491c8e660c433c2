"""The report of an evaluation: :class:`EvaluationResult`, its JSON form, flat metrics and summary."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.errors import ConfigError
from gaekit.serialization import ensure_output_folder

__all__ = ["EvaluationResult"]


def _finite(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured; every task field is None when the task was not run.

    Attributes
    ----------
    model : str
        The model's registry name.
    latent_dim : int
    tasks : list of str
        Tasks run, in order.
    dataset : str or None
    extractor : dict or None
        ``name``, ``fid_key``, ``is_key`` and ``description`` of the FID/IS feature extractor.
    settings : dict
        The :class:`EvaluationConfig` used.
    reconstruction : dict
        ``mse`` (per pixel), ``<fid_key>``, ``num_test``.
    generation : dict
        Per sampler name: ``<fid_key>``, ``<is_key>``, ``<is_key>_std`` (when the extractor has logits),
        ``num_samples``, ``sampler_config``, ``fit_seconds``.
    reference : dict
        ``<is_key>`` and ``<is_key>_std`` of the test images themselves (an upper reference for IS).
    classification : dict
        See :func:`gaekit.metrics.probes.linear_probe`.
    clustering : dict
        See :func:`gaekit.metrics.probes.kmeans_accuracy`.
    interpolation : dict
        Paths of the PNG grids and what they show.
    nll : dict
        ``nll`` (nats, mean over test images), ``nll_std``, ``num_test``, ``importance_samples``.
    disentanglement : dict
        ``scores`` (the headline numbers: ``beta_vae``, ``factor_vae``, ``mig``, ``sap``, ``dci_disentanglement``,
        ``dci_completeness``, ``dci_informativeness``, ``modularity``, ``explicitness``), ``metrics`` (each
        metric's whole result), ``seconds`` per metric, and the source's ``ground_truth``, ``factor_names`` and
        ``factor_sizes``.
    timings : dict
        Seconds per task (and for building the extractor).
    notes : dict
        Why a requested task was skipped, and other remarks.
    files : dict
        Every file written.
    """

    model: str
    latent_dim: int
    tasks: list[str]
    dataset: str | None = None
    extractor: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    reconstruction: dict[str, Any] | None = None
    generation: dict[str, dict[str, Any]] | None = None
    reference: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    clustering: dict[str, Any] | None = None
    interpolation: dict[str, Any] | None = None
    nll: dict[str, Any] | None = None
    disentanglement: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (non-finite numbers become None)."""
        return _finite(dataclasses.asdict(self))

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically); return the path."""
        from gaekit.serialization import write_json

        path = Path(path)
        ensure_output_folder(path.parent, f"the folder of {path.name}")
        write_json(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown key(s) {unknown} for EvaluationResult; accepted: {sorted(names)}")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> EvaluationResult:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def metrics(self) -> dict[str, float]:
        """The headline numbers as one flat ``{"task/metric": value}`` dict."""
        out: dict[str, float] = {}
        if self.reconstruction:
            out.update({f"reconstruction/{k}": v for k, v in self.reconstruction.items()
                        if isinstance(v, float)})
        for sampler, values in (self.generation or {}).items():
            out.update({f"generation/{sampler}/{k}": v for k, v in values.items()
                        if k.startswith(("fid", "is")) and isinstance(v, float)})
        if self.classification:
            for k in ("test_accuracy_mean", "test_accuracy_std", "validation_accuracy_mean"):
                out[f"classification/{k}"] = self.classification[k]
        if self.clustering:
            for k in ("accuracy_mean", "accuracy_std", "test_accuracy_mean"):
                if k in self.clustering:
                    out[f"clustering/{k}"] = self.clustering[k]
        if self.nll:
            out["nll/nll"] = self.nll["nll"]
        if self.disentanglement:
            out.update({f"disentanglement/{k}": v for k, v in self.disentanglement["scores"].items()})
        return out

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"{self.model} (latent_dim={self.latent_dim})" + (f" on {self.dataset}" if self.dataset else "")]
        for key, value in self.metrics().items():
            lines.append(f"  {key:48s} {value:.4f}" if value is not None else f"  {key:48s} n/a")
        for key, note in self.notes.items():
            lines.append(f"  note ({key}): {note}")
        return "\n".join(lines)
