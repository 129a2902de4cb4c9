"""The comparison's report: the Markdown table, the targets with PASS/MISS, and the result files."""

import datetime
import json
import os
import time

# The targets: (method, what, threshold, description).
TARGETS = [
    ("mean", "bandwidth", 0.60, "mean: ours >= 60 % of measured bandwidth"),
    ("mean", "numpy", 3.0, "mean: ours >= 3x NumPy"),
    ("coordmedian", "numpy", 5.0, "coordmedian: ours >= 5x NumPy"),
    ("geomedian", "iterations", 50, "geomedian: <= 50 iterations on typical inputs"),
]

# Largest relative difference (max |ours - numpy| / max |numpy|) accepted between the two sides' results.
CHECK_TOLERANCE = {"mean": 1e-5, "coordmedian": 1e-6, "trimmedmean": 1e-5, "krum": 0.0, "geomedian": 1e-3}


def format_count(count):
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            return f"{count / scale:g}{unit}"
    return str(count)


def format_bytes(count):
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def ratio(a, b):
    return a / b if a and b else None


def derived(row, bandwidth):
    ours = row.get("ours", {}).get("gbps")
    numpy = row.get("numpy", {})
    flower = numpy.get("flower", {}).get("gbps")
    stacked = numpy.get("stacked", {}).get("gbps")
    return {
        "ours_gbps": ours,
        "flower_gbps": flower,
        "stacked_gbps": stacked,
        "vs_numpy": ratio(ours, flower),
        "vs_stacked": ratio(ours, stacked),
        "vs_bandwidth": ratio(ours, bandwidth),
        "iterations": row.get("ours", {}).get("geomedian_iterations"),
    }


