"""How threadlint's run time and memory grow with the size of the tree, next to ruff's.

    python3 bench/growth.py THREADLINT RUFF [STDLIB] [--out docs/images/growth.svg]

Builds, under a temporary folder, 1, 4 and 16 copies of the Python standard library (STDLIB,
default: this interpreter's) and a synthetic tree of 50,000 small files (one in ten uses
`threading`), then times `threadlint check --no-cache` (every rule) and
`ruff check --no-cache --select PLW2101` on each, three runs, and prints a Markdown table of the
medians (wall time, peak RSS) with their ratios. With --out, also writes an SVG plot of wall
time against the number of files. Standard library only; Linux (peak RSS from `wait4`).
"""

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

RUNS = 3


def measure(command, cwd):
    """Wall seconds and peak RSS (MiB) of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def median_of(command, cwd):
    runs = [measure(command, cwd) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def copy_stdlib(stdlib, target, copies):
    for i in range(copies):
        shutil.copytree(
            stdlib,
            target / f"copy{i}",
            ignore=shutil.ignore_patterns("__pycache__", "site-packages", "*.pyc"),
            symlinks=True,
        )


def synthetic(target, files):
    plain = "import os\n\n\ndef size(path):\n    return os.stat(path).st_size\n"
    threaded = (
        "import threading\n\nlock = threading.Lock()\ncount = 0\n\n\n"
        "def bump():\n    global count\n    with lock:\n        count += 1\n"
    )
    for i in range(files):
        folder = target / f"pkg{i // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i}.py").write_text(threaded if i % 10 == 0 else plain)


def count_files(root):
    return sum(1 for _ in Path(root).rglob("*.py"))


def svg(rows, out):
    width, height, margin = 640, 400, 60
    xs = [r["files"] for r in rows]
    ys = [max(r["threadlint"][0], r["ruff"][0]) for r in rows]
    x_max, y_max = max(xs) * 1.05, max(ys) * 1.15

    def point(files, seconds):
        x = margin + (width - 2 * margin) * files / x_max
        y = height - margin - (height - 2 * margin) * seconds / y_max
        return f"{x:.1f},{y:.1f}"

    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
        f'y2="{height - margin}" stroke="black"/>',
        f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 20}" text-anchor="middle">Python files</text>',
        f'<text x="15" y="{height / 2}" transform="rotate(-90 15,{height / 2})" '
        'text-anchor="middle">wall time (s), median of 3</text>',
    ]
    for i in range(5):
        seconds = y_max * i / 4
        y = height - margin - (height - 2 * margin) * i / 4
        lines.append(
            f'<text x="{margin - 6}" y="{y + 4:.1f}" text-anchor="end">{seconds:.1f}</text>'
        )
    for files in sorted(set(xs)):
        x = margin + (width - 2 * margin) * files / x_max
        lines.append(
            f'<text x="{x:.1f}" y="{height - margin + 16}" text-anchor="middle">{files:,}</text>'
        )
    for tool, colour, dy in (("threadlint", "#1f77b4", 0), ("ruff", "#d62728", 16)):
        ordered = sorted(rows, key=lambda r: r["files"])
        path = " ".join(point(r["files"], r[tool][0]) for r in ordered)
        lines.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in ordered:
            x, y = point(r["files"], r[tool][0]).split(",")
            lines.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
        label = tool if tool == "threadlint" else "ruff --select PLW2101"
        lines.append(
            f'<text x="{margin + 10}" y="{margin + dy}" fill="{colour}">{label}</text>'
        )
    lines.append("</svg>")
    Path(out).write_text("\n".join(lines) + "\n")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--out")]
    out = None
    if "--out" in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
        args.remove(out)
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    threadlint, ruff = os.path.abspath(args[0]), args[1]
    stdlib = Path(args[2] if len(args) > 2 else sysconfig.get_paths()["stdlib"])
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        trees = []
        for copies in (1, 4, 16):
            tree = Path(scratch) / f"stdlib-x{copies}"
            copy_stdlib(stdlib, tree, copies)
            trees.append((f"stdlib x{copies}", tree))
        tree = Path(scratch) / "synthetic"
        synthetic(tree, 50_000)
        trees.append(("50,000 small files", tree))
        for name, tree in trees:
            row = {"name": name, "files": count_files(tree)}
            row["threadlint"] = median_of([threadlint, "check", "--no-cache", "-q", "."], tree)
            row["ruff"] = median_of(
                [ruff, "check", "--no-cache", "--select", "PLW2101", "-q", "."], tree
            )
            rows.append(row)
            print(f"measured {name}", file=sys.stderr)
    print("| tree | files | threadlint wall | ruff wall | ratio | threadlint RSS | ruff RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t, f = r["threadlint"], r["ruff"]
        print(
            f"| {r['name']} | {r['files']:,} | {t[0]:.2f} s | {f[0]:.2f} s | "
            f"{t[0] / f[0]:.2f}x | {t[1]:.0f} MiB | {f[1]:.0f} MiB |"
        )
    if out:
        svg(rows, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
