"""Ground-truth data sources for the disentanglement metrics: factors drawn at random, factor-conditioned
batches (one factor fixed, the others drawn), and (codes, factors) samples of a representation function.

A source knows its discrete factors (``factor_sizes``; a factor's values are the indices ``0 .. size - 1``)
and renders observations from factor rows (:meth:`GroundTruthData.observe`). Factors are drawn independently
and uniformly, as in Locatello et al. 2019 (disentanglement_lib's ``sample_factors``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gaekit.config import check_count, check_seed
from gaekit.data.dsprites import LATENT_NAMES, LATENT_SIZES, NUM_IMAGES, ROW_BYTES, dsprites_packed, generate_dsprites
from gaekit.data.dsprites_variants import apply_variant, variant_generator
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.disentanglement._arrays import as_codes
from gaekit.registry import spelling_key

__all__ = ["GROUND_TRUTH_DATASETS", "ColorDSpritesGroundTruth", "DSpritesGroundTruth", "GroundTruthData",
           "NoisyDSpritesGroundTruth", "SyntheticGroundTruth", "ground_truth_for_dataset", "model_representation",
           "representation_samples", "train_test_samples"]

Representation = Callable[[Any], Any]
Samples = tuple[np.ndarray, np.ndarray]


class GroundTruthData:
    """Base of the ground-truth sources: subclasses set ``factor_sizes`` (and ``factor_names``) and implement
    :meth:`observe`."""

    factor_sizes: tuple[int, ...] = ()
    factor_names: tuple[str, ...] = ()

    @property
    def num_factors(self) -> int:
        """The number of factors ``K``."""
        return len(self._sizes())

    def _sizes(self) -> tuple[int, ...]:
        """``factor_sizes``, checked: ``ConfigError`` naming the class unless it is one or more ints >= 2."""
        sizes = self.factor_sizes
        try:
            return _check_sizes(sizes if isinstance(sizes, (tuple, list)) else ())
        except ConfigError:
            raise ConfigError(f"{type(self).__name__}.factor_sizes={sizes!r} is invalid: expected one or more ints "
                              ">= 2 (values per factor); a GroundTruthData subclass must set factor_sizes") from None

    def observe(self, factors: np.ndarray) -> Any:
        """Observations of the factor rows ``factors`` (int ``(n, K)``), in what the representation takes."""
        raise NotImplementedError

    def _check_factor(self, factor: Any) -> int:
        if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or not 0 <= factor < self.num_factors:
            raise ConfigError(f"factor={factor!r} is invalid: expected an index in [0, {self.num_factors})")
        return int(factor)

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """``num`` factor rows, each factor drawn uniformly and independently: int64 ``(num, K)``."""
        num = check_count(num, "sample_factors: num")
        rng = check_rng(rng, "sample_factors")
        return np.stack([rng.integers(size, size=num) for size in self._sizes()], axis=1).astype(np.int64)

    def sample(self, num: int, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        """``(factors, observations)`` of ``num`` random rows."""
        factors = self.sample_factors(num, check_rng(rng, "sample"))
        return factors, self.observe(factors)

    def sample_fixed_factor(self, factor: int, num: int, rng: np.random.Generator,
                            value: int | None = None) -> np.ndarray:
        """``num`` factor rows that share factor ``factor`` (set to ``value``, or to one random value) and draw
        every other factor at random: the factor-conditioned batches of the FactorVAE score.

        Raises
        ------
        ConfigError
            ``factor`` or ``value`` out of range.
        """
        size = self._sizes()[self._check_factor(factor)]
        rng = check_rng(rng, "sample_fixed_factor")
        if value is None:
            value = int(rng.integers(size))
        elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
            raise ConfigError(f"value={value!r} is invalid for factor {factor}: expected an index in [0, {size})")
        factors = self.sample_factors(num, rng)
        factors[:, factor] = value
        return factors

    def sample_pairs(self, factor: int, num: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Two arrays of ``num`` random factor rows where row ``l`` of both shares factor ``factor`` (its value
        drawn per pair) and every other factor is drawn independently: the pairs of the beta-VAE score."""
        factor = self._check_factor(factor)
        rng = check_rng(rng, "sample_pairs")
        first, second = self.sample_factors(num, rng), self.sample_factors(num, rng)
        second[:, factor] = first[:, factor]
        return first, second


