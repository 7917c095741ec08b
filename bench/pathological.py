#!/usr/bin/env python3
"""Time and peak memory of threadlint on inputs built to find costs that grow faster than the
input: many acquisitions in one function, long files of small functions, a long call chain,
a Rust integer literal of 100,000 digits.

Usage: python3 bench/pathological.py [--timeout S] [--memory-limit GIB] BINARY [BINARY ...]

Each binary runs `check --no-cache --exit-zero --output-format concise` on each input, once,
under a wall-time limit and an address-space limit (a run past either is reported as such).
Peak RSS and CPU time come from the kernel's resource usage of the finished process.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def acquisitions(n):
    return ("import threading\nlock = threading.Lock()\n\ndef f():\n"
            + "    lock.acquire()\n" * n + "    lock.release()\n" * n)


def small_functions(lines):
    parts = ["import threading\nlock = threading.Lock()\n\n"]
    count, i = 3, 0
    while count < lines:
        parts.append(f"def f{i}():\n    lock.acquire()\n    x = {i}\n    lock.release()\n\n")
        count += 5
        i += 1
    return "".join(parts)


def call_chain(n):
    parts = ["import threading\nlock = threading.Lock()\n\n"]
    parts += [f"def f{i}():\n    f{i + 1}()\n\n" for i in range(n)]
    parts.append(f"def f{n}():\n    with lock:\n        pass\n\ndef g():\n    with lock:\n        f0()\n")
    return "".join(parts)


def long_literal(digits):
    return ("use std::sync::Mutex;\n\nfn f(m: &Mutex<u8>) {\n    let x = " + "1" * digits
            + ";\n    let _ = m.lock();\n}\n")


INPUTS = [
    ("1,000 acquisitions in one function", "a.py", lambda: acquisitions(1000)),
    ("2,000 acquisitions in one function", "a.py", lambda: acquisitions(2000)),
    ("4,000 acquisitions in one function", "a.py", lambda: acquisitions(4000)),
    ("10,000 lines of acquire/release functions", "a.py", lambda: small_functions(10_000)),
    ("40,000 lines of acquire/release functions", "a.py", lambda: small_functions(40_000)),
    ("160,000 lines of acquire/release functions", "a.py", lambda: small_functions(160_000)),
    ("20 MB of acquire/release functions (1.6M lines)", "a.py",
     lambda: small_functions(1_600_000)),
    ("a call chain of 10,000 functions", "a.py", lambda: call_chain(10_000)),
    ("a Rust integer literal of 100,000 digits", "a.rs", lambda: long_literal(100_000)),
]


def measure(binary, folder, timeout, memory_limit):
    def limit():
        if memory_limit:
            size = int(memory_limit * 1024 ** 3)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.monotonic()
    process = subprocess.Popen(
        [binary, "check", "--no-cache", "--exit-zero", "--output-format", "concise", "."],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=limit)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            return f"> {timeout} s (stopped)", "", ""
        time.sleep(0.01)
    wall = time.monotonic() - started
    rss = f"{usage.ru_maxrss / 1024:.0f} MiB"
    cpu = f"{usage.ru_utime + usage.ru_stime:.2f} s"
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        return f"failed ({code}) after {wall:.2f} s", rss, cpu
    return f"{wall:.2f} s", rss, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--memory-limit", type=float, default=4, help="GiB of address space")
    args = parser.parse_args()
    print("| input | " + " | ".join(f"{b}: wall, peak RSS, CPU" for b in args.binaries) + " |")
    print("| --- |" + " --- |" * len(args.binaries))
    with tempfile.TemporaryDirectory() as scratch:
        for name, file_name, make in INPUTS:
            folder = Path(scratch) / "input"
            folder.mkdir(exist_ok=True)
            for old in folder.iterdir():
                old.unlink()
            (folder / file_name).write_text(make())
            cells = []
            for binary in args.binaries:
                wall, rss, cpu = measure(os.path.abspath(binary), folder, args.timeout,
                                         args.memory_limit)
                cells.append(", ".join(x for x in (wall, rss, cpu) if x))
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
