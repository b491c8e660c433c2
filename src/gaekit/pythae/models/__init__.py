"""``pythae.models``: every Pythae 0.1.2 model class (bound to gaekit's model of that name) and config class
(building the gaekit config, see ``gaekit.pythae._configs``), ``AutoModel``, ``AutoConfig``, ``BaseAE`` and
``BaseAEConfig``."""

from gaekit.models import MODELS, BaseAE, BaseAEConfig
from gaekit.models.pythae_config import PYTHAE_CONFIG_NAMES, PYTHAE_MODEL_NAMES
from gaekit.pythae._configs import model_config_classes
from gaekit.pythae._submodules import MODEL_MODULES, export_classes, register_submodules
from gaekit.pythae.models.auto_model import AutoConfig, AutoModel

__all__ = ["AutoConfig", "AutoModel", "BaseAE", "BaseAEConfig"]

for _pythae, _gaekit in PYTHAE_MODEL_NAMES.items():
    globals()[_pythae] = MODELS.get(_gaekit)
    __all__.append(_pythae)
export_classes(__name__, globals(), model_config_classes())
del _pythae, _gaekit

_CONFIG_OF = {model: config for config, model in PYTHAE_CONFIG_NAMES.items()}
register_submodules(__name__, globals(), {sub: (model, _CONFIG_OF[model]) for sub, model in MODEL_MODULES.items()})

from gaekit.pythae.models import normalizing_flows  # noqa: E402, F401  (Pythae's pythae.models.normalizing_flows)
