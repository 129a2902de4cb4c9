"""A local swarm for examples and tests: a sentinel SN and N SL nodes as ``swarm`` processes on loopback, with
freshly made certificates. It starts what a real deployment runs on separate hosts, so a program trained against it
behaves as it would on a real swarm.

    with LocalSwarm(nodes=3, directory="/tmp/swarm") as swarm:
        env = swarm.environment(0)       # SWARM_SL_SOCKET of node 1, for its ML program
        ...
        swarm.final_model_path(0)        # <sl-dir>/models/final.safetensors once training ended

The ``swarm`` command is ``$SWARM_CLI``, else the ``swarm`` script of the source tree this package sits in, else
``swarm`` on the PATH.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from .channel import ChannelClient
from .errors import SwarmError

START_TIMEOUT = 120.0


def swarm_command() -> list[str]:
    """How to run the ``swarm`` CLI."""
    if os.environ.get("SWARM_CLI"):
        return [os.environ["SWARM_CLI"]]
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "swarm"
        if candidate.is_file() and (parent / "SwarmLearning.slnx").is_file():
            return [str(candidate)]
    found = shutil.which("swarm")
    if found:
        return [found]
    raise SwarmError("the swarm command was not found: set SWARM_CLI to the path of SwarmLearning's ./swarm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSwarm:
    """Starts a sentinel SN and ``nodes`` SL nodes under ``directory``; stops them on exit (SIGTERM, then SIGKILL)."""

    def __init__(self, nodes: int, directory: str, logger=None):
        if nodes < 1:
            raise SwarmError(f"a local swarm needs at least one SL node, not {nodes}")
        self.nodes = nodes
        self.directory = Path(directory).resolve()
        self.certs = self.directory / "certs"
        self.api_port = free_port()
        self._processes: list[tuple[str, subprocess.Popen, Path]] = []
        self._logger = logger

    # ----- the nodes -----

    def names(self) -> list[str]:
        return [f"sl{k + 1}" for k in range(self.nodes)]

    def socket_path(self, k: int) -> str:
        return str(self.directory / self.names()[k] / "ml.sock")

    def node_directory(self, k: int) -> Path:
        return self.directory / self.names()[k]

    def final_model_path(self, k: int) -> Path:
        return self.node_directory(k) / "models" / "final.safetensors"

    def environment(self, k: int) -> dict[str, str]:
        """The environment of node k's ML program: the current one plus SWARM_SL_SOCKET."""
        return {**os.environ, "SWARM_SL_SOCKET": self.socket_path(k)}

    def log_tail(self, name: str, lines: int = 30) -> str:
        for n, _, log in self._processes:
            if n == name and log.exists():
                return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # ----- lifetime -----

    def __enter__(self) -> "LocalSwarm":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._run(["certs", "init", "--dir", str(self.certs), "--name", "local"])
        self._run(["certs", "issue", "--dir", str(self.certs), "--role", "sn", "--name", "sn0"])
        for name in self.names():
            self._run(["certs", "issue", "--dir", str(self.certs), "--role", "sl", "--name", name])
        self._start("sn0", ["sn", "--name", "sn0", "--sentinel", "--certs", str(self.certs), "--dir", str(self.directory / "sn0"),
                            "--swarm-name", "local", "--enrol", str(self.certs), "--api-port", str(self.api_port), "--peer-port", str(free_port())])
        for k, name in enumerate(self.names()):
            self._start(name, ["sl", "--name", name, "--sn", f"localhost:{self.api_port}", "--certs", str(self.certs),
                               "--dir", str(self.node_directory(k)), "--file-port", str(free_port()), "--socket", self.socket_path(k)])
        self._wait_ready()

    def stop(self) -> None:
        for _, process, _ in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process, _ in self._processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()

    # ----- helpers -----

    def _run(self, arguments: list[str]) -> None:
        result = subprocess.run([*swarm_command(), *arguments], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise SwarmError(f"swarm {' '.join(arguments[:2])} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")

    def _start(self, name: str, arguments: list[str]) -> None:
        log = self.directory / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([*swarm_command(), *arguments], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self._processes.append((name, process, log))

    def _wait_ready(self) -> None:
        """Until every SL node answers on its socket and is registered on the ledger (its info names its SN)."""
        import logging

        logger = self._logger or logging.getLogger("LocalSwarm")
        deadline = time.monotonic() + START_TIMEOUT
        pending = set(range(self.nodes))
        last_log = time.monotonic()
        while pending:
            for name, process, _ in self._processes:
                if process.poll() is not None:
                    raise SwarmError(f"{name} exited with {process.returncode} while the local swarm started:\n{self.log_tail(name)}")
            for k in sorted(pending):
                if os.path.exists(self.socket_path(k)):
                    try:
                        ChannelClient(self.socket_path(k), logger, request_timeout=5).info()
                        pending.discard(k)
                    except SwarmError:
                        pass
            if not pending:
                break
            if time.monotonic() > deadline:
                raise SwarmError(f"the SL nodes {', '.join(self.names()[k] for k in sorted(pending))} did not open their sockets within {START_TIMEOUT:.0f} s")
            if time.monotonic() - last_log > 10:
                logger.info("waiting for %d of %d SL nodes to open their sockets", len(pending), self.nodes)
                last_log = time.monotonic()
            time.sleep(0.2)
