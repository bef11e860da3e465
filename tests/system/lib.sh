# shellcheck shell=bash
# Shared helpers for the system tests in tests/system/.
#
# Source this file from a bash script; it defines functions and a few
# variables and has no side effects of its own.
#
# Product locations default to the release build in the repository and can be
# overridden, e.g. to run a script against another implementation:
#   RT_PAM_MODULE  absolute path of the PAM module (.so)
#   RT_CLI         absolute path of the enrolment command

RT_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RT_PAM_MODULE="${RT_PAM_MODULE:-$RT_REPO_ROOT/target/release/libpam_rust_totp.so}"
RT_CLI="${RT_CLI:-$RT_REPO_ROOT/target/release/rust-totp}"

RT_PASSED=0
RT_FAILED=0
RT_FAILED_NAMES=()

# Exit status used when a test cannot run outside CI (automake's "skipped").
RT_EXIT_SKIP=77

rt_log() {
    printf '%s: %s\n' "${RT_TEST_NAME:-system-test}" "$*" >&2
}

rt_die() {
    rt_log "error: $*"
    exit 1
}

# rt_skip_or_fail MESSAGE: a missing prerequisite fails the run under CI and
# skips it elsewhere.
rt_skip_or_fail() {
    if [ "${CI:-}" = "true" ]; then
        rt_die "$* (CI=true: a missing prerequisite is a failure)"
    fi
    rt_log "skipped: $*"
    exit "$RT_EXIT_SKIP"
}

# rt_require_tools TOOL...: every tool must be on PATH.
rt_require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || rt_skip_or_fail "required tool '$tool' not found"
    done
}

rt_require_root() {
    [ "$(id -u)" -eq 0 ] || rt_skip_or_fail "must run as root"
}

# rt_require_file PATH DESCRIPTION
rt_require_file() {
    [ -e "$1" ] || rt_skip_or_fail "$2 not found at $1"
}

rt_pass() {
    RT_PASSED=$((RT_PASSED + 1))
    printf 'ok   - %s\n' "$1"
}

rt_fail() {
    RT_FAILED=$((RT_FAILED + 1))
    RT_FAILED_NAMES+=("$1")
    printf 'FAIL - %s\n' "$1"
}

# rt_check NAME COMMAND...: records a pass when COMMAND succeeds.
rt_check() {
    local name="$1"
    shift
    if "$@"; then rt_pass "$name"; else rt_fail "$name"; fi
}

# rt_check_fails NAME COMMAND...: records a pass when COMMAND fails.
rt_check_fails() {
    local name="$1"
    shift
    if "$@"; then rt_fail "$name"; else rt_pass "$name"; fi
}

# rt_summary PREFIX: prints "PREFIX: N passed, M failed"; returns non-zero if
# anything failed or nothing ran at all.
rt_summary() {
    local name
    for name in "${RT_FAILED_NAMES[@]}"; do
        printf 'failed: %s\n' "$name"
    done
    printf '%s: %d passed, %d failed\n' "$1" "$RT_PASSED" "$RT_FAILED"
    [ "$RT_FAILED" -eq 0 ] && [ "$RT_PASSED" -gt 0 ]
}

# rt_free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
rt_free_port() {
    local port tries=0
    while [ "$tries" -lt 200 ]; do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" | grep -q .; then
            printf '%s\n' "$port"
            return 0
        fi
        tries=$((tries + 1))
    done
    return 1
}

# rt_wait_for_port PORT SECONDS: waits until something listens on PORT.
rt_wait_for_port() {
    local port="$1" deadline=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$deadline" ]; do
        ss -Htln "sport = :$port" | grep -q . && return 0
        sleep 0.2
    done
    return 1
}

# rt_secret_of FILE: the base32 secret (first line) of a secret file.
rt_secret_of() {
    head -n 1 "$1"
}

# rt_totp SECRET [OFFSET_STEPS]: the 6-digit TOTP code (30 s steps) for now,
# or OFFSET_STEPS steps away from now.
rt_totp() {
    local secret="$1" offset="${2:-0}"
    local when=$(($(date +%s) + offset * 30))
    oathtool --totp -b --now "@$when" "$secret"
}

# rt_wrong_totp SECRET: a 6-digit code that matches none of the codes from
# ten steps before to ten steps after now.
rt_wrong_totp() {
    local secret="$1" candidate offset valid=" "
    for offset in $(seq -10 10); do
        valid+="$(rt_totp "$secret" "$offset") "
    done
    candidate=$(( (10#$(rt_totp "$secret") + 500000) % 1000000 ))
    while :; do
        candidate=$(printf '%06d' "$candidate")
        case "$valid" in
            *" $candidate "*) candidate=$(( (10#$candidate + 1) % 1000000 )) ;;
            *) printf '%s\n' "$candidate"; return 0 ;;
        esac
    done
}

# rt_wait_for_fresh_step [MIN_REMAINING]: if fewer than MIN_REMAINING seconds
# (default 5) are left in the current 30 s step, sleep into the next one so
# that a code computed now stays current for the next MIN_REMAINING seconds.
rt_wait_for_fresh_step() {
    local min="${1:-5}" remaining
    remaining=$((30 - $(date +%s) % 30))
    if [ "$remaining" -lt "$min" ]; then
        sleep "$((remaining + 1))"
    fi
}
