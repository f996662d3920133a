"""What one run of a command costs, for the benchmarks' tables (imported by
hot-path.sh and vault-hit.sh): user-space instructions (callgrind) and minor
page faults. Each run is started from a new intermediate process, a parent
of its own, as each kubectl command is: runs from one parent would be taken
for client-go running the plugin again after a 401 (docs/performance.md)."""
import re
import subprocess
import sys

# Runs argv[1:] and prints its minor page faults (its only child's).
RUN = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt)")


def faults(cmd):
    return int(subprocess.run([sys.executable, "-c", RUN] + cmd, capture_output=True, text=True, check=True).stdout)


def instructions(cmd):
    log = subprocess.run([sys.executable, "-c", RUN, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
                         + cmd, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"Collected : (\d+)", log).group(1))


def cost(cmd):
    """(min, max) instructions of 3 runs, max minor page faults of 5."""
    n = [instructions(cmd) for _ in range(3)]
    return min(n), max(n), max(faults(cmd) for _ in range(5))
