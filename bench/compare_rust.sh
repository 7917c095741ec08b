#!/usr/bin/env bash
# Times threadlint against `cargo clippy` (restricted to its lock lints) on real Rust crates
# and prints per-crate and total wall time, peak RSS, ratios and the findings of both tools.
#
#   bash bench/compare_rust.sh
#
# Needs only a Rust toolchain with cargo and clippy (plus the usual POSIX tools: awk, sed,
# grep, sort). Builds threadlint in release mode, compiles bench/measure.rs with rustc, and
# copies each crate out of a `cargo vendor` folder into a temporary folder, where it is
# built offline against that folder ("warm": the dependencies are built by an untimed
# warm-up run; each timed clippy run re-checks only the crate, after touching its lib.rs).
# clippy is timed twice: as cargo runs it by default (incremental) and with
# CARGO_INCREMENTAL=0 (a full re-check of the crate, like threadlint's --no-cache run).
# A probe crate first shows that both tools' checks are on. Described in
# docs/benchmarks.md, section "Rust". Not part of the test suite.
#
# The vendor folder: $RUSTCORPUS/vendor (default /tmp/rustcorpus/vendor) if it exists, else
# bench/.rustcorpus/vendor (ignored by git), which is created on first use from
# bench/rust-corpus.toml and bench/rust-corpus.lock with `cargo vendor` (needs crates.io).
#
# Environment: BENCH_RUNS (timed runs of each tool on each crate, default 5),
# BENCH_CRATES (space-separated crate[:features] list, default below), RUSTCORPUS,
# BENCH_KEEP=1 (keep the staged crates and the tools' outputs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${BENCH_RUNS:-5}"
# tokio's default feature set is empty (almost nothing compiles); `full` is what the
# corpus project enables and what clippy needs to see the runtime and sync code.
read -r -a crates <<<"${BENCH_CRATES:-tokio:full crossbeam-channel crossbeam-utils \
crossbeam-epoch crossbeam-deque parking_lot parking_lot_core lock_api rayon-core rayon dashmap}"
# clippy::let_underscore_lock was moved into rustc as `let_underscore_lock` (deny by
# default); the flag is kept so that the command reads the same on older toolchains.
clippy_lints=(-A clippy::all -W clippy::await_holding_lock -W clippy::let_underscore_lock)
peer_codes=(clippy::await_holding_lock let_underscore_lock)

for tool in cargo rustc awk sed grep sort; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 2; }
done
if ! cargo clippy --version >/dev/null 2>&1; then
    echo "error: cargo clippy is not installed (rustup component add clippy)" >&2
    exit 2
fi
# The staged crates lie outside this repository: run them with the toolchain active here,
# not with whatever a crate's own rust-toolchain.toml asks for.
if command -v rustup >/dev/null && [[ -z "${RUSTUP_TOOLCHAIN:-}" ]]; then
    if toolchain="$(rustup show active-toolchain 2>/dev/null)"; then
        export RUSTUP_TOOLCHAIN="${toolchain%% *}"
    fi
fi

