#!/usr/bin/env python3
"""Paired timing of two commands (a benchmark, not a test): runs A and B
alternately, N pairs, the order inside each pair alternating too, so that a
noisy neighbour on a shared machine weighs on both alike. Prints one JSON
object: the mean and median of each, B/A of the means and of the medians,
and the mean paired difference B-A with its 95% confidence interval.

Usage: paired.py --runs N --warmup W --name-a A --name-b B -- CMD_A... --- CMD_B...
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def run(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed with exit status {p.returncode}")
    return elapsed * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--name-a", required=True)
    ap.add_argument("--name-b", required=True)
    ap.add_argument("cmds", nargs="+")
    a = ap.parse_args()
    if "---" not in a.cmds:
        sys.exit("separate the two commands with ---")
    i = a.cmds.index("---")
    cmd_a, cmd_b = a.cmds[:i], a.cmds[i + 1:]
    for _ in range(a.warmup):
        run(cmd_a)
        run(cmd_b)
    ta, tb = [], []
    for n in range(a.runs):
        if n % 2:
            tb.append(run(cmd_b))
            ta.append(run(cmd_a))
        else:
            ta.append(run(cmd_a))
            tb.append(run(cmd_b))
    diff = [b - x for x, b in zip(ta, tb)]
    half = 1.96 * statistics.stdev(diff) / len(diff) ** 0.5
    print(json.dumps({
        "a": a.name_a, "b": a.name_b, "pairs": a.runs,
        "mean_a_ms": round(statistics.mean(ta), 2), "mean_b_ms": round(statistics.mean(tb), 2),
        "median_a_ms": round(statistics.median(ta), 2), "median_b_ms": round(statistics.median(tb), 2),
        "ratio_of_means": round(statistics.mean(tb) / statistics.mean(ta), 3),
        "ratio_of_medians": round(statistics.median(tb) / statistics.median(ta), 3),
        "diff_ms": round(statistics.mean(diff), 2), "diff_ci95_ms": round(half, 2),
    }))


main()
