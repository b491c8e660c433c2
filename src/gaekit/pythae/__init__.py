"""Pythae 0.1.2's public module tree on gaekit's own objects: change ``pythae`` to ``gaekit.pythae`` in the imports.

``gaekit.pythae.models`` (models, configs, ``AutoModel``), ``.models.nn`` (``BaseEncoder``, ``BaseDecoder``, ...),
``.models.base.base_utils`` (``ModelOutput``), ``.trainers`` (the four trainers and their configs),
``.trainers.training_callbacks``, ``.pipelines``, ``.samplers``, ``.data`` and ``.data.preprocessors``. Every name
is bound to, or builds, the gaekit object (there is no second implementation); a Pythae setting with no exact
gaekit counterpart is honoured in meaning or refused by name (docs/migrating-from-pythae.md).
"""

__version__ = "0.1.2"
"""The Pythae release whose API this namespace follows."""
