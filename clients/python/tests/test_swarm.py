"""PyTorch programs on a real local swarm: a sentinel SN and SL nodes as processes with fresh certificates."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
import torch

from swarmlearning import SwarmError
from swarmlearning.local import LocalSwarm
from swarmlearning.pyt import SwarmCallback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_three_pytorch_nodes_train_fashion_mnist_and_end_with_the_same_state_dict(tmp_path):
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "pytorch", "run_swarm.py"), "--nodes", "3", "--epochs", "1",
                          "--max-samples", "1500", "--sync-frequency", "8", "--json", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr + run.stdout
    summary = json.loads(run.stdout)
    nodes = summary["nodes"]
    assert [n["name"] for n in nodes] == ["sl1", "sl2", "sl3"]
    hashes = {n["finalModelHash"] for n in nodes}
    assert len(hashes) == 1 and len(hashes.pop()) == 64
    assert all(n["rounds"] >= 3 for n in nodes)  # the initial sync, syncs every 8 batches, the final merge
    assert all(n["accuracy"] > 0.55 for n in nodes), nodes  # 1,500 biased samples and one epoch, from 10 % at random

    # What each program holds at the end is the model its SL node recorded and wrote: the same on every node.
    for k, node in enumerate(nodes):
        final = tmp_path / f"sl{k + 1}" / "models" / "final.safetensors"
        assert hashlib.sha256(final.read_bytes()).hexdigest() == node["finalModelSha256"]
        b3sum = subprocess.run(["b3sum", "--no-names", str(final)], capture_output=True, text=True, check=True)
        assert b3sum.stdout.strip() == node["finalModelHash"]  # BLAKE3's reference implementation agrees
    state_dicts = [torch.load(tmp_path / f"model-{k + 1}" / "fashion_mnist.pt") for k in range(3)]
    for other in state_dicts[1:]:
        assert list(other) == list(state_dicts[0])
        for name, value in state_dicts[0].items():
            assert torch.equal(other[name], value), name


@pytest.fixture(scope="module")
def one_node(tmp_path_factory):
    with LocalSwarm(1, str(tmp_path_factory.mktemp("swarm"))) as swarm:
        yield swarm


def test_the_sl_nodes_refusal_surfaces_as_swarm_error_with_its_message(one_node):
    cb = SwarmCallback(syncFrequency=4, minPeers=1, trainingContract="no.such.contract", model=torch.nn.Linear(2, 2),
                       slSocket=one_node.socket_path(0))
    with pytest.raises(SwarmError) as error:
        cb.on_train_begin()
    text = str(error.value)
    assert text.startswith("Init Swarm call to SL node failed - ")
    assert "no.such.contract" in text and "swarm ctl" in text  # the node's own message: which contract, how to create one


def test_a_single_node_swarm_round_trips_the_weights_through_the_sl_node(one_node):
    torch.manual_seed(5)
    model = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cb = SwarmCallback(syncFrequency=1, minPeers=1, model=model, totalEpochs=1, slSocket=one_node.socket_path(0))
    cb.on_train_begin()  # the first round of a contract is everyone's initial model: here, this one
    for name, value in before.items():
        assert torch.equal(model.state_dict()[name], value), name
    assert cb.lastAnswer.round >= 1 and len(cb.lastAnswer.model_hash) == 64
    cb.on_epoch_end(0)
    cb.on_train_end()
    assert cb.isTrainingOver
    for name, value in before.items():
        assert torch.equal(model.state_dict()[name], value), name


def test_no_node_at_the_socket_is_a_clear_error(tmp_path):
    cb = SwarmCallback(syncFrequency=4, minPeers=1, model=torch.nn.Linear(2, 2), slSocket=str(tmp_path / "missing.sock"))
    with pytest.raises(SwarmError, match="no SL node listens at .*missing.sock"):
        cb.on_train_begin()
