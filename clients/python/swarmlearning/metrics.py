"""``metricFunction``: a torchmetrics class when torchmetrics is installed; otherwise a built-in accuracy or F1 with
a one-time warning. Never a crash: an unknown name falls back to accuracy, and says so."""

from __future__ import annotations

import logging
from typing import Any

import torch

_ACCURACY = {"accuracy", "multiclassaccuracy", "binaryaccuracy"}
_F1 = {"f1score", "multiclassf1score", "binaryf1score", "f1"}
_warned: set[str] = set()


def _warn_once(logger: logging.Logger, key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


def make_metric(name: str, args: dict[str, Any], logger: logging.Logger):
    """A metric object with ``reset()``, ``update(outputs, targets)`` and ``compute()``."""
    try:
        import torchmetrics  # noqa: F401  (optional)
    except ImportError:
        torchmetrics = None
    if torchmetrics is not None and hasattr(torchmetrics, name):
        return getattr(torchmetrics, name)(**args)
    key = name.lower()
    why = "torchmetrics is not installed" if torchmetrics is None else f"torchmetrics has no metric '{name}'"
    if key in _F1:
        average = args.get("average", "macro" if key == "multiclassf1score" else "micro")
        _warn_once(logger, f"f1/{average}", f"{why}: using the built-in F1 score ({average} average) for metricFunction '{name}'")
        return BuiltinF1(average, args.get("num_classes"))
    if key not in _ACCURACY:
        _warn_once(logger, f"unknown/{name}", f"{why}, and the built-in metrics are accuracy and F1: using accuracy for metricFunction '{name}'")
    else:
        _warn_once(logger, "accuracy", f"{why}: using the built-in accuracy for metricFunction '{name}'")
    return BuiltinAccuracy()


def _predictions(outputs: torch.Tensor) -> torch.Tensor:
    if outputs.dim() > 1 and outputs.shape[-1] > 1:
        return outputs.argmax(dim=-1)
    return (outputs.reshape(-1) > 0).long()


class BuiltinAccuracy:
    """The share of samples whose arg-max class is the target."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._right = 0
        self._total = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self._right += int((_predictions(outputs) == targets.reshape(-1)).sum())
        self._total += int(targets.numel())

    def compute(self) -> torch.Tensor:
        return torch.tensor(self._right / self._total if self._total else 0.0)


class BuiltinF1:
    """F1 over classes: ``micro`` (equals accuracy for single-label classification), ``macro`` or ``weighted``."""

    def __init__(self, average: str, num_classes: int | None) -> None:
        if average not in ("micro", "macro", "weighted"):
            average = "macro"
        self._average = average
        self._classes = num_classes
        self.reset()

    def reset(self) -> None:
        self._predicted: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self._predicted.append(_predictions(outputs))
        self._targets.append(targets.reshape(-1).long())

    def compute(self) -> torch.Tensor:
        if not self._targets:
            return torch.tensor(0.0)
        predicted = torch.cat(self._predicted)
        targets = torch.cat(self._targets)
        classes = self._classes or int(max(predicted.max(), targets.max())) + 1
        tp = torch.zeros(classes)
        fp = torch.zeros(classes)
        fn = torch.zeros(classes)
        for c in range(classes):
            tp[c] = ((predicted == c) & (targets == c)).sum()
            fp[c] = ((predicted == c) & (targets != c)).sum()
            fn[c] = ((predicted != c) & (targets == c)).sum()
        if self._average == "micro":
            denominator = 2 * tp.sum() + fp.sum() + fn.sum()
            return 2 * tp.sum() / denominator if denominator > 0 else torch.tensor(0.0)
        denominator = 2 * tp + fp + fn
        f1 = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), torch.zeros(classes))
        if self._average == "macro":
            return f1.mean()
        support = tp + fn
        return (f1 * support).sum() / support.sum().clamp(min=1)
