"""The platform-independent part of ``SwarmCallback``: HPE's parameters and their checks, the hooks, the sync
schedule, loopback mode. ``swarmlearning.pyt`` adds what is PyTorch's: reading and loading ``state_dict`` weights
and measuring validation loss and metric.

The rules mirror the .NET ``SwarmCallback`` (src/SwarmLearning.Client) so both clients behave the same way against
an SL node: the first sync comes after ``syncFrequency`` batches, each merge is followed by a progress report whose
answer sets the next interval (adaptive sync), ``on_train_end`` blocks until every node has ended.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from typing import Any

from . import safetensors_io as st
from .channel import API_VERSION, ChannelClient, SyncAnswer
from .errors import SwarmError

DEFAULT_TRAINING_CONTRACT = "defaultbb.cqdb.sml.hpe"
SOCKET_VARIABLE = "SWARM_SL_SOCKET"
LOOPBACK_VARIABLE = "SWARM_LOOPBACK"
CHECKIN_MODES = ["inactive", "active", "snapshot"]
MERGE_METHODS = ["mean", "coordmedian", "geomedian", "trimmedmean", "krum"]

#: HPE's keyword arguments, with their defaults (``model`` and the loss and metric ones are PyTorch's).
KEYWORDS: dict[str, Any] = {
    "useAdaptiveSync": False,
    "adsValData": None,
    "adsValBatchSize": None,
    "checkinModelOnTrainEnd": "snapshot",
    "nodeWeightage": 1,
    "mergeMethod": "mean",
    "model": None,
    "logger": None,
    "totalEpochs": None,
    "lossFunction": None,
    "lossFunctionArgs": None,
    "metricFunction": None,
    "metricFunctionArgs": None,
    "mlPlatform": None,
}

#: What this package adds: where the SL node is, loopback, and the bounds of the calls.
EXTRA_KEYWORDS: dict[str, Any] = {
    "mergeMomentum": 0.0,
    "slSocket": None,
    "loopback": None,
    "requestTimeout": 120.0,
    "waitLogInterval": 30.0,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _python_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _default_logger() -> logging.Logger:
    logger = logging.getLogger("SwarmCallback")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s SwarmCallback: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class SwarmCallbackBase:
    """HPE's ``SwarmCallbackBase``: subclasses implement the platform's part (:meth:`_get_weights`,
    :meth:`_set_weights`, :meth:`_evaluate`, :meth:`_validate_platform`)."""

    def __init__(self, syncFrequency: Any = None, minPeers: Any = None, trainingContract: Any = DEFAULT_TRAINING_CONTRACT, **kwargs: Any):
        unknown = [k for k in kwargs if k not in KEYWORDS and k not in EXTRA_KEYWORDS and k != "ml_platform"]
        options = {**KEYWORDS, **EXTRA_KEYWORDS, **{k: v for k, v in kwargs.items() if k not in unknown}}
        self.logger: logging.Logger = options["logger"] or _default_logger()
        problems = []
        for name in unknown:
            close = difflib.get_close_matches(name, ["syncFrequency", "minPeers", "trainingContract", *KEYWORDS, *EXTRA_KEYWORDS], n=1)
            problems.append(f"unknown parameter '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""))
        problems += self._check(syncFrequency, minPeers, trainingContract, options)
        problems += self._validate_platform(options)
        if problems:
            message = "; ".join(problems)
            self.logger.error(message)
            raise SwarmError(message)

        self.syncFrequency: int = syncFrequency
        self.minPeers: int = minPeers
        self.trainingContract: str = trainingContract
        self.useAdaptiveSync: bool = options["useAdaptiveSync"]
        self.adsValData = options["adsValData"]
        self.adsValBatchSize = options["adsValBatchSize"]
        self.checkinModelOnTrainEnd: str = options["checkinModelOnTrainEnd"]
        self.nodeWeightage: int = options["nodeWeightage"]
        self.mergeMethod: str = options["mergeMethod"].strip().lower()
        self.mergeMomentum: float = float(options["mergeMomentum"])
        self.totalEpochs: int = options["totalEpochs"] or 0
        self.loopback: bool = options["loopback"] if options["loopback"] is not None else _is_true(os.environ.get(LOOPBACK_VARIABLE))
        self.syncInterval = self.batchesBeforeNextSync = syncFrequency
        self.batchesDone = 0
        self.epochsCompleted = 0
        self.syncCount = 0
        self.isTrainingOver = False
        self.sessionId: str | None = None
        self.node: dict | None = None
        self.lastAnswer: SyncAnswer | None = None
        self._last_loss = 0.0
        self._last_metric = 0.0
        self._last_merged: list[st.Tensor] | None = None
        self._begun = False
        self._ended = False

        self.logger.info(
            "Swarm parameters: syncFrequency %d, minPeers %d, trainingContract %s, useAdaptiveSync %s, adsValData %s, "
            "checkinModelOnTrainEnd %s, nodeWeightage %d, mergeMethod %s, totalEpochs %d",
            syncFrequency, minPeers, trainingContract, self.useAdaptiveSync, "given" if self.adsValData is not None else "none",
            self.checkinModelOnTrainEnd, self.nodeWeightage, self.mergeMethod, self.totalEpochs)
        if self.totalEpochs == 0:
            self.logger.warning("totalEpochs is not set: progress is reported without a total, and no ETA can be shown")
        if self.adsValData is None:
            self.logger.warning("adsValData is not set: loss and metric are reported as 0")

        self._channel: ChannelClient | None = None
        if self.loopback:
            self.logger.info("Loopback mode (%s): training without a swarm; syncs load the local weights back", LOOPBACK_VARIABLE)
            return
        socket_path = options["slSocket"] or os.environ.get(SOCKET_VARIABLE)
        if not socket_path:
            raise self._fail("Init", f"no SL node to talk to: set {SOCKET_VARIABLE} to the SL node's socket (<sl-dir>/ml.sock, see "
                                     f"'swarm sl') or pass slSocket; {LOOPBACK_VARIABLE}=1 trains without a swarm")
        self._channel = ChannelClient(socket_path, self.logger, float(options["requestTimeout"]), float(options["waitLogInterval"]))

    # ----- HPE's checks -----

    @staticmethod
    def _check(sync_frequency: Any, min_peers: Any, training_contract: Any, options: dict) -> list[str]:
        problems = []
        if not _is_int(sync_frequency) or sync_frequency <= 0:
            problems.append(f"syncFrequency has to be a positive integer. Provided value: {sync_frequency}")
        if not _is_int(min_peers) or min_peers <= 0:
            problems.append(f"minPeers have to be a positive integer. Provided value: {min_peers}")
        if not isinstance(training_contract, str) or not training_contract.strip():
            problems.append(f"Invalid Training Contract: {training_contract!r}. Leave it out for HPE's default {DEFAULT_TRAINING_CONTRACT}")
        if options["checkinModelOnTrainEnd"] not in CHECKIN_MODES:
            problems.append(f"Invalid value checkinModelOnTrainEnd: {options['checkinModelOnTrainEnd']}. Allowed values: {_python_list(CHECKIN_MODES)}")
        method = options["mergeMethod"]
        if not isinstance(method, str) or method.strip().lower() not in MERGE_METHODS:
            shown = method.lower() if isinstance(method, str) else method
            problems.append(f"Invalid value mergeMethod: {shown}. Allowed values: {_python_list(MERGE_METHODS)}")
        momentum = options["mergeMomentum"]
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0 <= momentum < 1:
            problems.append(f"mergeMomentum has to be at least 0 and below 1. Provided value: {momentum}")
        weight = options["nodeWeightage"]
        if not _is_int(weight) or not 1 <= weight <= 100:
            problems.append(f"Node weightage should be a number between 1-100. Provided value: {weight}")
        if not isinstance(options["useAdaptiveSync"], bool):
            problems.append(f"useAdaptiveSync has to be True or False. Provided value: {options['useAdaptiveSync']}")
        elif options["useAdaptiveSync"] and options["adsValData"] is None:
            problems.append("For adaptive sync, valid adsValData is mandatory")
        epochs = options["totalEpochs"]
        if epochs is not None and (not _is_int(epochs) or epochs < 0):
            problems.append(f"totalEpochs has to be a positive integer (or left out when unknown). Provided value: {epochs}")
        batch = options["adsValBatchSize"]
        if batch is not None and (not _is_int(batch) or batch <= 0):
            problems.append(f"adsValBatchSize has to be a positive integer. Provided value: {batch}")
        for name in ("requestTimeout", "waitLogInterval"):
            value = options[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                problems.append(f"{name} has to be a positive number of seconds. Provided value: {value}")
        return problems

    # ----- the platform's part -----

    def _validate_platform(self, options: dict) -> list[str]:
        return []

    def _get_weights(self) -> tuple[list[st.Tensor], dict[str, str]]:
        raise NotImplementedError

    def _set_weights(self, tensors: list[st.Tensor]) -> None:
        raise NotImplementedError

    def _evaluate(self) -> tuple[float, float]:
        return 0.0, 0.0

    # ----- the hooks -----

    def on_train_begin(self) -> None:
        """The initial sync: every node starts from the same model (a late joiner from the latest merged one)."""
        if self._begun:
            raise RuntimeError("on_train_begin was called twice; a SwarmCallback serves one training run")
        self._begun = True
        self.batchesBeforeNextSync = self.syncInterval
        if self._channel is None:
            self._round_trip()
            return
        try:
            self.node = self._channel.info()
            if self.node.get("apiVersion") != API_VERSION:
                raise SwarmError(f"Mismatch in the Swarm API version between the ML program ({API_VERSION}) and the SL node ({self.node.get('apiVersion')})")
            self.logger.info("Connected to SL node '%s' (fingerprint %s) at %s; its SN is %s",
                             self.node.get("node"), str(self.node.get("fingerprint", ""))[:12], self._channel.socket_path, self.node.get("sn"))
            opened = self._channel.open_session(self._session_request())
        except SwarmError as e:
            raise self._fail("Init", str(e)) from None
        self.sessionId = opened["session"]
        interval = int(opened.get("syncInterval") or 0)
        self.logger.info("Starting initial sync (session %s)", self.sessionId)
        answer = self._call("Sync", lambda: self._channel.begin(self.sessionId, self._encode()))
        self._load(answer)
        if interval > 0:
            self.syncInterval = self.batchesBeforeNextSync = interval
        self.logger.info("Initial sync done (round %d); syncing every %d batches", answer.round, self.syncInterval)

    def on_batch_end(self, batch: Any = None) -> None:
        """After every optimizer step: syncs when the interval has passed."""
        self._require_begun("on_batch_end")
        self.batchesDone += 1
        self.batchesBeforeNextSync -= 1
        if self.batchesBeforeNextSync > 0 or self.isTrainingOver:
            return
        if self._channel is None:
            self._round_trip()
            self.batchesBeforeNextSync = self.syncInterval
            return
        self.logger.info("Sync starts after %d batches", self.batchesDone)
        answer = self._call("Sync", lambda: self._channel.sync(self.sessionId, self._encode()))
        self._load(answer)
        self.syncCount += 1
        if answer.training_over:
            self.logger.info("The training contract has completed (round %d): no more syncs", answer.round)
            return
        self._last_loss, self._last_metric = self._evaluate() if self.adsValData is not None else (0.0, 0.0)
        following = self._call("Sync", lambda: self._channel.progress(
            self.sessionId, self._last_loss, self._last_metric, self.epochsCompleted, self.totalEpochs))
        self.logger.info("Merge done: round %d%s, loss %.4f, metric %.4f; next sync in %d batches", answer.round,
                         "" if answer.contributed else " (without this node's weights)", self._last_loss, self._last_metric, following)
        self.syncInterval = self.batchesBeforeNextSync = following

    def on_epoch_end(self, epoch: Any = None) -> None:
        """Counts the epoch and reports progress (with adaptive sync, it travels with the next sync's report)."""
        self._require_begun("on_epoch_end")
        self.epochsCompleted += 1
        if self._channel is None or self.isTrainingOver or self.useAdaptiveSync:
            return
        self._call("Progress", lambda: self._channel.progress(
            self.sessionId, self._last_loss, self._last_metric, self.epochsCompleted, self.totalEpochs))

    def on_train_end(self) -> None:
        """The final merge: blocks until every node has ended, then loads the final swarm model (the same on every node)."""
        self._require_begun("on_train_end")
        if self._ended:
            raise RuntimeError("on_train_end was called twice; a SwarmCallback serves one training run")
        self._ended = True
        if self._channel is None:
            self._round_trip()
            return
        self.logger.info("Finished local training: %d batches, %d epochs", self.batchesDone, self.epochsCompleted)
        if self.syncCount == 0:
            self.logger.warning("No merge happened during training (syncFrequency %d, %d batches): syncFrequency may be high",
                                self.syncFrequency, self.batchesDone)
        if self.isTrainingOver:
            self.logger.info("The swarm finished before this node: keeping the last merged model")
            if self._last_merged is not None:
                self._set_weights(self._last_merged)
            try:
                self._channel.abandon(self.sessionId)
            except SwarmError as e:
                self.logger.warning("Could not close the session: %s", e)
            self.sessionId = None
            return
        self.logger.info("Final merging starts at training end. Waiting for other peers to complete ...")
        answer = self._call("End", lambda: self._channel.end(self.sessionId, self._encode()))
        self._load(answer)
        self.isTrainingOver = True
        self.sessionId = None
        self.logger.info("All peers and Swarm training rounds finished. Final Swarm model was loaded (round %d, hash %s).",
                         answer.round, answer.model_hash[:12])

    def close(self) -> None:
        """Abandons an open session (the program is going away); harmless when there is none."""
        if self._channel is not None and self.sessionId is not None:
            try:
                self._channel.abandon(self.sessionId)
            except SwarmError as e:
                self.logger.warning("Could not close the session: %s", e)
            self.sessionId = None

    # ----- helpers -----

    def _session_request(self) -> dict:
        return {
            "syncFrequency": self.syncFrequency,
            "minPeers": self.minPeers,
            "trainingContract": self.trainingContract,
            "useAdaptiveSync": self.useAdaptiveSync,
            "checkinModelOnTrainEnd": self.checkinModelOnTrainEnd,
            "nodeWeightage": self.nodeWeightage,
            "mergeMethod": self.mergeMethod,
            "totalEpochs": self.totalEpochs,
            "mergeMomentum": self.mergeMomentum,
            "apiVersion": API_VERSION,
        }

    def _encode(self) -> bytes:
        tensors, metadata = self._get_weights()
        return st.dumps(tensors, metadata)

    def _round_trip(self) -> None:
        # Loopback: the "merged" model is the local one, so the weights still go through the encoding and back.
        tensors, metadata = st.loads(self._encode(), "the local model")
        self._set_weights(tensors)

    def _load(self, answer: SyncAnswer) -> None:
        tensors, _ = st.loads(answer.model, f"the model of round {answer.round}")
        self._set_weights(tensors)
        self._last_merged = tensors
        self.lastAnswer = answer
        self.isTrainingOver |= answer.training_over

    def _require_begun(self, hook: str) -> None:
        if not self._begun:
            raise RuntimeError(f"{hook} was called before on_train_begin; call on_train_begin once before training starts")

    def _call(self, what: str, call):
        try:
            return call()
        except SwarmError as e:
            raise self._fail(what, str(e)) from None

    def _fail(self, what: str, message: str) -> SwarmError:
        text = f"{what} Swarm call to SL node failed - {message}"
        self.logger.error(text)
        return SwarmError(text)
