#!/usr/bin/python3
"""The PyTorch side of the training comparison: trains the same `mlp` or `cnn` as `./swarm train` on Fashion-MNIST,
on the CPU, and prints one JSON object in the shape of `./swarm train --json`.

The models are SwarmLearning's built-in architectures (src/SwarmLearning.Training/Models/Architectures.cs) rebuilt
layer for layer with the PyTorch names, so that state_dict keys match:

  mlp: Flatten -> fc1 Linear(784,256) -> ReLU -> Dropout(0.2) -> fc2 Linear(256,128) -> ReLU -> Dropout(0.2)
       -> fc3 Linear(128,10)
  cnn: conv1 Conv2d(1,32,3,padding=1) -> ReLU -> MaxPool2d(2) -> conv2 Conv2d(32,64,3,padding=1) -> ReLU
       -> MaxPool2d(2) -> Flatten -> fc1 Linear(3136,128) -> ReLU -> Dropout(0.3) -> fc2 Linear(128,10)

Training as the .NET trainer does it: Adam (lr 1e-3, PyTorch's defaults otherwise), batches of 64 (the last one of
an epoch smaller), softmax cross-entropy, a new shuffle every epoch, pixels / 255 as float32 (no normalisation),
NCHW 1x28x28. The IDX files are read with NumPy (no torchvision). Test metrics: mean loss, accuracy and macro-F1
(computed here with NumPy, as SwarmLearning's EvaluationResult does: classes that never occur and are never
predicted are left out of the average).

  /usr/bin/python3 benchmarks/compare/train_torch.py --model mlp --epochs 3
  /usr/bin/python3 benchmarks/compare/train_torch.py --model cnn --epochs 1 --threads 2 --out cnn.safetensors

Progress goes to stderr, the JSON to stdout. --out writes the trained weights as safetensors, with the `safetensors`
package if it is installed and with NumPy otherwise; the names and layouts are SwarmLearning's, so
`./swarm train --init FILE --epochs 0` evaluates a PyTorch-trained model in .NET.
"""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy as np
    import torch
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("train_torch.py needs PyTorch and NumPy: apt-get install -y python3-torch python3-numpy, "
             "then run it with /usr/bin/python3")

import argparse
import gzip
import json
import struct
import time

import torch.nn as nn
import torch.nn.functional as F

CLASSES = 10


# ----------------------------------------------------------------------------------------------------------------------
# Data


