#!/usr/bin/env bash
# Times threadlint against ruff and pylint on the CPython standard library (or on the folder
# given as the first argument) and prints a table of wall time, peak RSS and ratios.
#
#   bash bench/compare.sh [TREE]
#
# Needs cargo, python3 and pip; builds threadlint in release mode and installs the pinned
# ruff and pylint of bench/requirements.txt into bench/.venv. Not part of the test suite.
#
# Environment: BENCH_RUNS (timed runs of threadlint and ruff, default 5),
# PYLINT_TIMEOUT (seconds, default 1800), SKIP_PYLINT=1, BENCH_KEEP=1 (keep the staged tree
# and the tools' outputs), PYTHON (default python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PYTHON="${PYTHON:-python3}"
venv="$root/bench/.venv"

tree="${1:-$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['stdlib'])")}"
if [[ ! -d "$tree" ]]; then
    echo "error: $tree is not a folder" >&2
    exit 2
fi

echo "== cargo build --release"
cargo build --release
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
threadlint="$target_dir/release/threadlint"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    revision="$revision with uncommitted changes"
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "== creating $venv"
    if ! "$PYTHON" -m venv "$venv"; then
        # Debian's python3 needs python3-venv (ensurepip) for this.
        rm -rf "$venv"
        if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
            pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt-get update -qq
            apt-get install -y -qq "python${pyver}-venv" || apt-get install -y -qq python3-venv
            "$PYTHON" -m venv "$venv"
        else
            echo "error: '$PYTHON -m venv' failed; install your distribution's venv package" >&2
            exit 2
        fi
    fi
fi
echo "== installing bench/requirements.txt into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$root/bench/requirements.txt"

args=(--tree "$tree" --threadlint "$threadlint" --venv "$venv"
      --revision "$revision" --runs "${BENCH_RUNS:-5}" --pylint-timeout "${PYLINT_TIMEOUT:-1800}")
[[ "${SKIP_PYLINT:-0}" == 1 ]] && args+=(--skip-pylint)
[[ "${BENCH_KEEP:-0}" == 1 ]] && args+=(--keep)
exec "$PYTHON" "$root/bench/compare.py" "${args[@]}"
