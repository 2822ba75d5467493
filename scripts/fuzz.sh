#!/usr/bin/env bash
# Runs engram's cargo-fuzz targets (fuzz/) on the stable toolchain, each for SECONDS, and prints
# per target how many inputs it ran. A crash stops the run: libFuzzer's report is printed and
# the input is kept under fuzz/artifacts/TARGET/ (replay it with the command the report gives).
# Usage: scripts/fuzz.sh SECONDS [TARGET ...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET ...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(requests analyzer import packet)

command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked --quiet cargo-fuzz
# cargo-fuzz passes flags only nightly accepts (-Z); RUSTC_BOOTSTRAP lets stable take them.
# No sanitizer: the targets and engram are safe Rust, and uninstrumented runs are ~2x faster.
export RUSTC_BOOTSTRAP=1
work="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    log="$work/$target.log"
    if ! cargo fuzz run --sanitizer none --target-dir "$work" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target failed; its input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    echo "fuzz: $target: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second\(s\)' "$log" | tail -n 1), corpus $(ls "$corpus" | wc -l) inputs"
done