def check_rng(rng: Any, where: str) -> np.random.Generator:
    """``rng`` itself; ``ConfigError`` unless it is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"{where}: rng={rng!r:.80} ({type(rng).__name__}) is invalid: expected a "
                          "numpy.random.Generator; pass np.random.default_rng(seed)")
    return rng


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """``sizes`` as a tuple of ints; ``ConfigError`` unless one or more ints >= 2."""
    sizes = tuple(sizes)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 2 for s in sizes):
        raise ConfigError(f"factor_sizes={sizes!r} is invalid: expected one or more ints >= 2 (values per factor)")
    return tuple(int(s) for s in sizes)


class SyntheticGroundTruth(GroundTruthData):
    """Factors of the given sizes and a user function from factor rows to observations.

    Parameters
    ----------
    factor_sizes : sequence of int
        The number of values of each factor (each >= 2).
    observe : callable, optional
        ``observe(factors) -> observations`` for int ``(n, K)`` factor rows; default: the factor indices as a
        float64 ``(n, K)`` array.
    factor_names : sequence of str, optional
    """

    def __init__(self, factor_sizes: Sequence[int], observe: Callable[[np.ndarray], Any] | None = None,
                 factor_names: Sequence[str] | None = None):
        self.factor_sizes = _check_sizes(factor_sizes)
        default = tuple(f"factor{k}" for k in range(len(self.factor_sizes)))
        names = tuple(factor_names) if factor_names is not None else default
        if len(names) != len(self.factor_sizes):
            raise ConfigError(f"factor_names has {len(names)} names for {len(self.factor_sizes)} factors")
        self.factor_names = names
        self._observe = observe

    def observe(self, factors: np.ndarray) -> Any:
        factors = check_factor_rows(factors, self.factor_sizes, self.factor_names, type(self).__name__)
        return factors.astype(np.float64) if self._observe is None else self._observe(factors)


class DSpritesGroundTruth(GroundTruthData):
    """dSprites (:mod:`gaekit.data.dsprites`) with the five factors that vary, as in Locatello et al. 2019:
    shape (3), scale (6), orientation (40), posX (32), posY (32); color (one value) is left out.

    Observations are float32 torch tensors ``(n, 1, 64, 64)`` of 0/1 pixels, rendered by
    :func:`~gaekit.data.dsprites.generate_dsprites`, or read from ``packed`` when given (the whole packed set,
    e.g. :meth:`cached`: much faster at the default sample counts, where rendering takes ~50 ms a batch of 128).

    Raises
    ------
    DataError
        ``packed`` is not the whole packed set, shaped ``(737280, 512)`` uint8.
    """

    factor_sizes = tuple(LATENT_SIZES[1:])
    factor_names = tuple(LATENT_NAMES[1:])

    def __init__(self, packed: np.ndarray | None = None):
        if packed is not None:
            packed = np.asarray(packed)
            if packed.shape != (NUM_IMAGES, ROW_BYTES) or packed.dtype != np.uint8:
                raise DataError(f"packed has shape {packed.shape} and dtype {packed.dtype}; expected the whole "
                                f"packed dSprites set, ({NUM_IMAGES}, {ROW_BYTES}) uint8 "
                                "(gaekit.data.dsprites.dsprites_packed)")
        self._packed = packed

    @classmethod
    def cached(cls, root: str | None = None) -> DSpritesGroundTruth:
        """The source backed by the whole packed set (read from the dSprites cache, or generated once, about
        10 s, and cached; see :func:`gaekit.data.dsprites.load_dsprites` for ``root``)."""
        return cls(dsprites_packed(root))

    def indices(self, factors: np.ndarray) -> np.ndarray:
        """The dSprites image indices of factor rows (int ``(n, 5)``, value indices; floats equal to ints pass).

        Raises
        ------
        DataError
            Rows not shaped ``(n, 5)``, or a value that is not an integer index in its factor's range.
        """
        factors = check_factor_rows(factors, self.factor_sizes, self.factor_names, "dSprites")
        full = np.concatenate([np.zeros((factors.shape[0], 1), np.int64), factors], axis=1)
        return np.ravel_multi_index(tuple(full.T), LATENT_SIZES)

    def observe(self, factors: np.ndarray) -> torch.Tensor:
        idx = self.indices(factors)
        packed = self._packed[idx] if self._packed is not None else generate_dsprites(idx)
        bits = np.unpackbits(packed, axis=1).reshape(-1, 1, 64, 64)
        return torch.from_numpy(bits.astype(np.float32))


def check_factor_rows(factors: Any, sizes: tuple[int, ...], names: tuple[str, ...], source: str) -> np.ndarray:
    """Factor rows of ``source`` as int64 ``(n, K)``; ``DataError`` naming the column and value unless each is an
    index of its factor (floats equal to ints pass)."""
    try:
        rows = np.asarray(factors)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source} factor rows are not an array ({exc}); expected ints of shape "
                        f"(n, {len(sizes)})") from None
    if rows.ndim != 2 or rows.shape[1] != len(sizes):
        raise DataError(f"{source} factor rows have shape {rows.shape}; expected (n, {len(sizes)}): one column per "
                        f"factor ({', '.join(names)})")
    if rows.dtype.kind not in "iuf":
        raise DataError(f"{source} factor rows have dtype {rows.dtype}; expected integer value indices")
    for k, (size, name) in enumerate(zip(sizes, names)):
        col = rows[:, k]
        bad = ~np.isfinite(col) | (col != np.round(col)) if rows.dtype.kind == "f" else np.zeros(col.shape, bool)
        what = "is not an integer index"
        if not bad.any():
            bad, what = (col < 0) | (col >= size), "is out of range"
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source} factor rows: column {k} ({name}) holds {col[row].item()!r} at row {row}, which "
                            f"{what}: expected an integer index in [0, {size})")
    return rows.astype(np.int64)


class _VariantGroundTruth(DSpritesGroundTruth):
    """A dSprites variant of :mod:`gaekit.data.dsprites_variants`: dSprites' five factors, observations float32
    ``(n, 3, 64, 64)`` with the variant's noise drawn by :func:`~gaekit.data.dsprites_variants.apply_variant`.

    The noise of one :meth:`observe` call comes from a generator seeded by a hash of ``(variant, seed, the rows'
    dSprites indices)``: a pure function of the factor rows, so a metric stays a pure function of its own
    ``seed`` (which draws the rows), on a fresh source or a used one; and the source observes what
    ``load_*_dsprites(seed=seed).get_batch(indices)`` gives for the same images. Every row of a call has its
    own draw.

    Parameters
    ----------
    packed : numpy.ndarray, optional
        The whole packed dSprites set (see :class:`DSpritesGroundTruth`); default: render on the fly.
    seed : int, default 0
        Seed of the observation noise.

    Raises
    ------
    ConfigError
        A bad seed.
    DataError
        ``packed`` is not the whole packed set.
    """

    variant = ""

    def __init__(self, packed: np.ndarray | None = None, *, seed: int = 0):
        super().__init__(packed)
        self.seed = check_seed(seed, f"{type(self).__name__}: seed")

    @classmethod
    def cached(cls, root: str | None = None, seed: int = 0) -> _VariantGroundTruth:
        """The source backed by the whole packed set (see :meth:`DSpritesGroundTruth.cached`), noise seeded
        with ``seed``."""
        return cls(dsprites_packed(root), seed=seed)

    def observe(self, factors: np.ndarray) -> torch.Tensor:
        bits = super().observe(factors)
        return apply_variant(bits, self.variant, variant_generator(self.variant, self.seed, self.indices(factors)))


class ColorDSpritesGroundTruth(_VariantGroundTruth):
    """Color-dSprites (Locatello et al. 2019): each observed sprite coloured with a random colour, each channel
    ~ U[0.5, 1], on black; the colour is noise, not a factor (see :class:`_VariantGroundTruth`)."""

    variant = "color"


class NoisyDSpritesGroundTruth(_VariantGroundTruth):
    """Noisy-dSprites (Locatello et al. 2019): white sprites on uniform noise in [0, 1] per pixel and channel
    (see :class:`_VariantGroundTruth`)."""

    variant = "noisy"


_SOURCES: dict[str, type[DSpritesGroundTruth]] = {"dsprites": DSpritesGroundTruth,
                                                  "color-dsprites": ColorDSpritesGroundTruth,
                                                  "noisy-dsprites": NoisyDSpritesGroundTruth}
# The registered datasets with ground-truth factors (``ground_truth_for_dataset`` names).
GROUND_TRUTH_DATASETS = tuple(_SOURCES)


def ground_truth_for_dataset(name: str, root: str | None = None, seed: int = 0) -> DSpritesGroundTruth:
    """The cached ground-truth source of a registered dataset name (``gaekit.data.DATASETS``).

    Parameters
    ----------
    name : {"dsprites", "color-dsprites", "noisy-dsprites"}
        Spelled as ``load_dataset`` accepts it (case and ``_`` / ``-`` do not matter).
    root : str, optional
        The folder of dSprites' cache (see :func:`gaekit.data.load_dsprites`).
    seed : int, default 0
        Seed of the variants' observation noise (dSprites has none; checked all the same).

    Returns
    -------
    DSpritesGroundTruth
        ``cls.cached(root)`` of the matching source (reads or generates the whole set, about 10 s once).

    Raises
    ------
    ConfigError
        A name with no ground-truth source, or a bad seed.
    DataError
        An unreadable or corrupted dSprites cache.
    """
    key = spelling_key(name) if isinstance(name, str) else None
    if key not in _SOURCES:
        raise ConfigError(f"dataset {name!r} has no ground-truth factors for the disentanglement metrics: expected "
                          f"one of {', '.join(_SOURCES)}")
    seed = check_seed(seed, "ground_truth_for_dataset: seed")
    source = _SOURCES[key]
    if issubclass(source, _VariantGroundTruth):
        return source.cached(root, seed=seed)
    return source.cached(root)


def encode(representation: Representation, observations: Any, rows: int, where: str) -> np.ndarray:
    """``representation(observations)`` checked to be finite codes with one row per observation."""
    codes = as_codes(representation(observations), f"{where}: the representation's output")
    if codes.shape[0] != rows:
        raise DataError(f"{where}: the representation returned {codes.shape[0]} rows for {rows} observations")
    return codes


def representation_samples(data: GroundTruthData, representation: Representation, num: int,
                           rng: np.random.Generator, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``num`` random ``(codes, factors)`` rows: factors drawn, observed and encoded in batches of ``batch_size``.

    Returns
    -------
    tuple of numpy.ndarray
        float64 codes ``(num, D)`` and int64 factors ``(num, K)``.
    """
    num, batch_size = check_count(num, "num"), check_count(batch_size, "batch_size")
    rng = check_rng(rng, "representation_samples")
    codes, factors = [], []
    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        f, obs = data.sample(n, rng)
        codes.append(encode(representation, obs, n, "representation_samples"))
        factors.append(f)
    return np.concatenate(codes), np.concatenate(factors)


def train_test_samples(data: GroundTruthData, representation: Representation, num_train: int, num_test: int,
                       seed: int, batch_size: int) -> tuple[Samples, Samples, np.random.Generator]:
    """Training then test ``(codes, factors)`` drawn from one generator seeded with ``seed`` (returned too)."""
    rng = np.random.default_rng(check_seed(seed))
    train = representation_samples(data, representation, num_train, rng, batch_size)
    test = representation_samples(data, representation, num_test, rng, batch_size)
    return train, test, rng


def model_representation(model: Any) -> Representation:
    """The representation of a gaekit model: its embedding (the posterior mean for variational models), as
    Locatello et al. 2019 use, computed without gradients (``model.embed``)."""
    if not callable(getattr(model, "embed", None)):
        raise ConfigError(f"model_representation: {type(model).__name__} has no embed(x) method; pass a gaekit model "
                          "or your own function from observations to codes")
    return model.embed
