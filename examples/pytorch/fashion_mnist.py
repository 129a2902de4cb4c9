"""Fashion-MNIST with PyTorch on a swarm, written the way HPE's PyTorch examples are (mnist-pyt): the only
SwarmLearning-specific lines are the SwarmCallback's. Runs unchanged on HPE Swarm Learning.

Environment (HPE's names): DATA_DIR (a node directory of `swarm data split`, or any directory with Fashion-MNIST's
four IDX .gz files), MODEL_DIR (where the final model is saved), MAX_EPOCHS, MIN_PEERS, SYNC_FREQUENCY; this
example also reads MAX_SAMPLES (train on at most this many samples: quick runs), SEED and MERGE_METHOD.
SWARM_SL_SOCKET names the SL node; SWARM_LOOPBACK=1 trains without a swarm.
"""

import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from swarmlearning.pyt import SwarmCallback  # noqa: E402  (HPE: from swarmlearning.pyt import SwarmCallback)


def read_idx(path):
    """A Fashion-MNIST IDX file (gzip'ed or plain) as a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack_from(">" + "I" * dims, data, 4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    def find(kind):
        for name in (f"{prefix}-{kind}.gz", f"{prefix}-{kind}"):
            if os.path.exists(os.path.join(data_dir, name)):
                return os.path.join(data_dir, name)
        raise FileNotFoundError(f"{data_dir}: no {prefix}-{kind}(.gz)")
    images = read_idx(find("images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(find("labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images.reshape(len(images), -1)), torch.from_numpy(labels)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test(model, loader):
    model.eval()
    right = 0
    with torch.no_grad():
        for x, y in loader:
            right += int((model(x).argmax(1) == y).sum())
    model.train()
    return right / len(loader.dataset)


def main():
    data_dir = os.getenv("DATA_DIR", "/usr/share/datasets/fashion-mnist")
    model_dir = os.getenv("MODEL_DIR", "model")
    max_epochs = int(os.getenv("MAX_EPOCHS", "5"))
    min_peers = int(os.getenv("MIN_PEERS", "2"))
    sync_frequency = int(os.getenv("SYNC_FREQUENCY", "128"))
    max_samples = int(os.getenv("MAX_SAMPLES", "0"))
    torch.manual_seed(int(os.getenv("SEED", "1")))
    torch.set_num_threads(1)

    x, y = load(data_dir, "train")
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    tx, ty = load(data_dir, "test")
    train_loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    test_loader = DataLoader(TensorDataset(tx, ty), batch_size=1000)

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    swarm_callback = SwarmCallback(syncFrequency=sync_frequency, minPeers=min_peers, mergeMethod=os.getenv("MERGE_METHOD", "mean"),
                                   adsValData=test_loader, adsValBatchSize=1000, model=model, totalEpochs=max_epochs,
                                   lossFunction="CrossEntropyLoss", lossFunctionArgs={"reduction": "sum"},
                                   metricFunction="Accuracy", metricFunctionArgs={"task": "multiclass", "num_classes": 10})
    swarm_callback.on_train_begin()
    for epoch in range(max_epochs):
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
            swarm_callback.on_batch_end()
        swarm_callback.on_epoch_end(epoch)
        swarm_callback.logger.info("epoch %d: test accuracy %.4f", epoch + 1, test(model, test_loader))
    swarm_callback.on_train_end()

    accuracy = test(model, test_loader)
    os.makedirs(model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(model_dir, "fashion_mnist.pt"))
    answer = swarm_callback.lastAnswer
    # finalModelHash is the model hash the ledger records (BLAKE3); finalModelSha256 is what sha256sum prints for the
    # same bytes, as the SL node wrote them to its models/final.safetensors.
    print(json.dumps({"accuracy": accuracy, "finalModelHash": answer.model_hash if answer else None,
                      "finalModelSha256": hashlib.sha256(answer.model).hexdigest() if answer else None,
                      "rounds": answer.round if answer else 0}), flush=True)


if __name__ == "__main__":
    main()