def cell(value, digits=2, suffix=""):
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def markdown_table(rows, bandwidth, cache_bytes):
    header = ["method", "n", "params", "input", "ours GB/s", "NumPy GB/s", "ours/NumPy", "NumPy pre-stacked GB/s",
              "ours/pre-stacked", "ours/bandwidth", "geomedian iterations", "check"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        d = derived(row, bandwidth)
        method = row["method"]
        ours_cell = cell(d["ours_gbps"])
        if row.get("ours_skipped"):
            ours_cell = f"skipped ({row['ours_skipped']})"
        elif row.get("ours_error"):
            ours_cell = "FAILED"
        flower_cell = cell(d["flower_gbps"])
        if method == "geomedian":
            flower_cell = "no Flower peer"
        if row.get("numpy_skipped"):
            flower_cell = f"skipped ({row['numpy_skipped']})"
        if row.get("note"):
            ours_cell = flower_cell = row["note"]
        stacked_cell = cell(d["stacked_gbps"])
        if method == "geomedian" and d["stacked_gbps"] is not None:
            stacked_cell += " (Weiszfeld)"
        iterations = "—"
        if method == "geomedian" and "ours" in row:
            iterations = f"{row['ours']['geomedian_iterations']} ({row['ours']['geomedian_stop']})"
            numpy_iterations = row.get("numpy", {}).get("iterations")
            if numpy_iterations is not None:
                iterations += f" / NumPy {numpy_iterations}"
        difference = row.get("numpy", {}).get("difference")
        check = "—" if difference is None else (
            f"ok ({difference:.0e})" if difference <= CHECK_TOLERANCE[method] else f"DIFF ({difference:.1e})")
        size = format_bytes(row["input_bytes"]) + (" ‡" if row["input_bytes"] <= cache_bytes else "")
        lines.append("| " + " | ".join([
            method, str(row["models"]), format_count(row["params"]), size, ours_cell, flower_cell,
            cell(d["vs_numpy"], 1, "×"), stacked_cell, cell(d["vs_stacked"], 1, "×"), cell(d["vs_bandwidth"], 2),
            iterations, check]) + " |")
    return "\n".join(lines)


def evaluate_targets(rows, bandwidth, cache_bytes):
    verdicts = []
    for method, what, threshold, description in TARGETS:
        measured = []
        for row in rows:
            if row["method"] != method:
                continue
            if what == "bandwidth" and row["input_bytes"] <= cache_bytes:
                continue  # read from cache, not memory: says nothing about the bandwidth target
            d = derived(row, bandwidth)
            value = {"bandwidth": d["vs_bandwidth"], "numpy": d["vs_numpy"], "iterations": d["iterations"]}[what]
            if value is not None:
                measured.append((value, row, d))
        if not measured:
            why = f"every input fits in the {format_bytes(cache_bytes)} last-level cache" if what == "bandwidth" else ""
            verdicts.append((description, "NOT MEASURED", why))
            continue
        lower_is_better = what == "iterations"
        worst_value, worst_row, worst = (max if lower_is_better else min)(measured, key=lambda item: item[0])
        passed = worst_value <= threshold if lower_is_better else worst_value >= threshold
        where = f"n={worst_row['models']}, {format_count(worst_row['params'])}"
        detail = f"worst {worst_value:.0f} ({where})" if lower_is_better else f"worst {worst_value:.2f} ({where})"
        if what == "numpy":
            stacked = [d["vs_stacked"] for _, _, d in measured if d["vs_stacked"] is not None]
            if stacked:
                detail += f"; against pre-stacked NumPy worst {min(stacked):.2f}"
        verdicts.append((description, "PASS" if passed else "MISS", detail))
    return verdicts


def report(args, info, bandwidth, rows, started):
    info["load_average_end"] = open("/proc/loadavg").read().split()[:3]
    runtimes = {row["ours"]["runtime"] for row in rows if "ours" in row}
    kernels = {row["ours"]["kernel"] for row in rows if "ours" in row}
    threads = {row["ours"]["threads"] for row in rows if "ours" in row}
    triad = bandwidth["triad_gbps"]
    table = markdown_table(rows, triad, info["last_level_cache_bytes"])
    verdicts = evaluate_targets(rows, triad, info["last_level_cache_bytes"])
    runs = ", ".join(f"{k} thread(s) {v['triad_gbps']:.1f}" for k, v in bandwidth.get("runs", {}).items())
    lines = [
        f"Memory bandwidth (STREAM-style triad, best of 10, 24 bytes/element): {triad:.1f} GB/s" + (f" [{runs}]" if runs else ""),
        f"Ours: {', '.join(sorted(runtimes)) or '?'}, kernels {', '.join(sorted(kernels)) or '?'}, "
        f"{', '.join(str(t) for t in sorted(threads)) or '?'} thread(s). NumPy {info['numpy']}: single-threaded except BLAS calls.",
        f"Repetitions: best of at least {args.repeat} after {args.warmup} warm-up run(s) (ours: and at least "
        f"{args.warmup_seconds} s of warm-up), and at least {args.min_seconds} s of timed runs; ours forces a full GC "
        "before each timed merge (not timed).",
        f"Other processes kept {info['other_cores_busy']:.2f} of {info['cores']} cores busy on average during the run "
        f"(load average {' '.join(info['load_average_start'])} at start, {' '.join(info['load_average_end'])} at end, "
        "this run included).",
        "",
        table,
        "",
        "GB/s of input merged counts only the input bytes read (n × P × 4), so it compares directly with the triad's "
        "streamed bytes. ours/NumPy is against Flower's way (stacking per-client layer lists inside the merge, as "
        "Flower's aggregate functions do); ours/pre-stacked is against the same NumPy call on arrays stacked "
        "beforehand (not timed). ‡ marks inputs that fit in the last-level cache. check: max |ours − NumPy| / "
        "max |NumPy| (geomedian: against the plain NumPy Weiszfeld).",
        "",
        "Targets (worst configuration measured):",
    ]
    lines += [f"  {status:<12} {description}" + (f": {detail}" if detail else "") for description, status, detail in verdicts]
    if info["other_cores_busy"] >= 0.1:
        lines.append(f"  CAUTION: other processes kept {info['other_cores_busy']:.2f} of {info['cores']} cores busy during "
                     "the run, so these numbers are indicative only.")
    if all(row["input_bytes"] <= info["last_level_cache_bytes"] for row in rows):
        lines.append("  CAUTION: every input fits in the last-level cache; the targets are about inputs that do not.")
    lines.append(f"Total time {time.time() - started:.0f} s.")
    text = "\n".join(lines)
    print()
    print(text)

    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(args.out, f"compare-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump({"machine": info, "bandwidth": bandwidth, "arguments": vars(args), "rows": rows,
                   "targets": verdicts}, f, indent=2, default=str)
    with open(base + ".md", "w") as f:
        f.write(machine_markdown(info) + "\n\n" + text + "\n")
    print(f"Results: {base}.md, {base}.json")


def machine_markdown(info):
    return "\n".join([
        f"- CPU: {info['cpu']}, {info['cores']} cores, last-level cache {format_bytes(info['last_level_cache_bytes'])}",
        f"- Memory: {info['memory_gib']} GiB",
        f"- Kernel: {info['kernel']} ({info['os']})",
        f"- .NET SDK {info['dotnet_sdk']}; NumPy {info['numpy']} (Python {info['python']}, BLAS {info['numpy_blas']}); gcc {info['gcc']}",
    ])
