#!/usr/bin/python3
"""Side-by-side training benchmark: `./swarm train` against PyTorch (train_torch.py) on the same machine, model,
data, batch size, learning rate, epochs and core count, in one run.

For each model it runs the .NET side, then the PyTorch side, each in its own process, and reads the JSON each prints
(the shape of `./swarm train --json`). Throughput is samples per second over the training loop only (data already
in memory on both sides). It prints a Markdown table with the steady-state samples/s of each side, their ratio,
and the test accuracy and macro-F1 of each, and the issue's target (.NET >= 0.5x PyTorch samples/s for the MLP) with
PASS/MISS; it writes the table to --out/train-compare.md and every number to --out/train-compare.json.

Steady state is the mean of the per-epoch samples/s over the epochs after the first (the first carries the JIT, the
allocator and the thread pools warming up); with one epoch only, it is that epoch, marked as such.

Run it with Debian's /usr/bin/python3 (benchmarks/compare/train_compare.sh checks and installs what is missing,
reports the BLAS, and runs this script); under another interpreter without NumPy it re-executes itself with
/usr/bin/python3.
"""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy  # noqa: F401  (merge_compare's helpers need it)
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("train_compare.py needs NumPy: apt-get install -y python3-numpy, then run it with /usr/bin/python3")

import argparse
import json
import platform
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

from merge_compare import cpu_snapshot, other_load, run_text

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TORCH_SCRIPT = os.path.join(HERE, "train_torch.py")

# The target: (model, minimum .NET/PyTorch ratio of steady-state samples/s, description).
TARGETS = [("mlp", 0.5, "mlp: .NET >= 0.5x PyTorch samples/s")]

# PyTorch's configurations: (environment changes on top of the thread counts, None removing a variable; threads,
# None meaning --threads). Measured on a 2-core AVX-512 VM, MLP, batch 64, 60000 samples:
# - On 2 cores, ATen's OpenMP workers spin-wait (libgomp's default) while OpenBLAS's own pthreads run each GEMM, and
#   the two pools fight over the cores: OMP_WAIT_POLICY=PASSIVE makes the MLP ~3x faster on a quiet machine (about
#   20,000 -> 60,000 samples/s) and 10-50x faster when another process keeps a core busy.
# - OPENBLAS_CORETYPE (set to Haswell in some environments) pins OpenBLAS to AVX2 kernels; without it OpenBLAS 0.3.21
#   picks its AVX-512 ones (Cooperlake) on this CPU: a few percent either way, within the noise.
# - With batches of 64 the MLP is bound by per-operator overhead, not arithmetic: one thread (~72,000 samples/s) beats
#   two (~60,000). 'tuned-1t' uses one thread, and still has the same cores available as everything else.
TORCH_CONFIGS = {
    "default": ({}, None),
    "tuned": ({"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_CORETYPE": None}, None),
    "tuned-1t": ({"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_CORETYPE": None}, 1),
}


