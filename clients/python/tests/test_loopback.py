"""Loopback mode (SWARM_LOOPBACK): the program trains with no swarm, and the hooks still run the weights through
the safetensors encoding and back."""

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from swarmlearning.pyt import SwarmCallback


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
        self.norm = torch.nn.BatchNorm1d(3)
        self.register_buffer("scale", torch.tensor([2.0], dtype=torch.float64))
        self.halves = torch.nn.Parameter(torch.tensor([0.5, 1.5], dtype=torch.float16))
        self.brain = torch.nn.Parameter(torch.tensor([1.25, -3.0], dtype=torch.bfloat16))

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale.float() + self.halves.float().sum() + self.brain.float().sum()


def data():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 4, generator=g)
    return DataLoader(TensorDataset(x, (x.sum(1) > 0).long() + (x[:, 0] > 1).long()), batch_size=16, shuffle=False)


def test_loopback_from_the_environment_trains_and_keeps_every_weight_and_dtype(monkeypatch):
    monkeypatch.setenv("SWARM_LOOPBACK", "1")
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    cb = SwarmCallback(syncFrequency=2, minPeers=2, model=model, adsValData=data(), totalEpochs=2,
                       lossFunction="CrossEntropyLoss", lossFunctionArgs={"reduction": "sum"}, metricFunction="Accuracy")
    assert cb.loopback
    cb.on_train_begin()
    losses = []
    for epoch in range(2):
        for x, y in data():
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
            before = {k: v.clone() for k, v in model.state_dict().items()}
            cb.on_batch_end()
            after = model.state_dict()
            for name, value in before.items():  # a sync in loopback gives back exactly the local weights
                assert after[name].dtype == value.dtype
                assert torch.equal(after[name], value), name
        cb.on_epoch_end(epoch)
    cb.on_train_end()
    assert cb.batchesDone == 8 and cb.epochsCompleted == 2
    assert losses[-1] < losses[0]
    assert model.norm.num_batches_tracked.item() == 8  # an integer buffer stays local and keeps counting


def test_what_is_sent_is_the_state_dict_by_name_with_integer_buffers_kept_local():
    model = Net()
    cb = SwarmCallback(syncFrequency=2, minPeers=2, model=model, loopback=True)
    tensors, metadata = cb._get_weights()
    names = [t.name for t in tensors]
    assert names == [n for n in model.state_dict() if n != "norm.num_batches_tracked"]
    assert {t.name: t.dtype for t in tensors}["halves"] == "F16"
    assert {t.name: t.dtype for t in tensors}["brain"] == "BF16"
    assert {t.name: t.dtype for t in tensors}["scale"] == "F32"  # float64 travels as float32
    assert metadata == {"format": "pt"}
    np.testing.assert_array_equal({t.name: t.to_float32() for t in tensors}["brain"], np.array([1.25, -3.0], dtype=np.float32))
