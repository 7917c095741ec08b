"""Times threadlint, ruff and pylint on the same tree of Python files and prints a table.

Called by bench/compare.sh, which builds threadlint and installs the peers first. Uses only
the standard library. Wall time is taken around each run; peak RSS and CPU time come from
the kernel's rusage for the finished child (os.wait4), so no external `time` is needed.
"""

import argparse
import collections
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# Folders left out when staging the tree: the same ones the three tools skip by default
# (installed packages, caches, virtual environments), so that all of them see the same files.
SKIPPED_DIRS = {
    "site-packages", "dist-packages", "__pycache__", "__pypackages__", "node_modules",
    "venv", ".venv", "_build", "buck-out",
}


def stage(source, dest):
    """Copies the *.py files under `source` to `dest`; returns (files, lines)."""
    files = lines = 0
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith(".")
        )
        rel = os.path.relpath(dirpath, source)
        for name in sorted(filenames):
            if not name.endswith(".py") or name.startswith("."):
                continue
            src = os.path.join(dirpath, name)
            if not os.path.isfile(src):
                continue
            target_dir = os.path.join(dest, rel)
            os.makedirs(target_dir, exist_ok=True)
            shutil.copyfile(src, os.path.join(target_dir, name))
            files += 1
            with open(src, "rb") as f:
                lines += sum(1 for _ in f)
    return files, lines


def measure(cmd, cwd, out_path, err_path, timeout=None):
    """Runs `cmd`; returns wall seconds, peak RSS (KiB), CPU seconds, exit code, timed out."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "rss_kib": usage.ru_maxrss,  # KiB on Linux
        "cpu": usage.ru_utime + usage.ru_stime,
        "rc": proc.returncode,
        "timed_out": timed_out.is_set(),
    }


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError as e:
        return f"unavailable ({e})"
    return " ".join(out.split("\n")[0].split()) or "unknown"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, {platform.system()} {platform.release()}"


def count_findings(tool, stdout):
    """Findings per code, read from the tool's output (for orientation, not compared)."""
    counts = collections.Counter()
    for line in stdout.splitlines():
        if tool.startswith("threadlint"):
            m = re.match(r"^.+:\d+:\d+: (\S+?)(?:\s|\[|$)", line)
        elif tool == "ruff":
            m = re.match(r"^(PLW2101|invalid-syntax|[A-Z]+\d+)\b", line)
        else:
            m = re.search(r"\(([a-z][a-z-]+)\)$", line)
        if m:
            counts[m.group(1)] += 1
    return counts