def torch_threads(args, config):
    return TORCH_CONFIGS[config][1] or args.threads


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def parse_runs(text):
    """'mlp:3,cnn:1' -> [('mlp', 3), ('cnn', 1)]."""
    runs = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        model, _, epochs = item.partition(":")
        runs.append((model.strip(), int(epochs) if epochs else 1))
    return runs


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="mlp:3,cnn:1", help="model:epochs, comma-separated (default mlp:3,cnn:1)")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="directory of the IDX .gz files")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only (default: all 60000)")
    parser.add_argument("--threads", type=int, default=2, help="cores for each side (default 2)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin each side to cores 0..threads-1 with taskset")
    parser.add_argument("--swarm", default=os.path.join(ROOT, "swarm"), help="the swarm command (default ./swarm)")
    parser.add_argument("--python", default=SYSTEM_PYTHON, help="interpreter for train_torch.py (default /usr/bin/python3)")
    parser.add_argument("--sides", default="dotnet,torch", help="which sides to run (default dotnet,torch)")
    parser.add_argument("--torch-configs", default=",".join(TORCH_CONFIGS),
                        help="PyTorch configurations, comma-separated (default all): 'default' is the environment "
                             "as it is plus the thread counts; 'tuned' also sets OMP_WAIT_POLICY=PASSIVE and lets "
                             "OpenBLAS pick its kernels (no OPENBLAS_CORETYPE); 'tuned-1t' is 'tuned' with one "
                             "thread. The target is judged against the fastest")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per side and configuration, alternating sides; the fastest is kept (default 1)")
    parser.add_argument("--steady", choices=["mean", "median"], default="mean",
                        help="steady-state samples/s over the epochs after the first: mean or median (default mean)")
    parser.add_argument("--no-cross-check", action="store_true",
                        help="do not evaluate PyTorch's trained weights with ./swarm train --init (same architecture check)")
    parser.add_argument("--out", default=os.path.join(HERE, "out"), help="where to write results (default benchmarks/compare/out)")
    args = parser.parse_args(argv)
    args.run_list = parse_runs(args.runs)
    args.side_list = [s.strip() for s in args.sides.split(",") if s.strip()]
    if not args.run_list:
        parser.error("--runs: nothing to run")
    for model, epochs in args.run_list:
        if model not in ("mlp", "cnn") or epochs < 1:
            parser.error(f"--runs: '{model}:{epochs}' is not mlp or cnn with at least 1 epoch")
    if set(args.side_list) - {"dotnet", "torch"}:
        parser.error("--sides: dotnet and/or torch")
    args.torch_config_list = [c.strip() for c in args.torch_configs.split(",") if c.strip()]
    if not args.torch_config_list or set(args.torch_config_list) - set(TORCH_CONFIGS):
        parser.error(f"--torch-configs: one or more of {', '.join(TORCH_CONFIGS)}")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    return args


# ----------------------------------------------------------------------------------------------------------------------
# The two sides. Each returns the JSON its program printed (the `./swarm train --json` shape), plus "wall_s".


def side_environment(args, side, config="default"):
    """Both sides get the same number of cores: the thread pools are sized to it, and (unless --no-pin) the process
    is pinned to cores 0..threads-1 so that neither can use more."""
    env = dict(os.environ)
    threads = str(args.threads)
    if side == "dotnet":
        # Environment.ProcessorCount (which sizes our GEMM threads and the thread pool) honours this.
        env["DOTNET_PROCESSOR_COUNT"] = threads
    else:
        # train_torch.py calls torch.set_num_threads(threads) for ATen's OpenMP pool, and sizes OpenBLAS's own pool
        # (pthread build) to the same count; the variables say the same for anything that reads them first.
        threads = str(torch_threads(args, config))
        env.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        for name, value in TORCH_CONFIGS[config][0].items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return env


def pin_prefix(args):
    if args.no_pin or not shutil.which("taskset") or args.threads >= (os.cpu_count() or 1):
        return []
    return ["taskset", "-c", f"0-{args.threads - 1}"]


