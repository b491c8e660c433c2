"""``TrainerConfig.data_on_device``: array data moved once to the training device (no host copy per batch).

The decision is tested with a stated amount of free memory (this machine has no GPU); moving and training run
where CUDA is available."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.data import as_dataset, load_dataset
from gaekit.data.tensors import to_device, to_float32
from gaekit.errors import ConfigError
from gaekit.trainers import Trainer, TrainerConfig, setup
from gaekit.trainers.setup import DATA_ON_DEVICE_SHARE, keeps_data_on_device, place_data

CUDA = torch.device("cuda")  # only named: nothing is moved in these tests


@pytest.fixture
def free_memory(monkeypatch):
    """Pretend the device has ``free["bytes"]`` free."""
    free = {"bytes": None}
    monkeypatch.setattr(setup, "free_device_memory", lambda device: free["bytes"])
    return free


def test_auto_keeps_array_data_that_fits_a_quarter_of_the_free_memory(free_memory):
    data = as_dataset(torch.randint(0, 256, (100, 1, 8, 8), dtype=torch.uint8))
    assert data.nbytes == 100 * 64  # stored as uint8
    free_memory["bytes"] = data.nbytes / DATA_ON_DEVICE_SHARE
    assert keeps_data_on_device(data, CUDA, None, "train_data")
    free_memory["bytes"] -= 1
    assert not keeps_data_on_device(data, CUDA, None, "train_data")
    free_memory["bytes"] = None  # a device whose free memory is not known (e.g. MPS): left on the host
    assert not keeps_data_on_device(data, torch.device("mps"), None, "train_data")
    assert keeps_data_on_device(data, CUDA, True, "train_data")  # True: always
    assert not keeps_data_on_device(data, CUDA, False, "train_data")
    assert not keeps_data_on_device(data, torch.device("cpu"), True, "train_data")  # nothing moves on the CPU
    assert place_data(data, torch.device("cpu"), True, "train_data") is data


def test_packed_bits_count_as_stored(dsprites_root):
    data = load_dataset("dsprites", "train", root=dsprites_root).subset(torch.arange(80))
    assert 80 * 512 <= data.nbytes <= 80 * (512 + 8)  # packed bits (512 bytes an image), an int64 label


def test_true_is_refused_for_data_the_trainer_cannot_gather():
    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.zeros(1, 8, 8)

    loader_data = as_dataset(Items())
    with pytest.raises(ConfigError, match="data_on_device=True needs array data"):
        keeps_data_on_device(loader_data, CUDA, True, "train_data")
    assert not keeps_data_on_device(loader_data, CUDA, None, "train_data")


def test_data_on_device_is_checked():
    with pytest.raises(ConfigError, match="data_on_device"):
        TrainerConfig(data_on_device="yes").validate()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (this machine has none)")
@pytest.mark.parametrize("check_every", [1, 20])
def test_cuda_training_is_the_same_with_the_data_on_the_device(tmp_path, check_every):
    data = torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(0))

    def run(on_device):
        torch.manual_seed(0)
        config = TrainerConfig(output_dir=None, num_epochs=2, batch_size=16, show_progress=False, device="cuda",
                               data_on_device=on_device, check_finite_every_n_steps=check_every)
        trainer = Trainer(tiny_model("VAE"), config, data)
        assert (trainer.train_dataset.device.type == "cuda") is on_device
        return trainer.train()

    assert run(True) == run(False)


def test_to_device_leaves_host_tensors_for_the_cpu_alone():
    x = torch.arange(6, dtype=torch.uint8)
    assert to_device(x, torch.device("cpu")) is x
    batch = to_float32(x, torch.device("cpu"))
    assert batch.dtype == torch.float32 and batch.data_ptr() != x.data_ptr()  # never an alias


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (this machine has none)")
def test_to_device_copies_through_pinned_memory_to_cuda():
    x = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    moved = to_device(x, torch.device("cuda"))
    assert moved.is_cuda and torch.equal(moved.cpu(), x) and not x.is_pinned()  # the source is left as it was
    assert torch.equal(to_float32(x, torch.device("cuda")).cpu(), x.float() / 255)
