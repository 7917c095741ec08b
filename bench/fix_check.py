#!/usr/bin/env python3
"""Corpus-wide check of the fixes: apply every fix (`--fix --unsafe-fixes`) to copies of real
projects, then re-parse and re-lint them.

For each corpus it checks that
- every file that parsed before still parses (threadlint's own parser, and for Python also
  the `ast` module of the python3 running this script);
- the fixed findings are gone: per file and rule, the findings after the fix are at most the
  findings before minus the fixes applied;
- nothing new of error severity appeared (compared per file by rule and message);
- a second `--fix --unsafe-fixes` run changes nothing.

Corpora (downloaded or copied into a scratch folder outside the repository, never into it):
- `stdlib`: the standard library of this python3 (without site-packages);
- `pypi`: sdists from PyPI (`pip download --no-binary :all: --no-deps NAME`);
- `crates`: the crates of bench/rust-corpus.toml, fetched with `cargo vendor`;
- `site-packages` (only when asked for): the installed packages of this python3.

Usage: python3 bench/fix_check.py [--threadlint PATH] [--work DIR] [--corpus NAME ...]
           [--sdist NAME ...]
Without --threadlint it builds the release binary. Exit status 1 when a check fails.
"""

import argparse
import ast
import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SDISTS = ["celery", "kombu", "gunicorn", "apscheduler", "paramiko", "watchdog"]
SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".venv", "venv", "node_modules"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def copy_tree(source, target, suffixes):
    """Copies the source files (by suffix) of `source` to `target`; returns their count."""
    count = 0
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.endswith(suffixes):
                src = Path(folder) / name
                dst = target / src.relative_to(source)
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copyfile(src, dst)
                    count += 1
                except OSError:
                    pass
    return count


def stage_stdlib(work):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    target = work / "stdlib"
    copy_tree(stdlib, target, (".py",))
    return target, f"CPython {sys.version.split()[0]} standard library"


def stage_site_packages(work):
    site = Path(sysconfig.get_paths()["purelib"])
    target = work / "site-packages"
    for folder in sorted(site.iterdir()):
        if folder.is_dir() and not folder.name.endswith((".dist-info", ".egg-info")):
            copy_tree(folder, target / folder.name, (".py",))
    return target, f"the site-packages of this python3 ({site.name}, every package)"


def stage_pypi(work, names):
    downloads = work / "downloads" / "pypi"
    downloads.mkdir(parents=True, exist_ok=True)
    target = work / "pypi"
    versions = []
    for name in names:
        done = list(downloads.glob(f"{name}-*")) + list(downloads.glob(f"{name.replace('-', '_')}-*"))
        if not done:
            log(f"== pip download {name}")
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
                 "--no-deps", "--dest", str(downloads), name],
                capture_output=True, text=True)
            if result.returncode != 0:
                log(f"   {name}: download failed, skipped: {result.stderr.strip()[:300]}")
                continue
            done = list(downloads.glob(f"{name}-*")) + list(downloads.glob(f"{name.replace('-', '_')}-*"))
        for archive in done[:1]:
            extracted = work / "downloads" / "extracted" / archive.name
            if not extracted.exists():
                extracted.mkdir(parents=True)
                if archive.name.endswith((".tar.gz", ".tgz", ".tar.bz2")):
                    with tarfile.open(archive) as tar:
                        tar.extractall(extracted, filter="data")
                elif archive.name.endswith(".zip"):
                    with zipfile.ZipFile(archive) as z:
                        z.extractall(extracted)
            stem = re.sub(r"\.(tar\.gz|tgz|tar\.bz2|zip)$", "", archive.name)
            versions.append(stem)
            copy_tree(extracted, target / stem, (".py",))
    return target, "sdists from PyPI: " + ", ".join(versions)


def stage_crates(work):
    corpus = work / "downloads" / "rustcorpus"
    vendor = corpus / "vendor"
    if not vendor.is_dir():
        log("== cargo vendor (downloads from crates.io)")
        corpus.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "bench" / "rust-corpus.toml", corpus / "Cargo.toml")
        shutil.copyfile(ROOT / "bench" / "rust-corpus.lock", corpus / "Cargo.lock")
        (corpus / "src").mkdir(exist_ok=True)
        (corpus / "src" / "lib.rs").write_text("")
        subprocess.run(["cargo", "vendor", "--quiet", "--locked", "vendor.tmp"],
                       cwd=corpus, check=True, stdout=subprocess.DEVNULL)
        (corpus / "vendor.tmp").rename(vendor)
    target = work / "crates"
    copy_tree(vendor, target, (".rs",))
    crates = sorted(p.name for p in vendor.iterdir() if p.is_dir())
    return target, f"{len(crates)} crates vendored from bench/rust-corpus.toml"


