"""SwarmCallback's parameters: HPE's names, defaults and checks, with HPE's messages."""

import logging

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from swarmlearning import SwarmError
from swarmlearning.pyt import SwarmCallback


def net():
    return torch.nn.Linear(4, 2)


def make(**kwargs):
    arguments = {"syncFrequency": 8, "minPeers": 2, "model": net(), "loopback": True}
    arguments.update(kwargs)
    return SwarmCallback(**arguments)


def test_hpes_defaults():
    cb = make()
    assert (cb.trainingContract, cb.useAdaptiveSync, cb.checkinModelOnTrainEnd, cb.nodeWeightage, cb.mergeMethod, cb.totalEpochs) == \
        ("defaultbb.cqdb.sml.hpe", False, "snapshot", 1, "mean", 0)
    assert cb.adsValData is None and cb.adsValBatchSize is None
    assert isinstance(cb.logger, logging.Logger) and cb.logger.name == "SwarmCallback"


def test_positional_arguments_as_hpe_orders_them():
    cb = SwarmCallback(16, 3, "mnist.contract", model=net(), loopback=True)
    assert (cb.syncFrequency, cb.minPeers, cb.trainingContract) == (16, 3, "mnist.contract")


@pytest.mark.parametrize("arguments, message", [
    ({"syncFrequency": 0}, "syncFrequency has to be a positive integer. Provided value: 0"),
    ({"syncFrequency": 2.5}, "syncFrequency has to be a positive integer. Provided value: 2.5"),
    ({"syncFrequency": None}, "syncFrequency has to be a positive integer. Provided value: None"),
    ({"minPeers": -1}, "minPeers have to be a positive integer. Provided value: -1"),
    ({"trainingContract": None}, "Invalid Training Contract: None"),
    ({"checkinModelOnTrainEnd": "sometimes"}, "Invalid value checkinModelOnTrainEnd: sometimes. Allowed values: ['inactive', 'active', 'snapshot']"),
    ({"mergeMethod": "AVG"}, "Invalid value mergeMethod: avg. Allowed values: ['mean', 'coordmedian', 'geomedian', 'trimmedmean', 'krum']"),
    ({"nodeWeightage": 0}, "Node weightage should be a number between 1-100. Provided value: 0"),
    ({"nodeWeightage": 101}, "Node weightage should be a number between 1-100. Provided value: 101"),
    ({"mergeMomentum": 1.0}, "mergeMomentum has to be at least 0 and below 1. Provided value: 1.0"),
    ({"mergeMomentum": "0.5"}, "mergeMomentum has to be at least 0 and below 1. Provided value: 0.5"),
    ({"useAdaptiveSync": True}, "For adaptive sync, valid adsValData is mandatory"),
    ({"totalEpochs": -2}, "totalEpochs has to be a positive integer (or left out when unknown). Provided value: -2"),
    ({"adsValData": [1, 2, 3]}, "adsValData has to be a torch.utils.data.DataLoader for PyTorch. Provided value: list"),
    ({"model": None}, "model is mandatory for PyTorch"),
    ({"model": "resnet"}, "model has to be a torch.nn.Module. Provided value: str"),
    ({"lossFunction": "CrossEntropy"}, "lossFunction has to be the name of a loss class in torch.nn"),
    ({"syncfrequency": 8}, "unknown parameter 'syncfrequency'; did you mean 'syncFrequency'?"),
])
def test_a_wrong_parameter_raises_swarm_error_with_hpes_message(arguments, message):
    with pytest.raises(SwarmError) as error:
        make(**arguments)
    assert message in str(error.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(SwarmError) as error:
        make(syncFrequency=0, nodeWeightage=500, mergeMethod="avg")
    text = str(error.value)
    assert "syncFrequency" in text and "Node weightage" in text and "mergeMethod" in text


def test_merge_method_in_any_case_is_accepted_and_kept_lowercase():
    assert make(mergeMethod="CoordMedian").mergeMethod == "coordmedian"


def test_the_logger_is_exposed_and_a_given_one_is_used():
    logger = logging.getLogger("mine")
    assert make(logger=logger).logger is logger


def test_without_a_socket_or_loopback_the_error_says_what_to_set():
    with pytest.raises(SwarmError, match="set SWARM_SL_SOCKET"):
        SwarmCallback(syncFrequency=8, minPeers=2, model=net())


def test_a_metric_without_torchmetrics_falls_back_with_one_warning(caplog, monkeypatch):
    from swarmlearning import metrics

    monkeypatch.setattr(metrics, "_warned", set())
    data = DataLoader(TensorDataset(torch.zeros(8, 4), torch.zeros(8, dtype=torch.long)), batch_size=4)
    logger = logging.getLogger("test.swarm")
    with caplog.at_level(logging.WARNING, logger="test.swarm"):
        cb = make(adsValData=data, metricFunction="F1Score", metricFunctionArgs={"task": "multiclass", "num_classes": 2},
                  lossFunction="CrossEntropyLoss", lossFunctionArgs={"reduction": "sum"}, logger=logger)
        make(adsValData=data, metricFunction="F1Score", logger=logger)
    try:
        import torchmetrics  # noqa: F401
        pytest.skip("torchmetrics is installed: its F1Score is used")
    except ImportError:
        pass
    assert sum("built-in F1" in r.message for r in caplog.records) == 1
    loss, metric = cb._evaluate()
    assert loss >= 0 and 0.0 <= metric <= 1.0
