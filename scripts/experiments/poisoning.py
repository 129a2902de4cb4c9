#!/usr/bin/env python3
"""Issue 6 section 4: poisoned updates in simulation, several runs per cell.

For every merge method and attack (none, scale: the last node's model x100, noise: Gaussian noise the size of its
weights) and every seed, runs `swarm simulate` and records the swarm model's test accuracy. Each poisoned run is
compared with the clean run of the same seed (same split, same initial weights), so the split's luck cancels out.
Prints a markdown table (mean and spread of the accuracy, mean drop from clean, worst drop) and writes every run as JSON.

  scripts/experiments/poisoning.py                                   # mlp, 5 epochs, 3 seeds, every method
  scripts/experiments/poisoning.py --model cnn --epochs 2 --lr 0.003 --seeds 1,2,3 --methods coordmedian,geomedian
  scripts/experiments/poisoning.py --help

A run that diverges (the loss check of a node's training stops it, or the final model's loss is not finite) is
recorded as diverged, not as an error.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = ["mean", "coordmedian", "geomedian", "trimmedmean", "krum"]
ATTACKS = ["none", "scale", "noise"]


def run(args, method, attack, seed):
    command = [os.path.join(ROOT, "swarm"), "simulate", "--nodes", str(args.nodes), "--split", args.split,
               "--model", args.model, "--epochs", str(args.epochs), "--sync-frequency", str(args.sync_frequency),
               "--lr", str(args.lr), "--merge-method", method, "--trim-fraction", str(args.trim_fraction),
               "--seed", str(seed), "--attack", attack, "--json"]
    if args.limit:
        command += ["--limit", str(args.limit)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    record = {"method": method, "attack": attack, "seed": seed, "seconds": round(seconds, 1)}
    if done.returncode == 0:
        result = json.loads(done.stdout)
        record.update(accuracy=result["swarmAccuracy"], diverged=result.get("diverged", False), rounds=result["rounds"])
    elif "diverged" in done.stderr:
        record.update(accuracy=None, diverged=True, reason=done.stderr.strip().splitlines()[-1])
    else:
        sys.exit(f"swarm simulate failed ({method}, {attack}, seed {seed}):\n{done.stderr}")
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--nodes", type=int, default=6)
    parser.add_argument("--split", default="biased")
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sync-frequency", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--trim-fraction", type=float, default=0.2, help="trimmedmean's beta (0.2 trims 1 of 6 a side)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", default=os.path.join(ROOT, "scripts", "experiments", "out", "poisoning.json"))
    args = parser.parse_args()

    methods, attacks = args.methods.split(","), args.attacks.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for method in methods:
        for seed in seeds:
            for attack in attacks:
                record = run(args, method, attack, seed)
                runs.append(record)
                shown = "diverged" if record["diverged"] else f"{record['accuracy'] * 100:.2f} %"
                print(f"{method:12} {attack:6} seed {seed}: {shown} ({record['seconds']} s)", file=sys.stderr, flush=True)

    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump({"settings": vars(args), "runs": runs}, f, indent=2)

    def accuracy(method, attack, seed):
        r = next(r for r in runs if r["method"] == method and r["attack"] == attack and r["seed"] == seed)
        return None if r["diverged"] or r["accuracy"] is None else r["accuracy"] * 100

    print(f"{args.nodes} nodes, {args.split} split, {args.model}, {args.epochs} epochs, sync every {args.sync_frequency}, "
          f"lr {args.lr}, trimmedmean beta {args.trim_fraction}, seeds {args.seeds}")
    print()
    header = "| method | clean | " + " | ".join(f"{a}: accuracy, change from clean (worst seed)" for a in attacks if a != "none") + " | within 1 point? |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for method in methods:
        clean = [accuracy(method, "none", s) for s in seeds]
        cells, within = [], True
        for attack in (a for a in attacks if a != "none"):
            values = [accuracy(method, attack, s) for s in seeds]
            if any(v is None for v in values):
                cells.append(f"diverged in {sum(v is None for v in values)} of {len(seeds)}")
                within = False
                continue
            changes = [v - c for c, v in zip(clean, values) if c is not None]
            worst = min(changes) if changes else float("nan")
            within = within and worst >= -1.0
            spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.2f}{spread} %, {statistics.mean(changes):+.2f} (worst {worst:+.2f})")
        clean_ok = [c for c in clean if c is not None]
        clean_text = f"{statistics.mean(clean_ok):.2f}" + (f" ± {statistics.stdev(clean_ok):.2f}" if len(clean_ok) > 1 else "") + " %"
        print(f"| `{method}` | {clean_text} | " + " | ".join(cells) + f" | {'yes' if within else 'no'} |")


if __name__ == "__main__":
    main()
