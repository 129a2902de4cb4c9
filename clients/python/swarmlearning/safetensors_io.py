"""Safetensors with NumPy only: the layout the SL node itself writes.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and
byte range, then the raw little-endian values. This module reads and writes the three float dtypes a swarm merges
(F32, F16, BF16) and writes the node's *canonical* layout: compact JSON, ``__metadata__`` first, tensors in the
given order, padded with spaces to a multiple of 8. The node recognises that layout and then publishes the model
under the hash of the very bytes it received, without a second pass over them (see docs/python.md).

NumPy has no bfloat16: BF16 values are read as float32 (exactly: every bfloat16 is a float32) or kept as raw 16-bit
patterns (:class:`Tensor` with ``dtype == "BF16"``) when the caller wants to keep the storage type.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from .errors import SwarmError

#: The dtypes a swarm merges, with their NumPy storage types (BF16 is stored as its 16-bit pattern).
DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2")}

#: The reference implementation's limit on the header's size.
MAX_HEADER_BYTES = 100_000_000


@dataclass(frozen=True)
class Tensor:
    """One named tensor as stored: its safetensors dtype, its shape and its values in their storage type.

    ``values`` is a NumPy array of ``DTYPES[dtype]`` (for BF16: the uint16 bit patterns).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    values: np.ndarray

    def to_float32(self) -> np.ndarray:
        """The values as float32, in the tensor's shape (exact for all three dtypes)."""
        if self.dtype == "BF16":
            return (self.values.astype("<u4") << 16).view("<f4").reshape(self.shape)
        return self.values.astype("<f4", copy=False).reshape(self.shape)


def tensor(name: str, array: np.ndarray, dtype: str | None = None) -> Tensor:
    """A :class:`Tensor` from a NumPy array: float32 and float16 keep their type; ``dtype="BF16"`` rounds float32
    values to bfloat16 (round to nearest, ties to even, as PyTorch does); float64 must be converted by the caller."""
    array = np.asarray(array)
    if dtype is None:
        dtype = {np.dtype("float32"): "F32", np.dtype("float16"): "F16"}.get(array.dtype)
        if dtype is None:
            raise SwarmError(f"tensor '{name}': dtype {array.dtype} cannot be stored; a swarm merges float32, float16 and bfloat16")
    if dtype == "BF16" and array.dtype != np.dtype("<u2"):
        bits = np.ascontiguousarray(array, dtype="<f4").view("<u4")
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return Tensor(name, "BF16", tuple(array.shape), rounded.astype("<u2"))
    if dtype not in DTYPES:
        raise SwarmError(f"tensor '{name}': dtype {dtype} is not one of {', '.join(DTYPES)}")
    return Tensor(name, dtype, tuple(array.shape), np.ascontiguousarray(array, dtype=DTYPES[dtype]))


def header(tensors: Iterable[Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """The JSON header (padded with spaces to a multiple of 8 bytes) the SL node writes for these tensors."""
    document: dict[str, object] = {}
    if metadata:
        document["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for t in tensors:
        if t.name == "__metadata__" or t.name in document:
            raise SwarmError(f"tensor name '{t.name}' is reserved or appears twice")
        size = t.values.size * DTYPES[t.dtype].itemsize
        document[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return text + b" " * (-len(text) % 8)


def dumps(tensors: Iterable[Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """The whole safetensors encoding of ``tensors``, in the SL node's canonical layout."""
    tensors = list(tensors)
    for t in tensors:
        if t.dtype != "BF16" and not np.isfinite(t.values).all():
            raise SwarmError(f"tensor '{t.name}' holds a NaN or an infinity; a swarm only merges finite values")
        if t.dtype == "BF16" and ((t.values & 0x7F80) == 0x7F80).any():
            raise SwarmError(f"tensor '{t.name}' holds a NaN or an infinity; a swarm only merges finite values")
    head = header(tensors, metadata)
    parts = [struct.pack("<Q", len(head)), head]
    parts.extend(np.ascontiguousarray(t.values).reshape(-1).view(np.uint8) for t in tensors)
    return b"".join(parts)


def save_file(path: str, tensors: Iterable[Tensor], metadata: Mapping[str, str] | None = None) -> None:
    """Writes ``tensors`` to ``path`` (whole, then renamed into place)."""
    import os

    data = dumps(tensors, metadata)
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, path)


def loads(data: bytes | bytearray | memoryview, name: str = "the model") -> tuple[list[Tensor], dict[str, str]]:
    """Parses a safetensors encoding; checks the header as strictly as the SL node does and raises
    :class:`SwarmError` naming ``name`` and the tensor at fault."""
    view = memoryview(data).cast("B")
    if len(view) < 8:
        raise SwarmError(f"{name}: {len(view)} bytes are too few for a safetensors file")
    (length,) = struct.unpack_from("<Q", view, 0)
    if length > MAX_HEADER_BYTES or length > len(view) - 8 or length < 2:
        raise SwarmError(f"{name}: the header length {length} does not fit the file ({len(view)} bytes)")
    try:
        document = json.loads(bytes(view[8 : 8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SwarmError(f"{name}: the header is not JSON: {e}") from None
    if not isinstance(document, dict):
        raise SwarmError(f"{name}: the header is not a JSON object")
    metadata = document.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SwarmError(f"{name}: __metadata__ must map strings to strings")
    data_start = 8 + length
    data_size = len(view) - data_start
    entries = []
    for tensor_name, entry in document.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise SwarmError(f"{name}: tensor '{tensor_name}': an entry has exactly dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise SwarmError(f"{name}: tensor '{tensor_name}': dtype {dtype} is not supported (F32, F16, BF16)")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SwarmError(f"{name}: tensor '{tensor_name}': the shape must be a list of non-negative integers")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets):
            raise SwarmError(f"{name}: tensor '{tensor_name}': data_offsets must be two integers")
        begin, end = offsets
        if not 0 <= begin <= end <= data_size or end - begin != math.prod(shape) * DTYPES[dtype].itemsize:
            raise SwarmError(f"{name}: tensor '{tensor_name}': data_offsets {offsets} do not match its shape {shape} and dtype {dtype} within {data_size} data bytes")
        entries.append((begin, end, tensor_name, dtype, tuple(shape)))
    entries.sort()
    position = 0
    tensors = []
    for begin, end, tensor_name, dtype, shape in entries:
        if begin != position:
            raise SwarmError(f"{name}: tensor '{tensor_name}' starts at byte {begin} of the data, not {position}: tensors overlap or leave a gap")
        values = np.frombuffer(view, dtype=DTYPES[dtype], count=math.prod(shape), offset=data_start + begin)
        tensors.append(Tensor(tensor_name, dtype, shape, values))
        position = end
    if position != data_size:
        raise SwarmError(f"{name}: {data_size - position} bytes after the last tensor")
    return tensors, dict(metadata)


def load_file(path: str) -> tuple[list[Tensor], dict[str, str]]:
    """Reads a safetensors file; see :func:`loads`."""
    with open(path, "rb") as f:
        return loads(f.read(), path)
