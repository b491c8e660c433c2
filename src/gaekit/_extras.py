"""Optional dependencies: import them lazily, and say which pip extra installs a missing one."""

from __future__ import annotations

import importlib
from types import ModuleType


def require_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise ``ModuleNotFoundError`` naming the pip extra.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"mlflow"``.
    extra : str
        The gaekit extra that installs it, e.g. ``"mlflow"`` for ``pip install "gaekit[mlflow]"``.
    feature : str
        What needs it, for the error message (e.g. ``"MLflowCallback"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ModuleNotFoundError(
            f"{feature} needs the optional package {module!r}, which is not installed ({err}); "
            f'install it with: pip install "gaekit[{extra}]"',
            name=module,
        ) from None
