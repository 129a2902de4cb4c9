"""The NumPy safetensors reader and writer, and interchange with the .NET side bit for bit."""

import hashlib
import json
import struct
import subprocess

import numpy as np
import pytest

from swarmlearning import SwarmError
from swarmlearning import safetensors_io as st


def model():
    rng = np.random.default_rng(7)
    return [
        st.tensor("fc1.weight", rng.standard_normal((3, 4), dtype=np.float32)),
        st.tensor("fc1.bias", np.array([0.5, -1.25, 3.0], dtype=np.float32)),
        st.tensor("half", np.array([1.5, -0.25], dtype=np.float16)),
        st.tensor("brain", np.array([1.0, -2.5, 3.140625], dtype=np.float32), "BF16"),
        st.tensor("scalar", np.array(2.0, dtype=np.float32)),
        st.tensor("empty", np.zeros((0, 2), dtype=np.float32)),
    ]


def test_round_trip_keeps_names_dtypes_shapes_and_bits():
    data = st.dumps(model(), {"format": "pt"})
    tensors, metadata = st.loads(data)
    assert metadata == {"format": "pt"}
    assert [(t.name, t.dtype, t.shape) for t in tensors] == [(t.name, t.dtype, t.shape) for t in model()]
    for written, read in zip(model(), tensors):
        assert written.values.tobytes() == read.values.tobytes()


def test_header_is_compact_padded_to_8_and_in_tensor_order():
    data = st.dumps(model(), {"format": "pt"})
    (length,) = struct.unpack_from("<Q", data)
    header = data[8 : 8 + length]
    assert length % 8 == 0
    assert header.rstrip(b" ").startswith(b'{"__metadata__":{"format":"pt"},"fc1.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}')
    assert list(json.loads(header)) == ["__metadata__", "fc1.weight", "fc1.bias", "half", "brain", "scalar", "empty"]


def test_bfloat16_rounds_to_nearest_even_like_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([1.0, 1.00390625, 1.01171875, -3.3, 65504.0, 1e-30], dtype=np.float32)
    ours = st.tensor("x", values, "BF16").values
    theirs = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert ours.tolist() == theirs.tolist()


def framed(header: bytes, data_bytes: int) -> bytes:
    return struct.pack("<Q", len(header)) + header + b"\0" * data_bytes


@pytest.mark.parametrize("problem, data", [
    ("too few", b"\x01\x00"),
    ("header length", struct.pack("<Q", 10**9) + b"{}"),
    ("not JSON", framed(b"{oops!!}", 0)),
    ("dtype I64 is not supported", framed(b'{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8)),
    ("do not match its shape", framed(b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8)),
    ("bytes after the last tensor", framed(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 12)),
    ("overlap or leave a gap", framed(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
])
def test_a_malformed_file_is_refused_with_what_is_wrong(problem, data):
    with pytest.raises(SwarmError, match=problem):
        st.loads(data, "the test file")


def test_non_finite_values_are_refused_before_they_leave():
    with pytest.raises(SwarmError, match="'bad' holds a NaN"):
        st.dumps([st.tensor("bad", np.array([1.0, np.nan], dtype=np.float32))])
    with pytest.raises(SwarmError, match="'bad16' holds a NaN"):
        st.dumps([st.tensor("bad16", np.array([np.inf], dtype=np.float32), "BF16")])


def test_a_file_written_by_python_is_read_by_dotnet_with_the_same_hash(swarm, tmp_path):
    path = tmp_path / "python.safetensors"
    st.save_file(str(path), model(), {"format": "pt"})
    inspected = json.loads(swarm("model", "inspect", str(path), "--json").stdout)
    assert inspected["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [t["name"] for t in inspected["tensors"]] == [t.name for t in model()]
    # The model hash is BLAKE3: `swarm model hash` prints what BLAKE3's reference implementation, b3sum, prints.
    b3sum = subprocess.run(["b3sum", str(path)], capture_output=True, text=True, check=True).stdout
    assert swarm("model", "hash", str(path)).stdout == b3sum
    assert inspected["modelHash"] == b3sum.split()[0]


def test_dotnet_writes_back_the_same_bytes_and_python_reads_them_bit_for_bit(swarm, tmp_path):
    source = tmp_path / "python.safetensors"
    st.save_file(str(source), model(), {"format": "pt"})
    merged = tmp_path / "dotnet.safetensors"
    # A mean of one model is that model: .NET reads every value, merges in float32 and writes its own file.
    swarm("merge", str(source), "--out", str(merged), "--quiet")
    tensors, _ = st.load_file(str(merged))
    for written, read in zip(model(), tensors):
        assert (written.name, written.dtype, written.shape) == (read.name, read.dtype, read.shape)
        assert written.values.tobytes() == read.values.tobytes()
    # The data section is identical byte for byte: both sides write the same canonical layout.
    python_bytes, dotnet_bytes = source.read_bytes(), merged.read_bytes()
    python_header = struct.unpack_from("<Q", python_bytes)[0]
    dotnet_header = struct.unpack_from("<Q", dotnet_bytes)[0]
    assert python_bytes[8 + python_header:] == dotnet_bytes[8 + dotnet_header:]
