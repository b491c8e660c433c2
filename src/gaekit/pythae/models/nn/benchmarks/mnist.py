"""``pythae.models.nn.benchmarks.mnist``: Pythae's MNIST benchmark networks (gaekit's paper networks)."""

from gaekit.pythae._submodules import export_classes
from gaekit.pythae.models.nn.benchmarks._networks import benchmark_classes

__all__: list[str] = []
export_classes(__name__, globals(), benchmark_classes("MNIST"))
