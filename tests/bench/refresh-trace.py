#!/usr/bin/env python3
"""Refresh-ahead over a simulated multi-hour day (a benchmark, not a test).

Runs `kube-sa-token get` as kubectl would, once every STEP simulated minutes
for HOURS simulated hours, its wall clock moved forward with libfaketime (the
API server's clock is real: every mint records the offset, so the tokens age
in simulated time). Each call has a parent process of its own, as each
kubectl command is one. Between calls the script waits until no background
refresh is running: in real use calls are minutes apart.

Prints one JSON object: calls, foreground mints (calls that minted
themselves, from the plugin's debug log) after the first call, TokenRequests
the server answered, and the foreground latency p50/p99/max in ms.

Usage: refresh-trace.py --kubectl KUBECTL --admin-kubeconfig FILE
           [--step 5] [--hours 3] [--label NAME] -- BIN get ARGS...
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        sys.exit("libfaketime.so.1 not found: apt-get install faketime")
    return found[0]


def token_requests(kubectl, kubeconfig):
    metrics = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/metrics"],
        check=True, capture_output=True, text=True).stdout
    total = 0.0
    for line in metrics.splitlines():
        if (line.startswith("apiserver_request_total{") and 'resource="serviceaccounts"' in line
                and 'subresource="token"' in line and 'verb="POST"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def settled(kubectl, kubeconfig):
    """The metric is recorded as the answer is written: read until two agree."""
    a = token_requests(kubectl, kubeconfig)
    for _ in range(50):
        time.sleep(0.3)
        b = token_requests(kubectl, kubeconfig)
        if a == b:
            return b
        a = b
    return a


def refreshing():
    """Is a background refresh running (any user's, this machine)?"""
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                if b"\0--refresh-in-background\0" in f.read():
                    return True
        except OSError:
            pass
    return False


def percentile(sorted_ms, p):
    i = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubectl", required=True)
    ap.add_argument("--admin-kubeconfig", required=True)
    ap.add_argument("--step", type=int, default=5, help="simulated minutes between calls")
    ap.add_argument("--hours", type=int, default=3)
    ap.add_argument("--label", default="trace")
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    # Preloaded into the plugin only: a preloaded `sh` that forks leaves a
    # semaphore and a shared-memory file in /dev/shm behind at every call.
    env = dict(os.environ, FAKETIME_LIB=libfaketime(), FAKETIME_DONT_FAKE_MONOTONIC="1")
    before = settled(a.kubectl, a.admin_kubeconfig)
    latencies, calls, fg_mints, failures = [], [], 0, 0
    for i, minute in enumerate(range(0, a.hours * 60 + 1, a.step)):
        env["FAKETIME"] = f"+{minute}m"
        deadline = time.monotonic() + 60
        while refreshing() and time.monotonic() < deadline:
            time.sleep(0.05)
        # `sh` stays the plugin's parent (it has more to do after it), a new
        # process per call, as a kubectl command is.
        start = time.monotonic()
        p = subprocess.run(["sh", "-c", 'LD_PRELOAD="$FAKETIME_LIB" "$@"; s=$?; exit $s', "sh", *a.cmd, "-vv"],
                           env=env, capture_output=True, text=True)
        elapsed = (time.monotonic() - start) * 1000
        if p.returncode != 0 or '"token"' not in p.stdout:
            failures += 1
            print(f"call at +{minute}m failed: {p.stderr.strip()[-300:]}", file=sys.stderr)
            continue
        if i > 0:
            latencies.append(elapsed)
            calls.append((elapsed, minute, "refreshing the token in the background" in p.stderr,
                          "minting" in p.stderr))
            if "minting" in p.stderr:
                fg_mints += 1
    deadline = time.monotonic() + 60
    while refreshing() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = settled(a.kubectl, a.admin_kubeconfig)
    ms = sorted(latencies)
    print(json.dumps({
        "label": a.label,
        "simulated": f"every {a.step} min for {a.hours} h",
        "calls": len(latencies) + 1 + failures,
        "failures": failures,
        "foreground_mints_after_first": fg_mints,
        "token_requests": after - before,
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2),
        "starts": sum(1 for c in calls if c[2]),
        "slowest": [{"ms": round(c[0], 2), "at": f"+{c[1]}m", "started_refresh": c[2], "minted": c[3]}
                    for c in sorted(calls, reverse=True)[:3]],
    }))


main()
