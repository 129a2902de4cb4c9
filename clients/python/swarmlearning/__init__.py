"""SwarmLearning's Python client: HPE's ``SwarmCallback`` for programs that train with a SwarmLearning SL node.

``swarmlearning.pyt.SwarmCallback`` is the PyTorch callback (it imports torch); this package itself needs only
NumPy. See docs/python.md.
"""

from .errors import SwarmError

__version__ = "0.1.0"
__all__ = ["SwarmError", "__version__"]
