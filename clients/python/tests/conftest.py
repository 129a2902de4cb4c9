import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from swarmlearning.local import swarm_command  # noqa: E402


@pytest.fixture(scope="session")
def swarm():
    """Runs the swarm CLI (built on first use by ./swarm); returns a function(args) -> CompletedProcess."""
    command = swarm_command()

    def run(*args, check=True):
        result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"swarm {' '.join(args)} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result

    return run


@pytest.fixture(autouse=True)
def no_swarm_environment(monkeypatch):
    """A test sees no SL node or loopback setting from the environment it runs in, unless it sets one."""
    monkeypatch.delenv("SWARM_SL_SOCKET", raising=False)
    monkeypatch.delenv("SWARM_LOOPBACK", raising=False)
