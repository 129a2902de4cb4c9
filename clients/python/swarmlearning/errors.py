"""The one exception the package raises for swarm problems."""


class SwarmError(Exception):
    """A swarm parameter is wrong, the SL node refused a call, or it cannot be reached. The message says which and,
    for the SL node's refusals, carries the node's own message."""
