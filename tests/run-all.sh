#!/bin/bash
# Runs every test of pam_rust_totp on a Debian bookworm machine, as root:
# installs what the tests need, then, in two stages:
#
# 1. unprivileged: formatting, lints, the documentation with warnings
#    denied, and the tests plain `cargo test` runs, executed as the user
#    nobody (so none of them may need root);
# 2. as root: the unit, property and integration tests including the
#    ignored ones (real Linux-PAM, the reference module, oathtool, zbarimg),
#    the real-sshd end-to-end test, the package install test in a
#    debootstrap'd container, and short fuzzing runs.
#
# Tests that need root or the system tools are #[ignore]d with the reason,
# so that plain `cargo test` reports them as ignored; this script installs
# the tools and runs them too (--include-ignored), where a missing tool is a
# failure, never a skip.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
export PATH="$HOME/.cargo/bin:$PATH"

SUITES_PASSED=0
SUITES_FAILED=0
FAILED_SUITES=()

# suite NAME COMMAND...: runs one suite and records its result.
suite() {
    local name=$1 started=$SECONDS
    shift
    printf '\n=== %s\n' "$name"
    if "$@"; then
        SUITES_PASSED=$((SUITES_PASSED + 1))
        printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - started))
    else
        SUITES_FAILED=$((SUITES_FAILED + 1))
        FAILED_SUITES+=("$name")
        printf '=== %s: FAILED (%ss)\n' "$name" $((SECONDS - started))
    fi
}

# The test executables `cargo test` builds, one path a line (the artifacts
# built with the test profile; not the rust-totp binary the CLI tests run).
test_executables() {
    cargo test --workspace --locked --no-run --message-format=json 2>/dev/null |
        grep -E '"profile":\{[^}]*"test":true' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4
}

# Runs every test executable as the user nobody, without the ignored tests,
# from a directory nobody may write to but everyone may enter. Where the
# tree lies below a directory nobody may not enter (a clone under /root),
# nobody keeps CAP_DAC_READ_SEARCH alone, to reach it.
tests_as_nobody() {
    local executables exe failed=0
    local as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env)
    executables=$(test_executables) || return 1
    [ -n "$executables" ] || { echo "no test executables" >&2; return 1; }
    if ! "${as_nobody[@]}" test -x "${executables%%$'\n'*}"; then
        echo "nobody cannot reach $PWD: running with CAP_DAC_READ_SEARCH only" >&2
        as_nobody+=(--inh-caps=+dac_read_search --ambient-caps=+dac_read_search)
    fi
    for exe in $executables; do
        (cd / && "${as_nobody[@]}" "$exe" -q) || failed=1
    done
    return "$failed"
}

# The workspace and the fuzz targets, which live outside it.
check_format() {
    cargo fmt --all -- --check &&
        rustfmt --edition 2024 --check fuzz/fuzz_targets/*.rs fuzz/login/fuzz_targets/*.rs
}

# Each fuzz target runs briefly from its committed seed corpus; what it finds
# goes to a scratch corpus, so the committed one stays as it is. The parser
# and verifier targets (fuzz/) build on the core alone; the login target
# (fuzz/login) drives the module's whole login flow.
fuzz_briefly() {
    local target
    for target in fuzz:state_file fuzz:verifier fuzz/login:login; do
        fuzz_target "${target%%:*}" "${target#*:}" || return 1
    done
}

# fuzz_target DIR NAME: one target's run.
fuzz_target() {
    local dir=$1 name=$2 scratch
    scratch=$(mktemp -d)
    (cd "$dir" && cargo fuzz run --fuzz-dir . --sanitizer none "$name" "$scratch" "corpus/$name" -- \
        -max_total_time="${FUZZ_SECONDS:-30}" -seed=1) || return 1
    rm -rf "$scratch"
}

if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run-all.sh must run as root (it installs packages, adds test users and starts sshd)" >&2
    exit 1
fi

bash tests/install-deps.sh || exit 1

echo "--- stage 1: unprivileged"
suite "format" check_format
suite "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
suite "documentation" env RUSTDOCFLAGS="-D warnings" \
    cargo doc --workspace --locked --no-deps --document-private-items
suite "tests as nobody" tests_as_nobody

echo "--- stage 2: as root"
suite "release build" cargo build --workspace --release --locked
suite "cargo test" cargo test --workspace --locked --no-fail-fast -- --include-ignored
suite "benchmarks compile" cargo bench --workspace --locked --no-run
suite "sshd end-to-end" bash tests/system/sshd_e2e.sh
suite "package install in a container" bash tests/system/container_install.sh
suite "fuzzing" fuzz_briefly

echo
echo "suites: $SUITES_PASSED passed, $SUITES_FAILED failed"
if [ "$SUITES_FAILED" -ne 0 ]; then
    printf 'failed: %s\n' "${FAILED_SUITES[@]}"
    exit 1
fi
