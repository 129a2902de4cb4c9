#!/usr/bin/python3
"""Side-by-side merge benchmark: SwarmLearning's merge engine, NumPy merging the way Flower's server does, and the
machine's memory bandwidth (a STREAM-style triad), on the same inputs in one run.

For every (models, parameters) configuration that fits in memory it generates seeded float32 models as safetensors
files (a common base plus small per-node noise, split into a few layers), runs the .NET harness
(`SwarmLearning.Benchmarks compare`) on them, loads the same files into NumPy with its own minimal safetensors
reader, and times only the merge on each side. It prints a Markdown table and the targets with PASS/MISS, and writes
both (plus all raw numbers as JSON) to --out.

"GB/s of input merged" counts only the input bytes read, n x P x 4, so it compares directly with the triad, which
counts 24 bytes per element as STREAM does.

Run it with Debian's /usr/bin/python3 and python3-numpy (benchmarks/compare/run.sh installs what is missing, builds
the harness and runs this script); under another interpreter without NumPy it re-executes itself with
/usr/bin/python3.
"""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy as np
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("merge_compare.py needs NumPy: apt-get install -y python3-numpy, then run it with /usr/bin/python3")

import argparse
import gc
import glob
import json
import platform
import shutil
import subprocess
import tempfile
import time

