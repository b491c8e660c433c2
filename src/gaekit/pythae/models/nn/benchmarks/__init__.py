"""``pythae.models.nn.benchmarks``: the networks of the Pythae benchmark (``mnist``, ``cifar``, ``celeba``), built by
gaekit's ``"convnet"`` (Pythae's ``Conv``) and ``"resnet"`` networks (the paper's Tables 5 and 6)."""
