"""Synthetic swarm models and a minimal safetensors writer and reader over NumPy (F32, little-endian): enough for
merge_compare.py without the safetensors package."""

import gc
import json
import os
import struct

import numpy as np


def layout(parameters):
    """Three weight matrices of 40 %, 30 % and 20 % with their biases, and a head holding the rest (as the C# side)."""
    width, used, layers = 1024, 0, []
    for k, fraction in enumerate((0.4, 0.3, 0.2)):
        rows = int(parameters * fraction) // width
        layers += [(f"layer{k}.weight", (rows, width)), (f"layer{k}.bias", (width,))]
        used += (rows + 1) * width
    layers.append(("head.weight", (parameters - used,)))
    return layers


def safetensors_header(tensors):
    header, offset = {}, 0
    for name, shape in tensors:
        size = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return encoded + b" " * (-len(encoded) % 8)


def generate_models(directory, count, parameters, seed):
    """Writes node00.safetensors ... : base + per-node noise whose scale differs a little between nodes.
    Returns the nodes' sample counts (the weights of mean and geomedian)."""
    rng = np.random.default_rng(seed)
    tensors = layout(parameters)
    bases = [rng.standard_normal(shape, dtype=np.float32) * np.float32(0.05) for _, shape in tensors]
    header = safetensors_header(tensors)
    for node in range(count):
        scale = np.float32(0.005 * (0.5 + rng.random()))
        with open(os.path.join(directory, f"node{node:02d}.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
            for base in bases:
                values = rng.standard_normal(base.shape, dtype=np.float32)
                values *= scale
                values += base
                f.write(values.data)
                del values
    del bases
    gc.collect()
    return [int(x) for x in rng.integers(500, 5000, size=count)]


def read_safetensors(path):
    """The tensors of a little-endian F32 safetensors file, in file order, as [(name, array)]."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    start = 8 + length
    tensors = []
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}; this reader handles F32 only")
        begin, end = entry["data_offsets"]
        values = np.fromfile(path, dtype="<f4", count=(end - begin) // 4, offset=start + begin)
        tensors.append((name, values.reshape(entry["shape"])))
    return tensors
