"""HPE's ``swarmlearning.pyt.SwarmCallback`` for PyTorch programs.

Usage, as with HPE::

    from swarmlearning.pyt import SwarmCallback
    cb = SwarmCallback(syncFrequency=128, minPeers=2, model=model, adsValData=testLoader, adsValBatchSize=128,
                       totalEpochs=5, lossFunction="CrossEntropyLoss", lossFunctionArgs={"reduction": "sum"},
                       metricFunction="F1Score", metricFunctionArgs={"task": "multiclass", "num_classes": 10})
    cb.on_train_begin()
    for epoch in range(5):
        for x, y in trainLoader:
            ...; optimizer.step(); cb.on_batch_end()
        cb.on_epoch_end(epoch)
    cb.on_train_end()

What travels is the model's ``state_dict``, names kept: its floating-point tensors (float32, float16, bfloat16;
float64 is sent as float32). Integer and boolean buffers (BatchNorm's ``num_batches_tracked``) are counters, not
weights: they stay local, as HPE's ``load_state_dict(strict=False)`` would leave them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from . import safetensors_io as st
from .callback import SwarmCallbackBase
from .errors import SwarmError
from .metrics import make_metric

__all__ = ["SwarmCallback", "SwarmError"]

_STORED = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F32"}


class SwarmCallback(SwarmCallbackBase):
    """HPE's PyTorch ``SwarmCallback``: the same constructor arguments, defaults, checks and hooks."""

    def __init__(self, syncFrequency: Any = None, minPeers: Any = None, trainingContract: Any = "defaultbb.cqdb.sml.hpe", **kwargs: Any):
        super().__init__(syncFrequency, minPeers, trainingContract, **kwargs)
        self.model: torch.nn.Module = kwargs["model"]
        self._loss_fn = None
        if kwargs.get("lossFunction") is not None:
            self._loss_fn = getattr(torch.nn, kwargs["lossFunction"])(**(kwargs.get("lossFunctionArgs") or {}))
        elif self.adsValData is not None:
            self.logger.warning("lossFunction is not set: the validation loss is reported as 0")
        self._metric = None
        if kwargs.get("metricFunction") is not None:
            self._metric = make_metric(kwargs["metricFunction"], kwargs.get("metricFunctionArgs") or {}, self.logger)
        self._local_names: list[str] = []
        self._warned_f64 = False

    def _validate_platform(self, options: dict) -> list[str]:
        problems = []
        model = options.get("model")
        if model is None:
            problems.append("model is mandatory for PyTorch: pass the torch.nn.Module being trained as model=")
        elif not isinstance(model, torch.nn.Module):
            problems.append(f"model has to be a torch.nn.Module. Provided value: {type(model).__name__}")
        data = options.get("adsValData")
        if data is not None and not isinstance(data, torch.utils.data.DataLoader):
            problems.append(f"adsValData has to be a torch.utils.data.DataLoader for PyTorch. Provided value: {type(data).__name__}")
        loss = options.get("lossFunction")
        if loss is not None and not (isinstance(loss, str) and isinstance(getattr(torch.nn, loss, None), type)):
            problems.append(f"lossFunction has to be the name of a loss class in torch.nn, such as 'CrossEntropyLoss'. Provided value: {loss}")
        for name in ("lossFunctionArgs", "metricFunctionArgs"):
            if options.get(name) is not None and not isinstance(options[name], dict):
                problems.append(f"{name} has to be a dict of keyword arguments. Provided value: {options[name]}")
        metric = options.get("metricFunction")
        if metric is not None and not isinstance(metric, str):
            problems.append(f"metricFunction has to be the name of a torchmetrics class, such as 'F1Score'. Provided value: {metric}")
        return problems

    def _get_weights(self) -> tuple[list[st.Tensor], dict[str, str]]:
        tensors = []
        local = []
        for name, value in self.model.state_dict().items():
            stored = _STORED.get(value.dtype)
            if stored is None:
                local.append(name)
                continue
            value = value.detach().to("cpu").contiguous()
            if value.dtype == torch.float64:
                if not self._warned_f64:
                    self.logger.warning("float64 tensors (first: '%s') are sent as float32: a swarm merges 32-bit floats", name)
                    self._warned_f64 = True
                value = value.to(torch.float32)
            if stored == "BF16":
                array = value.view(torch.int16).numpy().view(np.uint16)
            else:
                array = value.numpy()
            tensors.append(st.tensor(name, array, stored))
        if local != self._local_names:
            self._local_names = local
            if local:
                self.logger.info("Kept local, not merged (not floating point): %s", ", ".join(local))
        return tensors, {"format": "pt"}

    def _set_weights(self, tensors: list[st.Tensor]) -> None:
        current = self.model.state_dict()
        update = {}
        for t in tensors:
            target = current.get(t.name)
            if target is None:
                raise SwarmError(f"the swarm's model has a tensor '{t.name}' that this model does not: the nodes must train the same model")
            if tuple(target.shape) != t.shape:
                raise SwarmError(f"tensor '{t.name}' has shape {list(t.shape)} in the swarm's model but {list(target.shape)} here")
            if t.dtype == "BF16":
                value = torch.from_numpy(t.values.view(np.int16).copy()).view(torch.bfloat16).reshape(t.shape)
            else:
                value = torch.from_numpy(t.values.copy()).reshape(t.shape)
            update[t.name] = value.to(dtype=target.dtype, device=target.device)
        # What stays local is passed back as it is: a module may reset an entry missing from the dict it loads
        # (BatchNorm sets num_batches_tracked to 0).
        for name, value in current.items():
            update.setdefault(name, value)
        self.model.load_state_dict(update, strict=False)

    def _evaluate(self) -> tuple[float, float]:
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters(), torch.zeros(0)).device
        total_loss = 0.0
        count = 0
        if self._metric is not None:
            self._metric.reset()
        with torch.no_grad():
            for batch in self.adsValData:
                inputs, targets = batch[0].to(device), batch[1].to(device)
                outputs = self.model(inputs)
                count += len(targets)
                if self._loss_fn is not None:
                    total_loss += float(self._loss_fn(outputs, targets))
                if self._metric is not None:
                    self._metric.update(outputs.detach().cpu(), targets.detach().cpu())
        if was_training:
            self.model.train()
        loss = total_loss / max(1, len(getattr(self.adsValData, "dataset", [])) or count)
        metric = float(self._metric.compute()) if self._metric is not None and count else 0.0
        return loss, metric


def _silence_torch_warnings() -> None:
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


_silence_torch_warnings()