from flower_numpy import FLAT, FLOWER, STACKED
from report import format_bytes, format_count, report
from safetensors_np import generate_models, read_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROJECT = os.path.join(ROOT, "benchmarks", "SwarmLearning.Benchmarks")
ALL_METHODS = ["mean", "coordmedian", "geomedian", "trimmedmean", "krum"]
# Flower's FedAvg and our geomedian use the clients' sample counts; Flower's median, trimmed mean and Krum ignore them.
WEIGHTED_METHODS = {"mean", "geomedian"}
GIB = 1 << 30
# NumPy's peak working set over the input size, measured: Flower's Krum builds a list of flattened models and then
# np.array() copies it, so inputs, list and matrix are alive at once.
NUMPY_MEMORY_FACTOR = 3.0


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def parse_count(text):
    """'1M' -> 1_000_000, '256K' -> 256_000, '25M', '100M', or a plain integer (decimal units, like GB/s)."""
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    number = float(text[:-1]) if scale != 1 else float(text)
    return int(number * scale)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="2,8,32", help="comma-separated model counts (default 2,8,32)")
    parser.add_argument("--params", default="1M,25M,100M", help="comma-separated parameters per model (default 1M,25M,100M)")
    parser.add_argument("--methods", default=",".join(ALL_METHODS), help="comma-separated methods (default all)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per side, at least (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per side first (default 1)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="repeat until the timed runs add up to this (default 1)")
    parser.add_argument("--warmup-seconds", type=float, default=3.0,
                        help="ours: keep warming up at least this long, so the JIT and the GC reach steady state (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2,8 models of 256K,1M params, 3 repetitions")
    parser.add_argument("--trim", type=float, default=0.2, help="trimmedmean fraction per side, both sides (default 0.2, Flower's)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--memory-budget-gib", type=float, default=None,
                        help="largest working set allowed per side (default min(18, 75 %% of RAM))")
    parser.add_argument("--no-prestacked", action="store_true",
                        help="skip the second NumPy timing on already stacked arrays (halves NumPy's time)")
    parser.add_argument("--no-numpy-geomedian", action="store_true", help="skip the plain NumPy Weiszfeld reference")
    parser.add_argument("--no-check", action="store_true", help="do not compare the two sides' results")
    parser.add_argument("--harness", default=None, help="command that runs the .NET harness (default: dotnet <built dll>)")
    parser.add_argument("--triad-mib", type=int, default=256, help="MiB per triad array (default 256)")
    parser.add_argument("--bandwidth", type=float, default=None, help="use this GB/s instead of running the triad")
    parser.add_argument("--workdir", default=None, help="where to generate input files (default a temp dir)")
    parser.add_argument("--keep-data", action="store_true", help="keep generated files")
    parser.add_argument("--out", default=os.path.join(HERE, "out"), help="where to write results (default benchmarks/compare/out)")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.params = "2,8", "256K,1M"
        args.repeat, args.min_seconds = min(args.repeat, 3), min(args.min_seconds, 0.2)
        args.warmup_seconds = min(args.warmup_seconds, 0.5)
    args.model_counts = [int(x) for x in args.models.split(",") if x.strip()]
    args.param_counts = [parse_count(x) for x in args.params.split(",") if x.strip()]
    args.method_list = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.method_list if m not in ALL_METHODS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; use {', '.join(ALL_METHODS)}")
    if any(n < 2 for n in args.model_counts):
        parser.error("--models: merge at least 2 models")
    if any(p < 16384 for p in args.param_counts):
        parser.error("--params: at least 16K parameters per model")
    return args


# ----------------------------------------------------------------------------------------------------------------------
# The machine


def run_text(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def last_level_cache_bytes():
    best = 0
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        text = open(path).read().strip().upper()
        scale = {"K": 1024, "M": 1024**2}.get(text[-1:], 1)
        best = max(best, int(text.rstrip("KM")) * scale)
    return best


def numpy_blas():
    """The BLAS library NumPy actually loaded (Debian switches it with update-alternatives)."""
    np.dot(np.ones(64, np.float32), np.ones(64, np.float32))
    try:
        libraries = {line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(libraries)) or "none loaded"


def machine_info():
    lscpu = run_text(["lscpu"])
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    return {
        "cpu": fields.get("Model name", platform.processor()).strip(),
        "cores": os.cpu_count(),
        "threads_per_core": fields.get("Thread(s) per core", "?").strip(),
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "last_level_cache_bytes": last_level_cache_bytes(),
        "kernel": platform.release(),
        "os": run_text(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "dotnet_sdk": run_text(["dotnet", "--version"]),
        "python": platform.python_version() + " (" + sys.executable + ")",
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "gcc": run_text(["gcc", "-dumpfullversion"]),
        "load_average_start": open("/proc/loadavg").read().split()[:3],
        "cpu_start": cpu_snapshot(),
    }


def cpu_snapshot():
    """Busy CPU seconds of the whole machine, and CPU seconds of this script and its finished children."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user nice system idle iowait irq softirq steal
    times = os.times()
    return {"busy": busy, "ours": times.user + times.system + times.children_user + times.children_system,
            "wall": time.time()}


def other_load(start, end):
    """Cores kept busy on average by other processes (everything but this script and its children) during the run."""
    wall = end["wall"] - start["wall"]
    return max(0.0, (end["busy"] - start["busy"]) - (end["ours"] - start["ours"])) / wall if wall > 0 else 0.0


def print_machine(info):
    print("Machine")
    print(f"  CPU        {info['cpu']}, {info['cores']} cores ({info['threads_per_core']} thread(s) per core), "
          f"last-level cache {format_bytes(info['last_level_cache_bytes'])}")
    print(f"  memory     {info['memory_gib']} GiB")
    print(f"  kernel     {info['kernel']} ({info['os']})")
    print(f"  .NET       SDK {info['dotnet_sdk']}")
    print(f"  NumPy      {info['numpy']} on Python {info['python']}, BLAS {info['numpy_blas']}")
    print(f"  load avg   {' '.join(info['load_average_start'])} (1/5/15 min) at start")
    sys.stdout.flush()


def memory_bandwidth(args, workdir):
    """Best triad GB/s over all cores and over one core: the larger is the machine's bandwidth (the stricter bar)."""
    if args.bandwidth:
        return {"triad_gbps": args.bandwidth, "source": "--bandwidth"}
    binary = os.path.join(workdir, "triad")
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", os.path.join(HERE, "triad.c"), "-o", binary], check=True)
    runs = {}
    for threads in sorted({os.cpu_count() or 1, 1}, reverse=True):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="true")
        output = subprocess.run([binary, str(args.triad_mib), "10"], capture_output=True, text=True, check=True, env=env)
        runs[threads] = json.loads(output.stdout)
    best = max(runs.values(), key=lambda r: r["triad_gbps"])
    return {"triad_gbps": best["triad_gbps"], "runs": {str(k): v for k, v in runs.items()}, "array_mib": args.triad_mib}


def time_runs(function, args):
    """Warms up, then times `function()` at least --repeat times and until --min-seconds; returns (seconds, last)."""
    for _ in range(args.warmup):
        function()
    seconds, result = [], None
    while len(seconds) < args.repeat or (sum(seconds) < args.min_seconds and len(seconds) < 1000):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def summary(seconds, input_bytes):
    ordered = sorted(seconds)
    middle = len(ordered) // 2
    best = ordered[0]
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"repetitions": len(seconds), "best_s": best, "median_s": median, "gbps": input_bytes / best / 1e9}


def as_flat(layers):
    return np.concatenate([np.asarray(layer, dtype=np.float32).ravel() for layer in layers])


def relative_difference(ours, theirs):
    scale = float(np.max(np.abs(theirs))) or 1.0
    return float(np.max(np.abs(ours - theirs))) / scale


# ----------------------------------------------------------------------------------------------------------------------
# One configuration


def harness_command(args):
    if args.harness:
        return args.harness.split()
    built = sorted(glob.glob(os.path.join(PROJECT, "bin", "Release", "net*", "SwarmLearning.Benchmarks.dll")))
    if not built:
        sys.exit(f"the harness is not built: run benchmarks/compare/run.sh, or dotnet build -c Release {PROJECT}")
    return ["dotnet", built[-1]]


def run_ours(args, directory, methods, weights, output):
    command = harness_command(args) + [
        "compare", "--dir", directory, "--methods", ",".join(methods),
        "--weights", ",".join(str(w) for w in weights),
        "--unweighted", ",".join(m for m in ALL_METHODS if m not in WEIGHTED_METHODS),
        "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--min-seconds", str(args.min_seconds),
        "--warmup-seconds", str(args.warmup_seconds),
        "--trim", str(args.trim),
    ]
    if output:
        command += ["--output", output]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"harness failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout.strip()}")
    return {row["method"]: row for row in (json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{"))}


def run_numpy(args, directory, methods, weights, n, ours_dir):
    """Times every NumPy method on the same files: first Flower's way from per-client layer lists, then (unless
    --no-prestacked) the same operation on arrays stacked beforehand, so the stacking Flower does is visible."""
    files = sorted(glob.glob(os.path.join(directory, "*.safetensors")))
    loaded = [read_safetensors(path) for path in files]
    names = [name for name, _ in loaded[0]]
    models = [[values for _, values in model] for model in loaded]
    del loaded
    input_bytes = sum(layer.nbytes for model in models for layer in model)
    w = np.asarray(weights, dtype=np.float32)
    equal = np.ones(n, dtype=np.float32)
    parameters = {"trim": args.trim, "byzantine": max(0, (n - 3) // 2)}
    results = {}

    def check(method, layers):
        if args.no_check or ours_dir is None:
            return None
        path = os.path.join(ours_dir, f"{method}.safetensors")
        if not os.path.exists(path):
            return None
        ours = dict(read_safetensors(path))
        return relative_difference(as_flat([ours[name] for name in names]), as_flat(layers))

    for method in [m for m in methods if m in FLOWER]:
        weighting = w if method in WEIGHTED_METHODS else equal
        seconds, result = time_runs(lambda: FLOWER[method](models, weights=weighting, **parameters), args)
        results[method] = {"flower": summary(seconds, input_bytes), "difference": check(method, result)}
        del result

    wants_flat = ("krum" in methods and not args.no_prestacked) or ("geomedian" in methods and not args.no_numpy_geomedian)
    if args.no_prestacked and not wants_flat:
        return results, input_bytes

    # Stack layer by layer, dropping the per-client arrays as we go, so memory stays near one copy of the inputs.
    stacks = []
    for index in range(len(names)):
        stacks.append(np.stack([model[index] for model in models]))
        for model in models:
            model[index] = None
    del models
    if not args.no_prestacked:
        for method in [m for m in methods if m in STACKED]:
            weighting = w if method in WEIGHTED_METHODS else equal
            seconds, _ = time_runs(lambda: STACKED[method](stacks, weights=weighting, **parameters), args)
            results.setdefault(method, {})["stacked"] = summary(seconds, input_bytes)

    if wants_flat:
        flat = np.empty((n, sum(s[0].size for s in stacks)), dtype=np.float32)
        offset = 0
        for index in range(len(stacks)):
            size = stacks[index][0].size
            flat[:, offset:offset + size] = stacks[index].reshape(n, size)
            offset += size
            stacks[index] = None
        del stacks
        for method in [m for m in methods if m in FLAT]:
            if method == "krum" and args.no_prestacked or method == "geomedian" and args.no_numpy_geomedian:
                continue
            weighting = w if method in WEIGHTED_METHODS else equal
            seconds, result = time_runs(lambda: FLAT[method](flat, weights=weighting, **parameters), args)
            entry = results.setdefault(method, {})
            entry["stacked"] = summary(seconds, input_bytes)
            if method == "geomedian":
                reference_y, iterations = result
                entry["iterations"] = iterations
                entry["difference"] = check(method, [reference_y])
            del result
        del flat
    gc.collect()
    return results, input_bytes


def run_configuration(args, workdir, n, parameters, budget, log):
    """Generates the inputs, runs both sides, returns one row per method."""
    input_bytes = n * parameters * 4
    methods = [m for m in args.method_list if m != "krum" or n >= 3]
    rows = {m: {"method": m, "models": n, "params": parameters, "input_bytes": input_bytes} for m in args.method_list}
    if "krum" in args.method_list and n < 3:
        rows["krum"]["note"] = "krum needs at least 3 models"
    ours_fits = input_bytes + 2 * parameters * 4 + GIB // 4 <= budget
    numpy_fits = input_bytes * NUMPY_MEMORY_FACTOR <= budget
    if not ours_fits:
        for m in methods:
            rows[m]["ours_skipped"] = "memory"
    if not numpy_fits:
        for m in methods:
            rows[m]["numpy_skipped"] = "memory"
    if not methods or not (ours_fits or numpy_fits):
        return list(rows.values())
    free = shutil.disk_usage(workdir).free
    if free < input_bytes * 1.1 + len(methods) * parameters * 4:
        for m in methods:
            rows[m]["ours_skipped"] = rows[m]["numpy_skipped"] = "disk"
        return list(rows.values())

    directory = os.path.join(workdir, f"n{n}-p{parameters}")
    ours_dir = os.path.join(directory, "ours")
    os.makedirs(directory)
    started = time.time()
    weights = generate_models(directory, n, parameters, args.seed + n)
    log(f"  generated {n} x {format_count(parameters)} ({format_bytes(input_bytes)}) in {time.time() - started:.1f} s")
    try:
        if ours_fits:
            started = time.time()
            try:
                ours = run_ours(args, directory, methods, weights, None if args.no_check else ours_dir)
            except RuntimeError as error:
                ours = {}
                for m in methods:
                    rows[m]["ours_error"] = str(error)
                log(f"  ours FAILED: {error}")
            for m, row in ours.items():
                rows[m]["ours"] = row
            log(f"  ours done in {time.time() - started:.1f} s")
        if numpy_fits:
            started = time.time()
            results, _ = run_numpy(args, directory, methods, weights, n, None if args.no_check else ours_dir)
            for m, entry in results.items():
                rows[m]["numpy"] = entry
            log(f"  numpy done in {time.time() - started:.1f} s")
    finally:
        if not args.keep_data:
            shutil.rmtree(directory, ignore_errors=True)
    return list(rows.values())


def main(argv):
    args = parse_args(argv)
    started = time.time()
    info = machine_info()
    print_machine(info)
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    total = int(meminfo["MemTotal"].split()[0]) * 1024
    budget = (args.memory_budget_gib * GIB) if args.memory_budget_gib else min(18 * GIB, 0.75 * total)
    workdir = args.workdir or tempfile.mkdtemp(prefix="swarm-compare-")
    os.makedirs(workdir, exist_ok=True)
    try:
        bandwidth = memory_bandwidth(args, workdir)
        print(f"Memory bandwidth (triad): {bandwidth['triad_gbps']:.1f} GB/s; memory budget per side {budget / GIB:.1f} GiB")
        rows = []
        for parameters in args.param_counts:
            for n in args.model_counts:
                print(f"[{n} models x {format_count(parameters)} params]", flush=True)
                rows += run_configuration(args, workdir, n, parameters, budget, lambda text: print(text, flush=True))
        if not args.bandwidth:
            # Measure again at the end and keep the best, so a busy moment at the start does not flatter the ratios.
            again = memory_bandwidth(args, workdir)
            if again["triad_gbps"] > bandwidth["triad_gbps"]:
                bandwidth = again
        info["other_cores_busy"] = other_load(info["cpu_start"], cpu_snapshot())
        report(args, info, bandwidth, rows, started)
    finally:
        if not args.workdir and not args.keep_data:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