echo "== cargo build --release"
cargo build --release
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | grep -o '"target_directory":"[^"]*"' | sed 's/^"target_directory":"//; s/"$//')"
threadlint="$target_dir/release/threadlint"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    revision="$revision with uncommitted changes"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/threadlint-bench-rust-XXXXXX")"
cleanup() {
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "staged crates and tool outputs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
measure="$work/measure"
rustc --edition 2021 -O "$root/bench/measure.rs" -o "$measure"

# ---- the vendor folder ----
corpus="${RUSTCORPUS:-/tmp/rustcorpus}"
if [[ -d "$corpus/vendor" ]]; then
    vendor="$(cd "$corpus/vendor" && pwd)"
else
    scratch="$root/bench/.rustcorpus"
    vendor="$scratch/vendor"
    if [[ ! -d "$vendor" ]]; then
        echo "== creating $scratch (cargo vendor, downloads from crates.io)"
        mkdir -p "$scratch/src"
        cp "$root/bench/rust-corpus.toml" "$scratch/Cargo.toml"
        cp "$root/bench/rust-corpus.lock" "$scratch/Cargo.lock"
        echo 'fn main() {}' >"$scratch/src/main.rs"
        if ! (cd "$scratch" && cargo vendor --quiet --locked vendor.tmp >/dev/null); then
            echo "   the pinned Cargo.lock did not vendor; retrying with the newest versions"
            (cd "$scratch" && rm -rf vendor.tmp && cargo vendor --quiet vendor.tmp >/dev/null)
        fi
        mv "$scratch/vendor.tmp" "$vendor"
    fi
fi
echo "== corpus: $vendor"

# Package name -> vendored folder (cargo vendor names a folder name-version when it holds
# several versions of a package; the first one found is used).
declare -A crate_dir=()
for d in "$vendor"/*/; do
    name="$(awk -F'"' '/^name = /{print $2; exit}' "$d/Cargo.toml" 2>/dev/null || true)"
    if [[ -n "$name" && -z "${crate_dir[$name]:-}" ]]; then
        crate_dir[$name]="${d%/}"
    fi
done
vendored="${!crate_dir[*]}"

mkdir -p "$work/.cargo" "$work/crates" "$work/out" "$work/stats" "$work/manifests"
cat >"$work/.cargo/config.toml" <<EOF
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$vendor"

[net]
offline = true
EOF

count_rs() {  # files and lines of the *.rs files under $1
    find "$1" -name '*.rs' -type f -exec cat {} + 2>/dev/null | wc -l | tr -d ' ' >"$work/lines"
    echo "$(find "$1" -name '*.rs' -type f | wc -l | tr -d ' ') $(cat "$work/lines")"
}

# ---- staging ----
names=()
declare -A features=() version=() libpath=()
for spec in "${crates[@]}"; do
    name="${spec%%:*}"
    feat=""
    if [[ "$spec" == *:* ]]; then
        feat="${spec#*:}"
    fi
    src="${crate_dir[$name]:-}"
    if [[ -z "$src" ]]; then
        echo "   $name: not in the vendor folder, skipped"
        continue
    fi
    dest="$work/crates/$name"
    cp -R "$src" "$dest"
    rm -f "$dest/.cargo-checksum.json" "$dest/rust-toolchain" "$dest/rust-toolchain.toml" \
        "$dest/Cargo.lock"
    cp "$dest/Cargo.toml" "$work/manifests/$name.toml"
    drop=""
    ok=0
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        # The copy becomes a workspace of its own, whose lock file cargo resolves with all
        # features and dev-dependencies: bench/trim_manifest.awk drops what the library
        # built with these features does not use (see there).
        awk -v vendored="$vendored" -v want="${feat//,/ }" -v drop="$drop" \
            -f "$root/bench/trim_manifest.awk" \
            "$work/manifests/$name.toml" "$work/manifests/$name.toml" >"$dest/Cargo.toml"
        if (cd "$dest" && cargo generate-lockfile --offline -q 2>"$work/out/$name.lock.err"); then
            ok=1
            break
        fi
        # A vendored package with a version the crate cannot use: drop it as well.
        # shellcheck disable=SC2016  # the backquotes are cargo's, not a command
        missing="$(sed -n 's/.*no matching package named `\([^`]*\)`.*/\1/p;
            s/^searched package name: `\([^`]*\)`.*/\1/p
            s/.*failed to select a version for the requirement `\([^ `]*\) .*/\1/p' \
            "$work/out/$name.lock.err" | head -n 1)"
        if [[ -z "$missing" || " $drop " == *" $missing "* ]]; then
            break
        fi
        drop="$drop $missing"
    done
    if [[ "$ok" != 1 ]]; then
        echo "   $name: does not resolve against the vendor folder, skipped:"
        sed 's/^/     /' "$work/out/$name.lock.err" | head -n 5
        continue
    fi
    version[$name]="$(awk -F'"' '/^version = /{print $2; exit}' "$dest/Cargo.toml")"
    libpath[$name]="$(awk '/^\[/{s=$0} s=="[lib]" && /^path = /{gsub(/"/,"",$3); print $3; exit}' \
        "$dest/Cargo.toml")"
    libpath[$name]="${libpath[$name]:-src/lib.rs}"
    features[$name]="$feat"
    names+=("$name")
done
if [[ ${#names[@]} == 0 ]]; then
    echo "error: no crate to check" >&2
    exit 2
fi

clippy_cmd() {  # the clippy command line for crate $1
    local cmd=(cargo clippy --offline --lib --message-format=json)
    if [[ -n "${features[$1]:-}" ]]; then
        cmd+=(--features "${features[$1]}")
    fi
    echo "${cmd[*]} -- ${clippy_lints[*]}"
}

# The tools: threadlint; clippy as cargo runs it by default, with incremental compilation
# (a re-check reuses the previous one's results); clippy with CARGO_INCREMENTAL=0, a full
# re-check of the crate, which is what threadlint's --no-cache run does.
tools=(threadlint clippy clippy-full)
declare -A tool_label=([threadlint]="threadlint" [clippy]="clippy (incremental)"
    [clippy-full]="clippy (CARGO_INCREMENTAL=0)")

run_tool() {  # run_tool TOOL CRATE TAG: runs one tool on one crate, stats to $work/stats
    local tool="$1" name="$2" tag="$3" dir="$work/crates" incremental=1
    local out="$work/out/$name.$tool.$tag"
    if [[ "$name" == probe ]]; then
        dir="$work"
    fi
    if [[ "$tool" == threadlint ]]; then
        (cd "$dir" && "$measure" "$work/stats/$name.$tool.$tag" "$threadlint" check \
            --no-cache --exit-zero --output-format concise "$name") >"$out.out" 2>"$out.err"
        return
    fi
    if [[ "$tool" == clippy-full ]]; then
        incremental=0
    fi
    touch "$dir/$name/${libpath[$name]}"
    # shellcheck disable=SC2046  # the command line is split on purpose
    (cd "$dir/$name" && CARGO_INCREMENTAL="$incremental" CARGO_TARGET_DIR="$work/target/$name.$tool" \
        "$measure" "$work/stats/$name.$tool.$tag" $(clippy_cmd "$name")) >"$out.out" 2>"$out.err"
}

# Findings: threadlint's concise lines `path:row:col: CODE ...`; clippy's JSON messages
# (one line each, `"code":{"code":"..."`, then the primary span's file and line).
tl_codes() { sed -n 's/^[^ ]*:[0-9]*:[0-9]*: \([A-Za-z0-9-]*\).*/\1/p' "$1"; }
clippy_hits() {  # "code file:line" per diagnostic with a code; the location is the
    # primary one, as printed in the rendered message (` --> file:line:col`)
    awk '/"reason":"compiler-message"/ {
        if (!match($0, /"code":[{]"code":"[^"]*"/)) next
        code = substr($0, RSTART + 16, RLENGTH - 17); loc = "?"
        i = index($0, "\"rendered\":\"")
        if (i) {
            r = substr($0, i); j = index(r, "--> ")
            if (j) { r = substr(r, j + 4); if (match(r, /^[^:\\]*:[0-9]+/)) loc = substr(r, 1, RLENGTH) }
        }
        print code, loc
    }' "$1"
}
summarize() {  # "CODE n, CODE n" from a list of codes on stdin
    sort | uniq -c | awk '{printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1} END {if (!NR) printf "none"}'
}

# Probe: a crate with one lock held across an await and one guard dropped at once, to show
# that both tools' checks are on (not timed).
mkdir -p "$work/probe/src"
cat >"$work/probe/Cargo.toml" <<'TOML'
[package]
name = "probe"
version = "0.1.0"
edition = "2021"
publish = false
TOML
cat >"$work/probe/src/lib.rs" <<'RUST'
use std::sync::Mutex;

pub async fn held_across_await(m: &Mutex<u32>) {
    let guard = m.lock().unwrap();
    std::future::ready(()).await;
    drop(guard);
}

pub fn dropped_at_once(m: &Mutex<u32>) {
    let _ = m.lock().unwrap();
}
RUST
libpath[probe]=src/lib.rs
features[probe]=""
echo "== probe crate"
for tool in threadlint clippy; do
    run_tool "$tool" probe warmup
done
probe_tl="$(tl_codes "$work/out/probe.threadlint.warmup.out" | summarize)"
probe_clippy="$(clippy_hits "$work/out/probe.clippy.warmup.out" | awk '{print $1}' | summarize)"

load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"

# Warm-up: builds each crate's dependencies for clippy, fills the page cache, and gives
# the outputs the findings are counted from. Not timed.
declare -A failed=()
for name in "${names[@]}"; do
    echo "== warm-up: $name ${version[$name]} (clippy builds the dependencies)"
    for tool in "${tools[@]}"; do
        run_tool "$tool" "$name" warmup
        read -r wall rss cpu rc <"$work/stats/$name.$tool.warmup"
        echo "   $tool: ${wall} s, rc $rc"
        if [[ "$rc" != 0 ]]; then
            echo "   $tool exited with $rc; stderr tail:"
            tail -n 5 "$work/out/$name.$tool.warmup.err" | sed 's/^/     /'
            failed[$name]="${failed[$name]:-}${failed[$name]:+, }$tool"
        fi
    done
done

# Timed runs: round-robin over the crates and the tools, so that background load hits all
# of them alike.
for ((i = 1; i <= runs; i++)); do
    for name in "${names[@]}"; do
        for tool in "${tools[@]}"; do
            run_tool "$tool" "$name" "$i"
            read -r wall rss cpu rc <"$work/stats/$name.$tool.$i"
            printf '== run %d/%d %-18s %-11s %7.2f s %5d MiB rc %s\n' "$i" "$runs" "$name" \
                "$tool" "$wall" "$((rss / 1024))" "$rc"
        done
    done
done
load_end="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"

# ---- report ----
median_of() {  # median_of TOOL CRATE COLUMN (1 wall, 2 RSS KiB, 3 CPU)
    for ((i = 1; i <= runs; i++)); do
        awk -v c="$3" '{print $c}' "$work/stats/$2.$1.$i"
    done | sort -g | awk '{a[NR] = $1}
        END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
fmt_s() { awk -v s="$1" 'BEGIN { if (s < 10) printf "%.3f s", s; else printf "%.1f s", s }'; }
fmt_mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

machine() {
    local cpu mem
    cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    mem="$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)"
    echo "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs (${cpu:-unknown CPU}), ${mem:-?} RAM, $(uname -sr)"
}

echo
echo "Date:    $(date '+%Y-%m-%d %H:%M %Z')"
echo "Machine: $(machine)"
echo "Load:    1-minute load average $load_start at the start, $load_end at the end"
echo "Corpus:  $vendor"
echo "threadlint: $("$threadlint" --version) ($revision)"
echo "rustc:      $(rustc --version)"
echo "cargo:      $(cargo --version)"
echo "clippy:     $(cargo clippy --version)"
echo "threadlint command: threadlint check --no-cache --exit-zero --output-format concise CRATE"
echo "clippy command:     cargo clippy --offline --lib --message-format=json [--features F] -- ${clippy_lints[*]}"
echo "                    (in CRATE, after touching its lib.rs; clippy-full with CARGO_INCREMENTAL=0)"
echo "Runs:    $runs timed runs of each tool on each crate, after one warm-up run; medians"
echo "Probe:   threadlint found: $probe_tl; clippy found: $probe_clippy"
echo

declare -A tot_wall=() tot_cpu=() max_rss=() med=()
for tool in "${tools[@]}"; do
    tot_wall[$tool]=0; tot_cpu[$tool]=0; max_rss[$tool]=0
done
for name in "${names[@]}"; do
    for tool in "${tools[@]}"; do
        for col in 1 2 3; do
            med[$name.$tool.$col]="$(median_of "$tool" "$name" "$col")"
        done
        tot_wall[$tool]="$(add "${tot_wall[$tool]}" "${med[$name.$tool.1]}")"
        tot_cpu[$tool]="$(add "${tot_cpu[$tool]}" "${med[$name.$tool.3]}")"
        max_rss[$tool]="$(max "${max_rss[$tool]}" "${med[$name.$tool.2]}")"
    done
done

echo "Wall time, median of $runs runs, and ratio to threadlint's:"
echo
echo "| crate | version | features | .rs files (lines) | threadlint | clippy (incremental) | vs threadlint | clippy (CARGO_INCREMENTAL=0) | vs threadlint |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
tot_files=0 tot_lines=0
for name in "${names[@]}"; do
    read -r files lines < <(count_rs "$work/crates/$name")
    read -r sfiles slines < <(count_rs "$work/crates/$name/src")
    tot_files=$((tot_files + files)); tot_lines=$((tot_lines + lines))
    mark=""
    if [[ -n "${failed[$name]:-}" ]]; then
        mark=" (failed: ${failed[$name]})"
    fi
    tw="${med[$name.threadlint.1]}"
    echo "| $name$mark | ${version[$name]} | ${features[$name]:-default} | $files ($lines), src/ $sfiles ($slines) | $(fmt_s "$tw") | $(fmt_s "${med[$name.clippy.1]}") | $(ratio "${med[$name.clippy.1]}" "$tw") | $(fmt_s "${med[$name.clippy-full.1]}") | $(ratio "${med[$name.clippy-full.1]}" "$tw") |"
done
tw="${tot_wall[threadlint]}"
echo "| **total** | | | $tot_files ($tot_lines) | $(fmt_s "$tw") | $(fmt_s "${tot_wall[clippy]}") | $(ratio "${tot_wall[clippy]}" "$tw") | $(fmt_s "${tot_wall[clippy-full]}") | $(ratio "${tot_wall[clippy-full]}" "$tw") |"
echo
echo "Peak RSS, median of $runs runs (for clippy: the largest process, usually clippy-driver):"
echo
echo "| crate | threadlint | clippy (incremental) | vs threadlint | clippy (CARGO_INCREMENTAL=0) | vs threadlint |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for name in "${names[@]}"; do
    tr="${med[$name.threadlint.2]}"
    echo "| $name | $(fmt_mib "$tr") | $(fmt_mib "${med[$name.clippy.2]}") | $(ratio "${med[$name.clippy.2]}" "$tr") | $(fmt_mib "${med[$name.clippy-full.2]}") | $(ratio "${med[$name.clippy-full.2]}" "$tr") |"
done
tr="${max_rss[threadlint]}"
echo "| **largest** | $(fmt_mib "$tr") | $(fmt_mib "${max_rss[clippy]}") | $(ratio "${max_rss[clippy]}" "$tr") | $(fmt_mib "${max_rss[clippy-full]}") | $(ratio "${max_rss[clippy-full]}" "$tr") |"
echo
echo "Totals (wall and CPU time: sums of the per-crate medians; peak RSS: the largest median):"
echo
echo "| tool | wall time | vs threadlint | peak RSS | vs threadlint | CPU time (user+sys) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for tool in "${tools[@]}"; do
    echo "| ${tool_label[$tool]} | $(fmt_s "${tot_wall[$tool]}") | $(ratio "${tot_wall[$tool]}" "${tot_wall[threadlint]}") | $(fmt_mib "${max_rss[$tool]}") | $(ratio "${max_rss[$tool]}" "${max_rss[threadlint]}") | $(fmt_s "${tot_cpu[$tool]}") |"
done
echo

for name in "${names[@]}"; do
    for tool in "${tools[@]}"; do
        walls="$(for ((i = 1; i <= runs; i++)); do
            awk '{printf "%.2f\n", $1}' "$work/stats/$name.$tool.$i"; done | paste -sd, - | sed 's/,/, /g')"
        echo "$name $tool wall times (s): $walls"
    done
done
echo

echo "Findings (warm-up run; clippy sees the library as compiled with the features above,"
echo "threadlint every .rs file of the crate folder, including tests, benches and examples):"
echo
echo "| crate | clippy::await_holding_lock | let_underscore_lock | other clippy/rustc diagnostics | threadlint TL018 | threadlint TL017 | threadlint, all | of them in src/ |"
echo "| --- | ---: | ---: | --- | ---: | ---: | --- | --- |"
for name in "${names[@]}"; do
    tl="$work/out/$name.threadlint.warmup.out"
    clippy_hits "$work/out/$name.clippy.warmup.out" >"$work/out/$name.clippy.hits"
    ahl="$(grep -c '^clippy::await_holding_lock ' "$work/out/$name.clippy.hits" || true)"
    lul="$(grep -c '^let_underscore_lock ' "$work/out/$name.clippy.hits" || true)"
    other="$(awk '$1 != "clippy::await_holding_lock" && $1 != "let_underscore_lock" {print $1}' \
        "$work/out/$name.clippy.hits" | summarize)"
    t18="$(tl_codes "$tl" | grep -c '^TL018$' || true)"
    t17="$(tl_codes "$tl" | grep -c '^TL017$' || true)"
    all="$(tl_codes "$tl" | summarize)"
    src="$( (grep "^$name/src/" "$tl" || true) | tl_codes /dev/stdin | summarize)"
    echo "| $name | $ahl | $lul | $other | $t18 | $t17 | $all | $src |"
done
echo

echo "Locations of the overlapping findings (none if empty):"
for name in "${names[@]}"; do
    for code in "${peer_codes[@]}"; do
        grep "^$code " "$work/out/$name.clippy.hits" | sed "s|^[^ ]* |  clippy $code: $name/|" || true
    done
    grep -E '^[^ ]*:[0-9]+:[0-9]+: TL01[78] ' "$work/out/$name.threadlint.warmup.out" \
        | sed 's/^\([^ ]*\): \(TL01[78]\) .*/  threadlint \2: \1/' || true
done
for name in "${names[@]}"; do
    for tool in "${tools[@]}"; do
        codes="$(for ((i = 1; i <= runs; i++)); do
            awk '$4 != 0 {print $4}' "$work/stats/$name.$tool.$i"; done | sort -u | paste -sd, -)"
        if [[ -n "$codes" ]]; then
            echo "$name: $tool exited with $codes in some timed runs"
        fi
    done
done
echo
echo "Ratios of the totals: clippy (incremental) $(ratio "${tot_wall[clippy]}" "${tot_wall[threadlint]}")" \
    "and clippy (CARGO_INCREMENTAL=0) $(ratio "${tot_wall[clippy-full]}" "${tot_wall[threadlint]}")" \
    "threadlint's wall time; peak RSS $(ratio "${max_rss[clippy]}" "${max_rss[threadlint]}")" \
    "and $(ratio "${max_rss[clippy-full]}" "${max_rss[threadlint]}") threadlint's."
