"""Exception hierarchy: every error gaekit raises on purpose derives from ``GaekitError``."""


class GaekitError(Exception):
    """Base class of all gaekit errors."""


class ConfigError(GaekitError, ValueError):
    """A configuration field has a bad value, or a config file has unknown keys."""


class DataError(GaekitError, ValueError):
    """Training or evaluation data does not match what the model expects."""


class CheckpointError(GaekitError):
    """A saved model folder or training checkpoint is missing, incomplete or corrupted."""


class UnsafeLoadError(CheckpointError):
    """A folder holds a file that could execute code when loaded (a pickle); it is refused."""


class TrainingError(GaekitError, RuntimeError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class NonFiniteLossError(TrainingError):
    """A training loss became NaN or infinite: the run diverged (the bench retries it with a smaller learning
    rate)."""
