"""``pythae.data``: ``BaseDataset`` (a torch ``Dataset`` whose items are ``DatasetOutput``) and ``DatasetOutput``."""

from gaekit.pythae.data.datasets import BaseDataset, DatasetOutput

__all__ = ["BaseDataset", "DatasetOutput"]
