#!/usr/bin/env python3
"""Run a command; print its wall time and the peak RSS of its largest child process (MiB)."""
import resource, subprocess, sys, time
t = time.time()
rc = subprocess.call(sys.argv[1:])
dt = time.time() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
print(f"wall {dt:.2f} s, peak RSS {rss:.0f} MiB, exit {rc}", file=sys.stderr)
sys.exit(rc)