def run_json(command, env, what):
    changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
    removed = [k for k in os.environ if k not in env]
    shown = " ".join([f"{k}={v}" for k, v in changed.items()] + [f"-u {k}" for k in removed])
    print(f"  $ {('env ' + shown + ' ') if shown else ''}{shlex.join(command)}", flush=True)
    snapshot = cpu_snapshot()
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    others = other_load(snapshot, cpu_snapshot())
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{result.stderr.strip()[-3000:]}")
    # The JSON is the last line that parses as an object: tolerate build chatter before it.
    for line in reversed(result.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            data["wall_s"], data["other_cores_busy"] = wall, others
            return data
    try:
        data = json.loads(result.stdout)
        data["wall_s"], data["other_cores_busy"] = wall, others
        return data
    except json.JSONDecodeError:
        raise RuntimeError(f"{what} printed no JSON object:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}") from None


def out_path(workdir, side, model):
    """A new file name for each run: `swarm train` refuses to overwrite without --force."""
    for n in range(1, 10000):
        path = os.path.join(workdir, f"{side}-{model}-{n}.safetensors")
        if not os.path.exists(path):
            return path
    raise RuntimeError(f"too many files in {workdir}")


def run_dotnet(args, model, epochs, workdir):
    """`./swarm train ... --json`. This is the one place that knows the .NET command line: adapt it here if the
    command's options change. Returns the parsed JSON: {"model", "epochs": [{"epoch", "loss", "samples", "seconds",
    "samplesPerSecond", ...}], "test": {"loss", "accuracy", "macroF1", "samples"}, "parameters", "out", ...}.
    --threads holds the training library to that many threads; DOTNET_PROCESSOR_COUNT (side_environment) does the
    same for the runtime's thread pool and anything else sized from Environment.ProcessorCount."""
    command = pin_prefix(args) + [
        args.swarm, "train", "--data", args.data, "--model", model, "--epochs", str(epochs),
        "--out", out_path(workdir, "dotnet", model), "--threads", str(args.threads),
        "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed), "--json",
    ]
    if args.limit:
        command += ["--limit", str(args.limit)]
    return run_json(command, side_environment(args, "dotnet"), f".NET {model}")


def run_torch(args, model, epochs, workdir, config="default"):
    """train_torch.py with the same settings in configuration `config`; same JSON shape, plus torch/BLAS details."""
    command = pin_prefix(args) + [
        args.python, TORCH_SCRIPT, "--data", args.data, "--model", model, "--epochs", str(epochs),
        "--out", out_path(workdir, "torch", model),
        "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed),
        "--threads", str(torch_threads(args, config)), "--quiet",
    ]
    if args.limit:
        command += ["--limit", str(args.limit)]
    return run_json(command, side_environment(args, "torch", config), f"PyTorch ({config}) {model}")


def cross_check(args, torch_result):
    """Evaluates PyTorch's trained weights with `./swarm train --init FILE --epochs 0`: the same test accuracy and
    macro-F1 (and loss to float rounding) mean the two sides train the same architecture, layer order, names,
    layouts and flatten order included. Returns {"loss", "accuracy", "macroF1", "samples", "match"}."""
    command = [args.swarm, "train", "--data", args.data, "--model", torch_result["model"], "--init", torch_result["out"],
               "--epochs", "0", "--threads", str(args.threads), "--json"]
    test = run_json(command, side_environment(args, "dotnet"), "cross-check")["test"]
    ours = torch_result["test"]
    test["match"] = (test["accuracy"] == ours["accuracy"] and abs(test["macroF1"] - ours["macroF1"]) < 1e-9
                     and abs(test["loss"] - ours["loss"]) <= 1e-5 * max(1.0, abs(ours["loss"])))
    return test


def warm_up_swarm(args):
    """Builds ./swarm before anything is timed (it builds itself on first use or when the sources changed)."""
    result = subprocess.run([args.swarm, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{args.swarm} --help failed:\n{result.stderr[-2000:]}")


# ----------------------------------------------------------------------------------------------------------------------
# Numbers


def throughput(result, steady):
    """(steady-state samples/s, how it was measured, first epoch's samples/s) of one side's result."""
    rates = [e["samplesPerSecond"] for e in result.get("epochs", [])]
    if not rates:
        return None, "no epochs", None
    if len(rates) == 1:
        return rates[0], "epoch 1 only (includes warm-up)", rates[0]
    later = rates[1:]
    value = statistics.fmean(later) if steady == "mean" else statistics.median(later)
    where = f"epoch 2" if len(later) == 1 else f"{steady} of epochs 2–{len(rates)}"
    return value, where, rates[0]


def machine_info(args):
    lscpu = run_text(["lscpu"])
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    torch_info = run_text([args.python, "-c",
                           "import json, torch; print(json.dumps({'version': torch.__version__, "
                           "'config': torch.__config__.show(), 'parallel': torch.__config__.parallel_info()}))"])
    try:
        torch_info = json.loads(torch_info)
    except json.JSONDecodeError:
        torch_info = {"version": "not installed", "config": "", "parallel": ""}
    return {
        "cpu": fields.get("Model name", platform.processor()).strip(),
        "cpu_family_model": f"family {fields.get('CPU family', '?').strip()}, model {fields.get('Model', '?').strip()}",
        "cores": os.cpu_count(),
        "threads_per_core": fields.get("Thread(s) per core", "?").strip(),
        "flags_avx512f": "avx512f" in fields.get("Flags", ""),
        "kernel": platform.release(),
        "os": run_text(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "dotnet_runtime": (run_text(["sh", "-c", "dotnet --list-runtimes | grep Microsoft.NETCore.App | tail -1"])
                           or "?").split("[")[0].strip(),
        "torch": torch_info["version"],
        "torch_config": torch_info["config"],
        "torch_parallel": torch_info["parallel"],
        "libblas_alternative": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        "load_average_start": open("/proc/loadavg").read().split()[:3],
    }


def cell(value, digits=0, suffix=""):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def side_labels(args):
    """The sides of each comparison, in order: ('dotnet', None) and ('torch', config) pairs with their labels."""
    labels = []
    if "dotnet" in args.side_list:
        labels.append(("dotnet", None, ".NET"))
    if "torch" in args.side_list:
        labels += [("torch", config, f"PyTorch {config}") for config in args.torch_config_list]
    return labels


def best_torch(row):
    """The label and entry of the fastest PyTorch configuration of a row (the strictest comparison), or (None, None)."""
    candidates = [(label, entry) for label, entry in row["sides"].items()
                  if label.startswith("PyTorch") and entry.get("speed") and entry["speed"][0]]
    return max(candidates, key=lambda item: item[1]["speed"][0]) if candidates else (None, None)


def markdown(rows):
    header = ["model", "epochs", "samples/epoch", "side", "steady samples/s", "steady state over", "epoch 1 samples/s",
              ".NET ÷ this", "test accuracy", "test macro-F1", "runs", "other cores busy"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        dotnet = row["sides"].get(".NET", {}).get("speed")
        fastest, _ = best_torch(row)
        for label, entry in row["sides"].items():
            result = entry.get("best")
            if not result:
                lines.append("| " + " | ".join([row["model"], str(row["epochs"]), "—", label, "FAILED"] + ["—"] * 7) + " |")
                continue
            speed = entry["speed"]
            ratio = None
            if dotnet and dotnet[0] and label != ".NET":
                ratio = dotnet[0] / speed[0]
            name = f"**{label}**" if label == fastest and len([k for k in row["sides"] if k.startswith("PyTorch")]) > 1 else label
            lines.append("| " + " | ".join([
                row["model"], str(row["epochs"]), cell(result["epochs"][0]["samples"]), name, cell(speed[0]), speed[1],
                cell(speed[2]), cell(ratio, 2, "×"), cell(result["test"]["accuracy"] * 100, 2, " %"),
                cell(result["test"]["macroF1"], 4),
                f"{len(entry['runs'])}" + (f" (best of)" if len(entry["runs"]) > 1 else ""),
                cell(result.get("other_cores_busy"), 2),
            ]) + " |")
    return "\n".join(lines)


def verdicts(rows):
    out = []
    for model, threshold, description in TARGETS:
        measured = []
        for row in rows:
            dotnet = row["sides"].get(".NET", {}).get("speed")
            label, entry = best_torch(row)
            if row["model"] == model and dotnet and dotnet[0] and entry:
                measured.append((dotnet[0] / entry["speed"][0], label, row))
        if not measured:
            out.append((description, "NOT MEASURED", ""))
            continue
        ratio, label, row = min(measured, key=lambda item: item[0])
        single = " (one epoch: includes warm-up)" if row["epochs"] == 1 else ""
        out.append((description, "PASS" if ratio >= threshold else "MISS",
                    f"{ratio:.2f}× against {label}, the fastest PyTorch configuration{single}"))
    return out


def torch_lines(info, rows):
    """What PyTorch ran on, per configuration: build BLAS, the libraries it loaded, OpenBLAS's kernels and threads."""
    build = next((l.strip() for l in info["torch_config"].splitlines() if "BLAS_INFO" in l), "")
    build = build.split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in build else "?"
    mkldnn = "oneDNN (MKL-DNN) on" if "USE_MKLDNN=ON" in info["torch_config"] else "no oneDNN"
    capability = next((l.strip().lstrip("- ") for l in info["torch_config"].splitlines() if "CPU capability" in l), "")
    lines, seen = [], set()
    for row in rows:
        for label, entry in row["sides"].items():
            result = entry.get("best")
            if not label.startswith("PyTorch") or not result or label in seen:
                continue
            seen.add(label)
            blas = result.get("blas", {})
            core = blas.get("openblas") or {}
            settings = ", ".join(f"{k}={v}" for k, v in sorted(blas.get("env", {}).items())) or "none"
            lines.append(f"- {label}: {result.get('threads', '?')} ATen thread(s), BLAS {blas.get('kind', '?')}"
                         + (f" ({core['core']} kernels, {core['threads']} thread(s))" if core else "")
                         + f", sgemm from {blas.get('sgemm') or '?'}; environment {settings}")
    return [f"- PyTorch {info['torch']} (CPU): build BLAS_INFO={build} (the libblas.so.3 alternative, now "
            f"{info['libblas_alternative']}); {mkldnn}; {capability or 'CPU capability ?'}"] + lines


def report(args, info, rows, started):
    info["load_average_end"] = open("/proc/loadavg").read().split()[:3]
    table = markdown(rows)
    checks = verdicts(rows)
    pinned = " ".join(pin_prefix(args)) or "not pinned: that is every core"
    lines = [
        f"- CPU: {info['cpu']} ({info['cpu_family_model']}), {info['cores']} cores ({info['threads_per_core']} thread(s) "
        f"per core), AVX-512 {'yes' if info['flags_avx512f'] else 'no'}; kernel {info['kernel']} ({info['os']})",
        f"- .NET: {info['dotnet_runtime']}; `{os.path.relpath(args.swarm, ROOT)} train --threads {args.threads}`, "
        f"DOTNET_PROCESSOR_COUNT={args.threads}",
        *torch_lines(info, rows),
        f"- Cores per side: {args.threads} ({pinned}); .NET and PyTorch use {args.threads} thread(s) (PyTorch: "
        "torch.set_num_threads and OpenBLAS's pool), except tuned-1t: 1. "
        f"Batch {args.batch_size}, Adam lr {args.lr}, seed {args.seed}, training samples "
        f"{args.limit or 'all'}, test samples all",
        f"- Other processes kept {info['other_cores_busy']:.2f} of {info['cores']} cores busy on average during the run "
        f"(load average {' '.join(info['load_average_start'])} at start, {' '.join(info['load_average_end'])} at end)",
        "",
        table,
        "",
        f"samples/s: training loop only, data already in memory on both sides. Steady state = the {args.steady} of "
        "the per-epoch samples/s over the epochs after the first (the first carries JIT and warm-up); with one "
        "epoch, that epoch. '.NET ÷ this' is the .NET steady state over this row's; the target is judged against "
        "the fastest PyTorch configuration (in bold). 'default' runs PyTorch in the environment as it is (plus the "
        "thread counts); 'tuned' adds OMP_WAIT_POLICY=PASSIVE and lets OpenBLAS choose its kernels; 'tuned-1t' is "
        "'tuned' on one thread (PyTorch's fastest use of 2 cores for small batches). Test metrics on "
        "the 10,000 test images after the last epoch; the sides start from different random weights and shuffles, "
        "so accuracies differ by a few tenths of a percent from that alone. 'other cores busy': by other processes "
        "during that run.",
        "",
        "Targets:",
    ]
    lines += [f"  {status:<12} {description}" + (f": {detail}" if detail else "") for description, status, detail in checks]
    for row in rows:
        check = row.get("cross_check")
        if not check:
            continue
        if "error" in check:
            lines.append(f"  FAILED       {row['model']}: same architecture (PyTorch's weights evaluated by ./swarm): "
                         "could not run it")
            continue
        lines.append(f"  {'PASS' if check['match'] else 'MISS':<12} {row['model']}: same architecture: {check['of']}'s "
                     f"trained weights evaluated by `swarm train --init` give accuracy {check['accuracy'] * 100:.2f} %, "
                     f"macro-F1 {check['macroF1']:.4f}, loss {check['loss']:.6f} "
                     f"({'as' if check['match'] else 'NOT as'} in PyTorch)")
    if info["other_cores_busy"] >= 0.1:
        lines.append(f"  CAUTION: other processes kept {info['other_cores_busy']:.2f} of {info['cores']} cores busy during "
                     "the run, so these numbers are indicative only (see the last column for each run).")
    slow = sorted({label for row in rows for label, entry in row["sides"].items()
                   if entry.get("best", {}).get("blas", {}).get("kind", "OpenBLAS") != "OpenBLAS"})
    if slow:
        lines.append(f"  CAUTION: {', '.join(slow)} did not run its matrix products on OpenBLAS (see above): the "
                     "comparison flatters .NET. Install libopenblas0-pthread and point libblas.so.3 at it.")
    if any(row["epochs"] == 1 for row in rows):
        lines.append("  NOTE: runs of one epoch include each side's warm-up in their samples/s.")
    lines.append(f"Total time {time.time() - started:.0f} s.")
    text = "\n".join(lines)
    print()
    print(text)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, "train-compare")
    with open(base + ".md", "w") as f:
        f.write(f"# Training throughput: .NET against PyTorch ({time.strftime('%Y-%m-%d %H:%M')})\n\n{text}\n")
    with open(base + ".json", "w") as f:
        json.dump({"machine": info, "arguments": vars(args), "rows": rows, "targets": checks}, f, indent=2, default=str)
    print(f"Results: {base}.md, {base}.json")


def run_side(args, side, config, model, epochs, workdir):
    if side == "dotnet":
        return run_dotnet(args, model, epochs, workdir)
    return run_torch(args, model, epochs, workdir, config)


def main(argv):
    args = parse_args(argv)
    started = time.time()
    info = machine_info(args)
    print(f"CPU {info['cpu']} ({info['cpu_family_model']}), {info['cores']} cores; PyTorch {info['torch']}; "
          f"{info['dotnet_runtime']}", flush=True)
    if "dotnet" in args.side_list:
        print("Building ./swarm if needed (not timed)...", flush=True)
        warm_up_swarm(args)
    info["cpu_start"] = cpu_snapshot()
    workdir = tempfile.mkdtemp(prefix="swarm-train-compare-")
    rows = []
    try:
        for model, epochs in args.run_list:
            row = {"model": model, "epochs": epochs,
                   "sides": {label: {"runs": [], "errors": []} for _, _, label in side_labels(args)}}
            print(f"[{model}, {epochs} epoch(s)]", flush=True)
            for repetition in range(args.repeat):
                # Alternate the order, so that neither side always runs first (on a cooler or a warmer machine).
                order = side_labels(args) if repetition % 2 == 0 else list(reversed(side_labels(args)))
                for side, config, label in order:
                    entry = row["sides"][label]
                    try:
                        result = run_side(args, side, config, model, epochs, workdir)
                    except (RuntimeError, OSError) as error:
                        print(f"  {label}: {error}", file=sys.stderr, flush=True)
                        entry["errors"].append(str(error))
                        continue
                    speed = throughput(result, args.steady)
                    entry["runs"].append(result)
                    print(f"  {label}: {cell(speed[0])} samples/s ({speed[1]}), test accuracy "
                          f"{result['test']['accuracy'] * 100:.2f} %, other cores busy "
                          f"{result['other_cores_busy']:.2f}", flush=True)
            for entry in row["sides"].values():
                if entry["runs"]:
                    entry["best"] = max(entry["runs"], key=lambda r: throughput(r, args.steady)[0] or 0)
                    entry["speed"] = throughput(entry["best"], args.steady)
            label, entry = best_torch(row)
            if not args.no_cross_check and "dotnet" in args.side_list and entry and entry["best"].get("out"):
                try:
                    row["cross_check"] = dict(cross_check(args, entry["best"]), of=label)
                    print(f"  cross-check: {label}'s weights evaluated by .NET: accuracy "
                          f"{row['cross_check']['accuracy'] * 100:.2f} % "
                          f"({'same as PyTorch' if row['cross_check']['match'] else 'DIFFERENT from PyTorch'})", flush=True)
                except (RuntimeError, OSError) as error:
                    print(f"  cross-check: {error}", file=sys.stderr, flush=True)
                    row["cross_check"] = {"error": str(error), "of": label}
            rows.append(row)
        info["other_cores_busy"] = other_load(info.pop("cpu_start"), cpu_snapshot())
        report(args, info, rows, started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
