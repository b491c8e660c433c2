"""The domain classifiers used as FID/IS feature extractors: trained reproducibly on real MNIST,
accurate, cached with their data checksum and reloaded without retraining."""

from __future__ import annotations

import pytest
import torch

from gaekit.errors import DataError
from gaekit.metrics import EXTRACTORS, DomainClassifierConfig, ExtractorUnavailableError, domain_classifier
from gaekit.metrics import classifier as dc


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Never read or write the user's cache folder."""
    monkeypatch.setenv("GAEKIT_CACHE_DIR", str(tmp_path / "user-cache"))


def test_mnist_classifier_is_accurate_cached_and_retrained_on_changed_data(mnist_dir, tmp_path, monkeypatch):
    # the default MNIST classifier: 60k images, 3 epochs (about 10 s on one core)
    clf = domain_classifier("mnist", data_dir=mnist_dir, cache_dir=tmp_path)
    assert clf.info["source"] == "trained" and clf.info["test_accuracy"] >= 0.985
    assert (clf.fid_key, clf.is_key) == ("fid_mnist_classifier", "is_mnist_classifier")

    real_train = dc.train_domain_classifier
    monkeypatch.setattr(dc, "train_domain_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = EXTRACTORS.get("mnist-classifier")(data_dir=mnist_dir, cache_dir=tmp_path)
    assert again.info["source"] == "cache" and again.info["test_accuracy"] == clf.info["test_accuracy"]
    for key, value in clf.module.state_dict().items():
        assert torch.equal(again.module.state_dict()[key], value)

    # a config on data whose checksum changed between calls is trained again
    monkeypatch.setattr(dc, "train_domain_classifier", real_train)
    small = DomainClassifierConfig(epochs=1, max_train=500)
    monkeypatch.setattr(dc, "_data_checksum", lambda data: "0" * 64)
    assert domain_classifier(config=small, data_dir=mnist_dir, cache_dir=tmp_path).info["source"] == "trained"
    assert domain_classifier(config=small, data_dir=mnist_dir, cache_dir=tmp_path).info["source"] == "cache"
    monkeypatch.setattr(dc, "_data_checksum", lambda data: "1" * 64)
    assert domain_classifier(config=small, data_dir=mnist_dir, cache_dir=tmp_path).info["source"] == "trained"


def test_training_is_reproducible_and_shapes(mnist_dir):
    from gaekit.data import load_mnist

    train = load_mnist("train", root=mnist_dir).subset(slice(0, 1000))
    config = DomainClassifierConfig(epochs=1, max_train=1000)
    a, _ = dc.train_domain_classifier(config, train)
    b, _ = dc.train_domain_classifier(config, train)
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value), key
    features, logits = a(train.get_batch(torch.arange(5)).data)
    assert features.shape == (5, 128) and logits.shape == (5, 10)


def test_digits_classifier_and_shape_check(tmp_path):
    clf = EXTRACTORS.get("digits-classifier")(cache_dir=tmp_path)
    assert clf.info["test_accuracy"] >= 0.9 and clf.name == "digits_classifier"
    feats, logits = clf(torch.rand(3, 1, 8, 8))
    assert feats.shape == (3, 128) and logits.shape == (3, 10)
    with pytest.raises(DataError, match=r"takes images of shape \(1, 8, 8\)"):
        clf(torch.rand(3, 1, 28, 28))


def test_missing_training_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GAEKIT_DATA_DIR", raising=False)
    with pytest.raises(ExtractorUnavailableError, match="fashion-mnist training set"):
        EXTRACTORS.get("fashion-mnist-classifier")(data_dir=tmp_path / "nothing", cache_dir=tmp_path)