def read_idx(path):
    """An IDX file (optionally gzipped) as a NumPy array of its dtype and shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, dims = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[dtype_code]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * dims).reshape(shape)


def find_file(directory, stem):
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"no {stem}[.gz] in {directory}")


def load_split(directory, split, limit=None):
    """(images N x 1 x 28 x 28 float32 in [0, 1], labels N int64) of split 'train' or 't10k', the first `limit`."""
    images = read_idx(find_file(directory, f"{split}-images-idx3-ubyte"))
    labels = read_idx(find_file(directory, f"{split}-labels-idx1-ubyte"))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).reshape(len(images), 1, 28, 28).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# ----------------------------------------------------------------------------------------------------------------------
# Models


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, CLASSES)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, CLASSES)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


MODELS = {"mlp": Mlp, "cnn": Cnn}


# ----------------------------------------------------------------------------------------------------------------------
# Training and evaluation


def train_epoch(model, optimizer, x, y, batch_size, generator):
    """One epoch; returns (mean batch loss, samples, seconds of the training loop).

    This is a fair loop, not a handicapped one: the whole training set is already a tensor in memory, the shuffle is
    one randperm (drawn before the clock starts, as the .NET trainer shuffles before its stopwatch), and each batch is
    one index_select of 64 rows from it -- what a DataLoader with num_workers=0 delivers, without its per-sample
    __getitem__ calls, collation and Python overhead. Gradients are freed rather than zeroed (set_to_none), and the
    loss is read back once per batch, as the .NET trainer also does. The .NET trainer gathers its batch by index too.
    """
    model.train()
    n = len(x)
    order = torch.randperm(n, generator=generator)
    loss_sum, batches = 0.0, 0
    start = time.perf_counter()
    for first in range(0, n, batch_size):
        index = order[first:first + batch_size]
        inputs, targets = x.index_select(0, index), y.index_select(0, index)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item()
        batches += 1
    seconds = time.perf_counter() - start
    return (loss_sum / batches if batches else 0.0), n, seconds


def macro_f1(confusion):
    """Unweighted mean over classes of 2TP / (2TP + FP + FN), over the classes that occur or are predicted."""
    true_positive = np.diag(confusion).astype(np.float64)
    actual = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    present = (actual + predicted) > 0
    if not present.any():
        return 0.0
    return float(np.mean(2.0 * true_positive[present] / (actual + predicted)[present]))


@torch.no_grad()
def evaluate(model, x, y, batch_size=256):
    model.eval()
    loss_sum, predictions = 0.0, []
    for first in range(0, len(x), batch_size):
        logits = model(x[first:first + batch_size])
        loss_sum += F.cross_entropy(logits, y[first:first + batch_size], reduction="sum").item()
        predictions.append(logits.argmax(dim=1))
    predicted = torch.cat(predictions).numpy() if predictions else np.zeros(0, np.int64)
    labels = y.numpy()
    confusion = np.zeros((CLASSES, CLASSES), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    samples = len(labels)
    return {
        "loss": loss_sum / samples if samples else 0.0,
        "accuracy": float(np.trace(confusion) / samples) if samples else 0.0,
        "macroF1": macro_f1(confusion),
        "samples": samples,
    }


def save(model, path):
    """Writes the state_dict as safetensors (F32, PyTorch's names and layouts, which are SwarmLearning's too) with
    the safetensors package if it is installed, else with a few lines of NumPy (Debian 12 has no package for it).
    Returns the absolute path."""
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    try:
        from safetensors.torch import save_file
    except ImportError:
        save_file = save_numpy
    save_file(tensors, path, metadata={"format": "pt"})
    return os.path.abspath(path)


def save_numpy(tensors, path, metadata=None):
    """A minimal safetensors writer: 8-byte little-endian header length, JSON header padded with spaces to a
    multiple of 8, then the little-endian F32 data of each tensor in order."""
    header, arrays, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, tensor in tensors.items():
        array = np.ascontiguousarray(tensor.numpy(), dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for array in arrays:
            f.write(array.tobytes())


# ----------------------------------------------------------------------------------------------------------------------
# What PyTorch runs on


def blas_libraries():
    """The BLAS shared libraries this process has loaded (torch's build says BLAS_INFO=generic: it links libblas.so.3,
    which Debian points at reference BLAS or OpenBLAS with update-alternatives), resolved to their real files."""
    a = torch.ones(64, 64)
    torch.mm(a, a)  # make sure the BLAS is loaded
    found = set()
    try:
        for line in open("/proc/self/maps"):
            path = line.split()[-1] if "/" in line else ""
            if "blas" in os.path.basename(path).lower():
                found.add(os.path.realpath(path))
    except OSError:
        return ["unknown"]
    return sorted(found)


def openblas(libraries, threads=None):
    """OpenBLAS's kernel (core) name and thread count, setting the thread count first if `threads` is given: the
    pthread build has a thread pool of its own besides ATen's OpenMP one, sized from OPENBLAS_NUM_THREADS or the
    core count."""
    import ctypes
    for path in libraries:
        if "openblas" not in os.path.basename(path):
            continue
        try:
            library = ctypes.CDLL(path)
            if threads:
                library.openblas_set_num_threads(threads)
            library.openblas_get_corename.restype = ctypes.c_char_p
            return {"core": library.openblas_get_corename().decode(), "threads": library.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def sgemm_provider():
    """The file whose sgemm_ libtorch_cpu calls, as the dynamic linker resolves it from libtorch_cpu (its own
    dependency order), or None. Several BLAS libraries can be loaded at once (OpenBLAS comes in through LAPACK even
    when libblas.so.3 is the reference one), so which are loaded does not say which one runs the products."""
    import ctypes

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        path = next(line.split()[-1] for line in open("/proc/self/maps") if "libtorch_cpu.so" in line)
        address = ctypes.cast(ctypes.CDLL(path).sgemm_, ctypes.c_void_p).value
        info = DlInfo()
        if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(address), ctypes.byref(info)) or not info.dli_fname:
            return None
        return os.path.realpath(info.dli_fname.decode())
    except (OSError, AttributeError, StopIteration):
        return None


def blas_description(threads=None):
    libraries = blas_libraries()
    sgemm = sgemm_provider()
    deciding = [sgemm] if sgemm else libraries
    kind = ("OpenBLAS" if any("openblas" in p for p in deciding)
            else "reference BLAS (slow)" if any("/blas/" in p for p in deciding) else "unknown")
    build = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS_INFO" in line]
    info = build[0].split("BLAS_INFO=")[1].split(",")[0] if build else "?"
    return {"kind": kind, "sgemm": sgemm, "libraries": libraries, "torch_blas_info": info,
            "openblas": openblas(libraries, threads) if kind == "OpenBLAS" else None,
            "mkldnn": torch.backends.mkldnn.is_available(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "GOMP_"))}}


# ----------------------------------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="directory of the IDX files")
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N training samples only")
    parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test samples only")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch.set_num_threads and OpenBLAS's thread count (default 2)")
    parser.add_argument("--eval-each-epoch", action="store_true",
                        help="also evaluate on the test set after every epoch (not timed), as ./swarm train does")
    parser.add_argument("--out", default=None, help="save the trained model as safetensors")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    def log(text):
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    x, y = load_split(args.data, "train", args.limit)
    x_test, y_test = load_split(args.data, "t10k", args.test_limit)
    model = MODELS[args.model]()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    parameters = sum(p.numel() for p in model.parameters())
    blas = blas_description(args.threads)
    core = f", {blas['openblas']['core']} kernels, {blas['openblas']['threads']} thread(s)" if blas["openblas"] else ""
    log(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {blas['kind']}{core} "
        f"({', '.join(blas['libraries']) or 'none loaded'}); {args.model}, {parameters} parameters, "
        f"{len(x)} training samples")

    epochs = []
    for epoch in range(1, args.epochs + 1):
        loss, samples, seconds = train_epoch(model, optimizer, x, y, args.batch_size, generator)
        line = {"epoch": epoch, "loss": loss, "samples": samples, "seconds": seconds,
                "samplesPerSecond": samples / max(seconds, 1e-9)}
        text = f"epoch {epoch}/{args.epochs}: loss {loss:.4f}, {seconds:.2f} s, {samples / max(seconds, 1e-9):,.0f} samples/s"
        if args.eval_each_epoch:  # after the clock stopped, as ./swarm train does
            test = evaluate(model, x_test, y_test)
            line.update(testLoss=test["loss"], testAccuracy=test["accuracy"])
            text += f", test loss {test['loss']:.4f}, accuracy {test['accuracy'] * 100:.2f} %"
        epochs.append(line)
        log(text)
    test = evaluate(model, x_test, y_test)
    log(f"test: loss {test['loss']:.4f}, accuracy {test['accuracy']:.4f}, macro-F1 {test['macroF1']:.4f}")
    out = save(model, args.out) if args.out else None

    print(json.dumps({
        "model": args.model, "epochs": epochs, "test": test, "parameters": parameters, "out": out,
        "framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "batchSize": args.batch_size, "lr": args.lr, "seed": args.seed, "blas": blas,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
