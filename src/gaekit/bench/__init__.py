"""The benchmark study runner (``gaekit bench``): specs, the paper's grids, presets, runs and executors.

Chadebec et al. 2022, "Pythae: Unifying Generative Autoencoders in Python" (arXiv:2206.08309),
Section 4 and Appendices C-D. See ``gaekit.bench.layout`` for the on-disk layout of a study.
"""
