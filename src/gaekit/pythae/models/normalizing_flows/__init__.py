"""``pythae.models.normalizing_flows``: Pythae's flows and their configs, each holding gaekit's flow.

- ``MAF`` / ``MAFConfig``: ``gaekit.flows.MAF`` (``n_made_blocks``, ``n_hidden_in_made``, ``hidden_size``,
  ``include_batch_norm``); ``IAF`` / ``IAFConfig``: ``gaekit.flows.IAF`` (the same fields);
- ``MADE`` / ``MADEConfig``: ``gaekit.flows.MADE`` (``output_dim`` equal to ``input_dim``;
  ``degrees_ordering="sequential"`` only);
- ``PlanarFlow`` / ``PlanarFlowConfig``: ``gaekit.flows.PlanarFlow``; ``RadialFlow`` / ``RadialFlowConfig``:
  ``gaekit.flows.RadialFlow``;
- ``PixelCNN`` / ``PixelCNNConfig``: ``gaekit.models.pixelcnn.PixelCNN`` over ``(1, H, W)`` index maps;
- ``NFModel``: a gaekit ``BaseModel`` (flow over a prior) fitted by the Trainer; ``BaseNF``, ``BaseNFConfig``: the
  bases.

The per-flow submodules (``.maf``, ``.iaf``, ``.made``, ``.planar_flow``, ``.radial_flow``, ``.pixelcnn``,
``.base``) hold the same classes. The differences in maths are in each class's docstring.
"""

from gaekit.pythae._submodules import FLOW_MODULES, register_submodules
from gaekit.pythae.models.normalizing_flows._configs import (
    BaseNFConfig,
    IAFConfig,
    MADEConfig,
    MAFConfig,
    PixelCNNConfig,
    PlanarFlowConfig,
    RadialFlowConfig,
)
from gaekit.pythae.models.normalizing_flows._flows import IAF, MADE, MAF, BaseNF, NFModel, PlanarFlow, RadialFlow
from gaekit.pythae.models.normalizing_flows._pixelcnn import PixelCNN

__all__ = ["BaseNF", "BaseNFConfig", "NFModel", "MADE", "MADEConfig", "MAF", "MAFConfig", "IAF", "IAFConfig",
           "PlanarFlow", "PlanarFlowConfig", "RadialFlow", "RadialFlowConfig", "PixelCNN", "PixelCNNConfig"]

register_submodules(__name__, globals(), FLOW_MODULES)
