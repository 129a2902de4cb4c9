#!/usr/bin/python3
"""Runs examples/pytorch/fashion_mnist.py on a local swarm: Fashion-MNIST split HPE's biased way over N nodes, a
sentinel SN and N SL nodes started as processes with fresh certificates, one PyTorch program per node. Prints each
node's test accuracy and the final model's SHA-256 (the same on every node).

    examples/pytorch/run_swarm.py                      # 3 nodes, 2 epochs
    examples/pytorch/run_swarm.py --nodes 3 --epochs 1 --max-samples 2000 --json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))
sys.path.insert(0, os.path.join(root, "clients", "python"))
from swarmlearning.local import LocalSwarm, swarm_command  # noqa: E402


def stop(processes):
    """Terminates the processes, and kills those still running 10 s later."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3, help="SL node + PyTorch program pairs (default 3)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs each program trains (default 2)")
    parser.add_argument("--sync-frequency", type=int, default=64, help="batches between syncs (default 64)")
    parser.add_argument("--max-samples", type=int, default=0, help="train each node on at most this many samples (0: all)")
    parser.add_argument("--merge-method", default="mean", help="mean, coordmedian, geomedian, trimmedmean or krum")
    parser.add_argument("--dir", help="where the swarm's files go (default: a new temporary directory)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    args = parser.parse_args()
    if args.nodes < 2:
        parser.error("--nodes must be at least 2")

    directory = args.dir or tempfile.mkdtemp(prefix="swarm-pytorch-")
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    started = time.monotonic()
    data = os.path.join(directory, "data")
    say(f"splitting Fashion-MNIST over {args.nodes} nodes (HPE's biased split) into {data}")
    subprocess.run([*swarm_command(), "data", "split", "--data", "fashion-mnist", "--nodes", str(args.nodes), "--method", "biased",
                    "--out", data], check=True, stdout=subprocess.DEVNULL)
    say(f"starting a sentinel SN and {args.nodes} SL nodes in {directory}")
    with LocalSwarm(args.nodes, directory) as swarm:
        programs = []
        for k in range(args.nodes):
            env = {**swarm.environment(k), "DATA_DIR": os.path.join(data, f"node-{k + 1}"), "MODEL_DIR": os.path.join(directory, f"model-{k + 1}"),
                   "MAX_EPOCHS": str(args.epochs), "MIN_PEERS": str(args.nodes), "SYNC_FREQUENCY": str(args.sync_frequency),
                   "MAX_SAMPLES": str(args.max_samples), "SEED": str(k + 1), "MERGE_METHOD": args.merge_method}
            log = open(os.path.join(directory, f"ml{k + 1}.log"), "wb")
            programs.append((subprocess.Popen([sys.executable, os.path.join(here, "fashion_mnist.py")], env=env, stdout=log, stderr=subprocess.STDOUT), log))
        say(f"training: {args.nodes} PyTorch programs, {args.epochs} epochs, logs in {directory}/ml*.log")
        # Whichever program ends first is looked at first: one that fails leaves its peers waiting for it (minPeers), so
        # they are stopped and its error is reported at once instead of after their own waits run out.
        results = [None] * len(programs)
        pending = dict(enumerate(programs))
        while pending:
            for k, (process, log) in list(pending.items()):
                if process.poll() is None:
                    continue
                del pending[k]
                log.close()
                # The program logs to stdout, as HPE's do, and prints its result as the last line.
                lines = open(os.path.join(directory, f"ml{k + 1}.log"), errors="replace").read().splitlines()
                if process.returncode != 0 or not lines:
                    stop(process for process, _ in pending.values())
                    sys.exit(f"the program of sl{k + 1} failed ({process.returncode}):\n" + "\n".join(lines[-20:]))
                results[k] = json.loads(lines[-1])
            time.sleep(0.2)
    summary = {"nodes": [{"name": f"sl{k + 1}", **r} for k, r in enumerate(results)], "seconds": round(time.monotonic() - started, 1),
               "directory": directory}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{'node':6} {'accuracy':>9}  final model hash (BLAKE3, as the ledger records it)")
    for node in summary["nodes"]:
        print(f"{node['name']:6} {node['accuracy'] * 100:8.2f}%  {node['finalModelHash']}")
    same = len({n["finalModelHash"] for n in summary["nodes"]}) == 1
    print(f"{'the same final model on every node' if same else 'THE FINAL MODELS DIFFER'}; {summary['seconds']} s")


if __name__ == "__main__":
    main()