def run(binary, args, cwd):
    started = time.monotonic()
    result = subprocess.run([str(binary), *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode not in (0, 1, 2) or "panicked" in result.stderr:
        raise SystemExit(f"threadlint {' '.join(args)} failed ({result.returncode}):\n"
                         f"{result.stderr[-3000:]}")
    return result, time.monotonic() - started


def lint(binary, tree):
    out = tree.parent / f"{tree.name}.json"
    result, seconds = run(binary, ["check", "--select", "ALL", "--no-cache", "--exit-zero",
                                   "--output-format", "json", "--output-file", str(out), "."],
                          tree)
    return json.loads(out.read_text()), seconds


def fix(binary, tree):
    """Applies every fix; returns {file: {code: count}} of the fixes applied."""
    result, seconds = run(binary, ["check", "--select", "ALL", "--no-cache", "--exit-zero",
                                   "--fix", "--unsafe-fixes", "--show-fixes",
                                   "--output-format", "concise",
                                   "--output-file", os.devnull, "."], tree)
    applied = collections.defaultdict(collections.Counter)
    current = None
    for line in result.stderr.splitlines():
        match = re.match(r"^    (\d+) × (TL\d+)", line)
        if match and current:
            applied[current][match.group(2)] += int(match.group(1))
        elif line.endswith(":") and not line.startswith(" ") and not line.startswith("Fixed"):
            current = line[:-1]
    return applied, seconds


def digests(tree):
    return {str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tree.rglob("*")) if p.is_file()}


def python_parses(path):
    try:
        ast.parse(path.read_bytes(), filename=str(path))
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def by_file(findings):
    files = collections.defaultdict(list)
    for f in findings:
        files[f["filename"]].append(f)
    return files


def check_corpus(binary, tree, description):
    log(f"== {tree.name}: {description}")
    files = len([p for p in tree.rglob("*") if p.is_file()])
    before, lint_seconds = lint(binary, tree)
    hashes = digests(tree)
    py_before = {name: python_parses(tree / name) for name in hashes if name.endswith(".py")}
    applied, fix_seconds = fix(binary, tree)
    after, _ = lint(binary, tree)
    changed = [name for name, digest in digests(tree).items() if hashes.get(name) != digest]
    problems = []
    # 1. What parsed still parses.
    before_files, after_files = by_file(before), by_file(after)
    for name in changed:
        syntax_before = sum(f["name"] == "invalid-syntax" for f in before_files.get(name, []))
        syntax_after = sum(f["name"] == "invalid-syntax" for f in after_files.get(name, []))
        if syntax_after > syntax_before:
            problems.append(f"{name}: no longer parses (threadlint)")
        if name.endswith(".py") and py_before.get(name) and not python_parses(tree / name):
            problems.append(f"{name}: no longer parses (python3 ast)")
    # 2. The fixed findings are gone.
    for name, codes in sorted(applied.items()):
        for code, count in sorted(codes.items()):
            had = sum(f["code"] == code for f in before_files.get(name, []))
            has = sum(f["code"] == code for f in after_files.get(name, []))
            if has > had - count:
                problems.append(f"{name}: {code}: {count} fixed, but {had} before and {has} after")
    # 3. Nothing new of error severity.
    for name in sorted(set(after_files)):
        old = collections.Counter((f["code"] or f["name"], f["message"])
                                  for f in before_files.get(name, []) if f["severity"] == "error")
        new = collections.Counter((f["code"] or f["name"], f["message"])
                                  for f in after_files[name] if f["severity"] == "error")
        for (code, message), count in (new - old).items():
            problems.append(f"{name}: new error {code}: {message} (x{count})")
    # 4. A second run changes nothing.
    hashes = digests(tree)
    again, _ = fix(binary, tree)
    if again or digests(tree) != hashes:
        problems.append(f"the second run fixed more: {dict(again)}")
    per_code = collections.Counter()
    for codes in applied.values():
        per_code.update(codes)
    summary = {
        "corpus": tree.name,
        "description": description,
        "files": files,
        "findings before": len(before),
        "fixes applied": sum(per_code.values()),
        "per rule": dict(sorted(per_code.items())),
        "files changed": len(changed),
        "findings after": len(after),
        "check seconds": round(lint_seconds, 2),
        "fix seconds": round(fix_seconds, 2),
        "problems": problems,
    }
    log(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threadlint", type=Path)
    parser.add_argument("--work", type=Path,
                        default=Path(os.environ.get("TMPDIR", "/tmp")) / "threadlint-fixcheck")
    parser.add_argument("--corpus", action="append",
                        choices=["stdlib", "pypi", "crates", "site-packages"])
    parser.add_argument("--sdist", action="append")
    args = parser.parse_args()
    work = args.work.resolve()
    if work == ROOT or ROOT in work.parents:
        raise SystemExit("the scratch folder must lie outside the repository")
    binary = args.threadlint
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
        binary = ROOT / "target" / "release" / "threadlint"
    binary = binary.resolve()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
    log(f"== {version.strip()}, scratch folder {work}")
    results = []
    for name in args.corpus or ["stdlib", "pypi", "crates"]:
        tree = work / name
        if tree.exists():
            shutil.rmtree(tree)
        if name == "stdlib":
            tree, description = stage_stdlib(work)
        elif name == "site-packages":
            tree, description = stage_site_packages(work)
        elif name == "pypi":
            tree, description = stage_pypi(work, args.sdist or DEFAULT_SDISTS)
        else:
            tree, description = stage_crates(work)
        results.append(check_corpus(binary, tree, description))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
