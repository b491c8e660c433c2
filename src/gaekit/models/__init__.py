"""Models: one file per model, found by discovery; importing this package registers them all in ``MODELS``.

Every public module of this package (a name without a leading underscore) is imported here, in name order;
a model module registers its model with ``@MODELS.register()`` (the key is its config's ``name``). The
registered models, their configs and any other names a model module binds to them (the Pythae spellings
such as ``WAE_MMD_Config``) are exported from ``gaekit.models``. Adding a model is adding its file (and its
README row): nothing here names the models; tests/models/test_registration.py checks that every model class
in a public module is registered and exported.
"""

from gaekit.models.auto import AutoModel
from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput
from gaekit.models.factory import create_model
from gaekit.models.pythae_config import model_config_from_pythae
from gaekit.models.pythae_folders import load_pythae_folder
from gaekit.models.step import StepContext

__all__ = ["MODELS", "AutoModel", "create_model", "BaseAE", "BaseAEConfig", "ModelOutput", "StepContext",
           "model_config_from_pythae", "load_pythae_folder"]
__all__ += MODELS.discover(__name__, __path__, globals())