def secs(s):
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def fmt_counts(counts):
    if not counts:
        return "none"
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{total} ({parts})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tree", required=True, help="folder of Python files to check")
    ap.add_argument("--threadlint", required=True, help="the threadlint binary")
    ap.add_argument("--venv", required=True, help="the venv holding ruff and pylint")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the fast tools")
    ap.add_argument("--pylint-timeout", type=float, default=1800.0, help="seconds")
    ap.add_argument("--skip-pylint", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the staged tree and outputs")
    ap.add_argument("--revision", default="", help="source revision of the threadlint build")
    args = ap.parse_args()

    bindir = os.path.join(args.venv, "bin")
    ruff = os.path.join(bindir, "ruff")
    pylint = os.path.join(bindir, "pylint")

    load_start = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix="threadlint-bench-")
    try:
        tree = os.path.join(work, "tree")
        print(f"== staging the *.py files of {args.tree}", flush=True)
        files, lines = stage(args.tree, tree)
        if files == 0:
            sys.exit(f"no .py files under {args.tree}")
        print(f"   {files} files, {lines} lines", flush=True)

        # Relative tree path, cwd = the work folder: no config file of the repo or of a
        # parent folder is picked up, and the output paths are short.
        tools = {
            "threadlint": [args.threadlint, "check", "--output-format", "concise",
                           "--exit-zero", "--no-cache", "tree"],
            # The second run of an unchanged tree: every file's results come from the cache.
            "threadlint (cached)": [args.threadlint, "check", "--output-format", "concise",
                                    "--exit-zero", "--cache-dir", "cache", "tree"],
            "ruff": [ruff, "check", "--isolated", "--no-cache", "--select", "PLW2101",
                     "--exit-zero", "tree"],
            "pylint": [pylint, "--disable=all",
                       "--enable=consider-using-with,useless-with-lock",
                       "--exit-zero", "--recursive=y", "tree"],
        }
        versions = {
            "threadlint": first_line([args.threadlint, "--version"])
            + (f" ({args.revision})" if args.revision else ""),
            "threadlint (cached)": "the same binary, cache filled by the warm-up run",
            "ruff": first_line([ruff, "--version"]),
            "pylint": " / ".join(
                " ".join(l.split()) for l in subprocess.run(
                    [pylint, "--version"], capture_output=True, text=True, check=False
                ).stdout.splitlines()[:2]
            ) or "unknown",
        }

        def out_paths(name, i):
            return (os.path.join(work, f"{name}.{i}.out"), os.path.join(work, f"{name}.{i}.err"))

        results = collections.defaultdict(list)
        fast = ["threadlint", "ruff", "threadlint (cached)"]
        # Warm-up run of each fast tool: fills the page cache, checks the tool works, and
        # gives the output the findings are counted from. Not timed.
        for name in fast:
            print(f"== warm-up: {name}", flush=True)
            r = measure(tools[name], work, *out_paths(name, "warmup"))
            if r["rc"] != 0:
                print(f"   {name} exited with {r['rc']}; stderr tail:", flush=True)
                with open(out_paths(name, "warmup")[1], errors="replace") as f:
                    print("   " + "\n   ".join(f.read().splitlines()[-5:]), flush=True)
        # Timed runs, interleaved so that background load hits both tools alike.
        for i in range(args.runs):
            for name in fast:
                r = measure(tools[name], work, *out_paths(name, i))
                results[name].append(r)
                print(f"== run {i + 1}/{args.runs} {name}: {r['wall']:.2f} s, "
                      f"{r['rss_kib'] / 1024:.0f} MiB, rc {r['rc']}", flush=True)

        pylint_note = None
        if args.skip_pylint:
            pylint_note = "skipped (--skip-pylint)"
        else:
            print(f"== pylint, one run, time limit {args.pylint_timeout:.0f} s "
                  "(this takes minutes)", flush=True)
            r = measure(tools["pylint"], work, *out_paths("pylint", 0),
                        timeout=args.pylint_timeout)
            results["pylint"].append(r)
            print(f"   pylint: {r['wall']:.1f} s, {r['rss_kib'] / 1024:.0f} MiB, "
                  f"rc {r['rc']}", flush=True)
            if r["timed_out"]:
                pylint_note = (f"did not finish within {args.pylint_timeout:.0f} s "
                               "(killed; figures are lower bounds)")
            elif r["rc"] != 0:
                with open(out_paths("pylint", 0)[1], errors="replace") as f:
                    tail = f.read().splitlines()[-3:]
                pylint_note = f"exited with {r['rc']}: " + " | ".join(tail)

        findings = {}
        for name in tools:
            i = "warmup" if name in fast else 0
            path = out_paths(name, i)[0]
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    findings[name] = count_findings(name, f.read())

        # ---- report ----
        def med(name, key):
            return statistics.median(r[key] for r in results[name])

        base_wall = med("threadlint", "wall")
        base_rss = med("threadlint", "rss_kib")
        date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        print()
        print(f"Date:    {date}")
        print(f"Machine: {machine()}")
        print(f"Load:    1-minute load average {load_start:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end")
        tree_py = first_line([sys.executable, "--version"])
        print(f"Tree:    {args.tree}: {files} .py files, {lines} lines "
              f"(interpreter running the bench: {tree_py})")
        for name, v in versions.items():
            print(f"{name + ':':11s} {v}")
        print()
        print("| tool | runs | wall time (median) | vs threadlint | peak RSS (median) "
              "| vs threadlint | CPU time (user+sys) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in tools:
            if not results[name]:
                print(f"| {name} | 0 | - | - | - | - | - |")
                continue
            wall, rss, cpu = med(name, "wall"), med(name, "rss_kib"), med(name, "cpu")
            lb = ">" if any(r["timed_out"] for r in results[name]) else ""
            print(f"| {name} | {len(results[name])} | {lb}{secs(wall)} "
                  f"| {lb}{wall / base_wall:.2f}x | {rss / 1024:.0f} MiB "
                  f"| {rss / base_rss:.2f}x | {lb}{secs(cpu)} |")
        print()
        for name in tools:
            if results[name]:
                walls = ", ".join(secs(r["wall"]) for r in results[name])
                print(f"{name} wall times: {walls}")
        print()
        for name in tools:
            if name in findings:
                print(f"{name} findings: {fmt_counts(findings[name])}")
        for name in tools:
            codes = sorted({r["rc"] for r in results[name] if not r["timed_out"]} - {0})
            if codes:
                print(f"{name}: exit code {', '.join(map(str, codes))} despite --exit-zero "
                      f"(in {sum(r['rc'] != 0 for r in results[name])} of "
                      f"{len(results[name])} runs)")
        if pylint_note:
            print(f"pylint: {pylint_note}")
        for name in tools:
            if results[name] and name != "threadlint":
                lb = "more than " if any(r["timed_out"] for r in results[name]) else ""
                ratio = med(name, "wall") / base_wall
                print(f"{name}: {lb}{ratio:.2f}x threadlint's time, "
                      f"{med(name, 'rss_kib') / base_rss:.2f}x its peak RSS")
        if args.keep:
            print(f"\nstaged tree and tool outputs kept in {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
