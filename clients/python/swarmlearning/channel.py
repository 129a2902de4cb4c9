"""The local channel to the SL node: HTTP/1.1 over its Unix socket (docs/local-channel.md, version 1).

Standard library only. Every call is one request on a fresh connection; a call that may wait for the swarm (begin,
sync, end) logs every ``wait_log_interval`` seconds that it still waits, so a program blocked on too few peers says
so instead of hanging silently.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from dataclasses import dataclass

from .errors import SwarmError

API_VERSION = 2


@dataclass(frozen=True)
class SyncAnswer:
    """A model the SL node answered begin, sync or end with, and its sync headers."""

    model: bytes
    round: int
    model_hash: str
    contributed: bool
    training_over: bool


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ChannelClient:
    """Talks to one SL node over its socket. Errors raise :class:`SwarmError` with the node's message."""

    def __init__(self, socket_path: str, logger: logging.Logger, request_timeout: float = 120.0, wait_log_interval: float = 30.0):
        self.socket_path = socket_path
        self._logger = logger
        self._request_timeout = request_timeout
        self._wait_log_interval = wait_log_interval

    def info(self) -> dict:
        return self._json("GET", "/v1/info", None)

    def open_session(self, options: dict) -> dict:
        return self._json("POST", "/v1/sessions", options)

    def begin(self, session: str, model: bytes) -> SyncAnswer:
        return self._model_call(session, "begin", model)

    def sync(self, session: str, model: bytes) -> SyncAnswer:
        return self._model_call(session, "sync", model)

    def end(self, session: str, model: bytes) -> SyncAnswer:
        return self._model_call(session, "end", model)

    def progress(self, session: str, loss: float, metric: float, epochs_done: int, total_epochs: int) -> int:
        answer = self._json("POST", f"/v1/sessions/{session}/progress",
                            {"loss": loss, "metric": metric, "epochsDone": epochs_done, "totalEpochs": total_epochs})
        return int(answer["syncInterval"])

    def abandon(self, session: str) -> None:
        self._request("DELETE", f"/v1/sessions/{session}", None, {}, self._request_timeout, None)

    def _json(self, method: str, path: str, body: dict | None) -> dict:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {} if data is None else {"Content-Type": "application/json"}
        _, _, payload = self._request(method, path, data, headers, self._request_timeout, None)
        try:
            return json.loads(payload)
        except json.JSONDecodeError as e:
            raise SwarmError(f"the SL node answered {method} {path} with something that is not JSON: {e}") from None

    def _model_call(self, session: str, call: str, model: bytes) -> SyncAnswer:
        status, headers, payload = self._request(
            "POST", f"/v1/sessions/{session}/{call}", model, {"Content-Type": "application/octet-stream"}, None, call)

        def header(name: str, default: str = "") -> str:
            return headers.get(name.lower(), default)

        return SyncAnswer(
            model=payload,
            round=int(header("Swarm-Round", "0") or 0),
            model_hash=header("Swarm-Model-Hash"),
            contributed=header("Swarm-Contributed") == "true",
            training_over=header("Swarm-Training-Over") == "true",
        )

    def _request(self, method: str, path: str, body: bytes | None, headers: dict, timeout: float | None, waiting_for: str | None):
        connection = _UnixConnection(self.socket_path, timeout)
        done = threading.Event()
        watcher = None
        if waiting_for is not None:
            watcher = threading.Thread(target=self._log_wait, args=(done, waiting_for), daemon=True)
            watcher.start()
        try:
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except FileNotFoundError:
                raise SwarmError(f"no SL node listens at {self.socket_path}: the socket does not exist; start 'swarm sl' "
                                 "(it prints the SWARM_SL_SOCKET to use) or set SWARM_LOOPBACK=1 to train without a swarm") from None
            except ConnectionRefusedError:
                raise SwarmError(f"the SL node at {self.socket_path} refused the connection: it is not running (a socket file "
                                 "left behind by a node that stopped); start 'swarm sl'") from None
            except socket.timeout:
                raise SwarmError(f"the SL node at {self.socket_path} did not answer {method} {path} within {timeout:.0f} s") from None
            except (OSError, http.client.HTTPException) as e:
                raise SwarmError(f"the connection to the SL node at {self.socket_path} broke during {method} {path}: {e}") from None
        finally:
            done.set()
            connection.close()
        if response.status >= 300:
            raise SwarmError(_describe(response.status, payload))
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def _log_wait(self, done: threading.Event, call: str) -> None:
        waited = 0.0
        while not done.wait(self._wait_log_interval):
            waited += self._wait_log_interval
            self._logger.info("Still waiting for the SL node to answer %s (%.0f s): it waits for its peers; its log says for what", call, waited)


def _describe(status: int, payload: bytes) -> str:
    try:
        body = json.loads(payload)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"]
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    text = payload[:300].decode("utf-8", "replace")
    return f"the SL node answered {status}: {text or 'no reason given'}"
