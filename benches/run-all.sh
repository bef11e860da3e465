#!/bin/bash
# Runs every benchmark of pam_rust_totp against Debian's pam_google_authenticator
# and prints the results as Markdown (see BENCHMARKS.md):
#
#   1. the verifier core and the state-file model (criterion, `cargo bench`);
#   2. per-login latency of both modules through real Linux-PAM in one process,
#      interleaved so that machine drift hits both alike;
#   3. loading and unloading the module as sshd does (the whole PAM
#      transaction, dlopen + dlclose alone, a fresh process per login) and
#      the module's size, relocations and touched pages;
#   4. logins per second with 1, 2 and 8 concurrent processes;
#   5. peak RSS added by loading each module;
#   6. what a home only a supplementary group may enter costs ours.
#
# Needs root (it adds temporary system users rtbo0..7, rtbr0..7 and rtbg0 with homes
# in a temporary directory and removes them at exit), gcc, libpam0g-dev,
# oathtool, util-linux and libpam-google-authenticator; missing Debian
# packages are installed. It runs in a private mount namespace in which
# /dev/log is a stand-in syslog daemon that discards messages, so that both
# modules log every login the same way and the system's auth log is spared.
#
# BENCH_SCALE=N (percent, default 100) scales the iteration counts and
# durations; SKIP_CRITERION=1 skips step 1; BENCH_ONLY=load runs step 3 alone.
# BENCH_REFERENCE=PATH compares with the module at PATH (another build of
# ours, say) instead of the reference; the tables still call it "reference".
# BENCH_ONLY=login-symbols runs no benchmark: it traces the module's
# functions through three logins (valgrind's callgrind) and rewrites
# link/login-symbols.txt, the list build.rs has the linker place together.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

readonly REFERENCE=${BENCH_REFERENCE:-/usr/lib/x86_64-linux-gnu/security/pam_google_authenticator.so}
readonly OURS=$PWD/target/release/libpam_rust_totp.so
readonly DRIVER_SOURCE=tests/bench_driver/pam_bench.c
readonly DRIVER=$PWD/target/bench-driver/pam_bench
readonly SECRET=2SH3V3GDW7ZNMGYE
readonly SCRATCH_CODES=(48151623 42424242 73577357 86420864 97531975)
readonly SCALE=${BENCH_SCALE:-100}
readonly USERS=8

if [ "$(id -u)" -ne 0 ]; then
    echo "benches/run-all.sh must run as root (it adds temporary users)" >&2
    exit 1
fi
if [ -z "${BENCH_PRIVATE_MOUNTS:-}" ]; then
    BENCH_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi

# scaled N: N scaled by BENCH_SCALE, at least 1.
scaled() {
    local n=$(($1 * SCALE / 100))
    echo $((n > 0 ? n : 1))
}

install_missing_packages() {
    local pkg missing=()
    local packages=(gcc libc6-dev libpam0g-dev libpam-google-authenticator oathtool passwd util-linux)
    [ "${BENCH_ONLY:-}" = login-symbols ] && packages+=(valgrind)
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed ||
            missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
    echo "building the module (cargo build --release -p pam_rust_totp --lib) and the driver..." >&2
    cargo build --release -p pam_rust_totp --lib --locked --quiet
    mkdir -p "$(dirname "$DRIVER")"
    gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$DRIVER" "$DRIVER_SOURCE" -lpam -ldl
}

# --- temporary users, homes, PAM services, code tables ---------------------

WORK=
BENCH_USERS=()
BENCH_GROUP=
SINK_PID=
SINK_AT_DEV_LOG=

cleanup() {
    local user
    if [ -n "$SINK_PID" ]; then
        kill "$SINK_PID" 2>/dev/null || true
    fi
    if [ -n "$SINK_AT_DEV_LOG" ]; then
        rm -f /dev/log
    fi
    for user in "${BENCH_USERS[@]}"; do
        userdel "$user" 2>/dev/null || true
    done
    if [ -n "$BENCH_GROUP" ]; then
        groupdel "$BENCH_GROUP" 2>/dev/null || true
    fi
    if [ -n "$WORK" ]; then
        rm -rf "$WORK"
    fi
}

add_user() {
    local user=$1
    userdel "$user" 2>/dev/null || true # left over from a killed run
    useradd --system --user-group --no-create-home --home-dir "$WORK/home/$user" \
        --shell /usr/sbin/nologin "$user"
    BENCH_USERS+=("$user")
    install -d -m 0700 -o "$user" -g "$user" "$WORK/home/$user"
}

set_up() {
    WORK=$(mktemp -d /var/tmp/pam-rust-totp-bench.XXXXXX)
    chmod 0755 "$WORK"
    mkdir -p "$WORK/home" "$WORK/pam.d"
    local i
    for ((i = 0; i < USERS; i++)); do
        add_user "rtbo$i" # ours
        add_user "rtbr$i" # reference
    done
    # Without "other", Linux-PAM logs a complaint at every pam_start.
    printf 'auth required pam_deny.so\n' >"$WORK/pam.d/other"
    printf 'auth required %s\n' "$OURS" >"$WORK/pam.d/bench-ours"
    printf 'auth required %s\n' "$REFERENCE" >"$WORK/pam.d/bench-ref"
    printf 'auth required %s noskewadj\n' "$OURS" >"$WORK/pam.d/bench-ours-noskew"
    printf 'auth required %s noskewadj\n' "$REFERENCE" >"$WORK/pam.d/bench-ref-noskew"

    local scratch
    scratch=$(printf '%s\n' "${SCRATCH_CODES[@]}")
    # What google-authenticator writes, without and with its recommended
    # protections, and a counter-based file.
    printf '%s\n" WINDOW_SIZE 3\n" TOTP_AUTH\n%s\n' "$SECRET" "$scratch" >"$WORK/plain.ga"
    printf '%s\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 3\n" DISALLOW_REUSE\n" TOTP_AUTH\n%s\n' \
        "$SECRET" "$scratch" >"$WORK/protected.ga"
    printf '%s\n" HOTP_COUNTER 1\n%s\n' "$SECRET" "$scratch" >"$WORK/hotp.ga"
    worst_case_file >"$WORK/worst-case.ga"

    # TOTP codes from two steps ago to 80 steps (40 minutes) ahead.
    local step=$(($(date +%s) / 30))
    oathtool --totp -b "$SECRET" -N "@$(((step - 2) * 30))" -w 82 |
        awk -v first=$((step - 2)) '{ print first + NR - 1, $1 }' >"$WORK/totp.codes"
    oathtool --hotp -b "$SECRET" -c 1 -w 30000 | awk '{ print NR, $1 }' >"$WORK/hotp.codes"
    # A wrong code: no TOTP code within the skew search (1500 steps either
    # way, plus the run's duration) and no HOTP code the runs reach.
    oathtool --totp -b "$SECRET" -N "@$(((step - 1600) * 30))" -w 3300 >"$WORK/used.codes"
    cut -d' ' -f2 "$WORK/hotp.codes" >>"$WORK/used.codes"
    WRONG_CODE=$(awk '{ used[$1] = 1 } END { for (c = 0; c < 1000000; c++) {
        code = sprintf("%06d", c); if (!(code in used)) { print code; exit } } }' "$WORK/used.codes")
}

# The costliest file to parse that both modules accept: as many distinct
# option names as fit in 64 KiB (shortest first, about 11,000 of them),
# with TOTP_AUTH last, so every option look-up walks the whole file.
worst_case_file() {
    awk -v secret="$SECRET" 'BEGIN {
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
        n = length(alphabet); budget = 65536 - length(secret) - 1 - length("\" TOTP_AUTH\n")
        printf "%s\n", secret
        for (a = 1; a <= n && budget >= 4; a++) {
            printf "\" %s\n", substr(alphabet, a, 1); budget -= 4 }
        for (a = 1; a <= n && budget >= 5; a++) for (b = 1; b <= n && budget >= 5; b++) {
            printf "\" %s%s\n", substr(alphabet, a, 1), substr(alphabet, b, 1); budget -= 5 }
        for (a = 1; a <= n && budget >= 6; a++) for (b = 1; b <= n && budget >= 6; b++)
            for (c = 1; c <= n && budget >= 6; c++) {
                printf "\" %s%s%s\n", substr(alphabet, a, 1), substr(alphabet, b, 1), substr(alphabet, c, 1)
                budget -= 6 }
        printf "\" TOTP_AUTH\n"
    }'
}

# Replaces /dev/log, in this mount namespace only, by a socket that the
# driver reads and discards.
start_syslog_sink() {
    local socket=$WORK/syslog.sock
    if [ ! -e /dev/log ]; then
        socket=/dev/log SINK_AT_DEV_LOG=1
    fi
    "$DRIVER" sink "$socket" &
    SINK_PID=$!
    local tries
    for ((tries = 0; tries < 100; tries++)); do
        [ -S "$socket" ] && break
        sleep 0.05
    done
    [ -S "$socket" ] || { echo "the syslog stand-in did not start" >&2; exit 1; }
    [ -n "$SINK_AT_DEV_LOG" ] || mount --bind "$socket" /dev/log
}

# --- reporting ---------------------------------------------------------------

machine() {
    echo "## Machine"
    echo
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
    echo "- Kernel: $(uname -r); homes on $(findmnt -n -o FSTYPE,SOURCE --target "$WORK")"
    echo "- Reference: libpam-google-authenticator $(dpkg-query -W -f='${Version}' libpam-google-authenticator)"
    echo "- Ours: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(rustc --version)"
    echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
}

criterion_benches() {
    echo "## Verifier core and state file (criterion: low, median and high estimate)"
    echo
    echo '```'
    # criterion prints the name on a line of its own, or before "time:" when
    # it is short. Its progress (and any failure) goes to stderr.
    if ! cargo bench --locked --quiet -p rust-totp-core --bench verifier --bench state_file 2>"$WORK/criterion.err" |
        awk '/time:/ { if ($0 !~ /^ /) { name = $0; sub(/ +time:.*/, "", name) }
                       match($0, /\[.*\]/); printf "%-42s %s\n", name ":", substr($0, RSTART, RLENGTH); next }
             /^[a-z]/ && !/^(Benchmarking|Found|change|Performance|No change|Change)/ { name = $0 }'; then
        tail -20 "$WORK/criterion.err"
        FAILED=1
    fi
    echo '```'
    echo
}

FAILED=0

# latency NAME ITERATIONS WARMUP ARGS...: one interleaved latency row.
latency() {
    local name=$1 iterations=$2 warmup=$3
    shift 3
    "$DRIVER" latency --confdir "$WORK/pam.d" --name "$name" \
        --iterations "$(scaled "$iterations")" --warmup "$warmup" "$@" || FAILED=1
}

latency_benches() {
    local hold=(--hold "$OURS" --hold "$REFERENCE")
    local arms=(--arm ours:bench-ours:rtbo0 --arm reference:bench-ref:rtbr0)
    local totp=(--answer "totp:$WORK/totp.codes")
    echo "## Per login, through Linux-PAM (µs; interleaved; ratio = ours / reference)"
    echo
    echo "| scenario | logins per module | ours median | ours p99 | reference median | reference p99 | ratio median | ratio p99 |"
    echo "|---|---|---|---|---|---|---|---|"
    latency "valid TOTP code, file unchanged" 3000 50 "${hold[@]}" "${arms[@]}" \
        --template "$WORK/plain.ga" --regen once "${totp[@]}" --expect success
    latency "valid TOTP code, DISALLOW_REUSE + RATE_LIMIT (file rewritten)" 500 10 \
        "${hold[@]}" "${arms[@]}" --template "$WORK/protected.ga" --regen each "${totp[@]}" \
        --expect success
    latency "valid HOTP code (counter advanced, file rewritten)" 500 10 "${hold[@]}" \
        "${arms[@]}" --template "$WORK/hotp.ga" --regen once \
        --answer "hotp:$WORK/hotp.codes" --expect success
    latency "valid scratch code (file rewritten)" 500 10 "${hold[@]}" "${arms[@]}" \
        --template "$WORK/plain.ga" --regen each --answer "fixed:${SCRATCH_CODES[0]}" \
        --expect success
    latency "valid TOTP code, 64 KiB file of $(($(wc -l <"$WORK/worst-case.ga") - 2)) distinct option names" \
        300 10 "${hold[@]}" "${arms[@]}" --template "$WORK/worst-case.ga" --regen once \
        "${totp[@]}" --expect success
    latency "wrong TOTP code (clock-skew search)" 300 10 "${hold[@]}" "${arms[@]}" \
        --template "$WORK/plain.ga" --regen once --answer "fixed:$WRONG_CODE" --expect autherr
    latency "wrong TOTP code, noskewadj" 3000 50 "${hold[@]}" \
        --arm ours:bench-ours-noskew:rtbo0 --arm reference:bench-ref-noskew:rtbr0 \
        --template "$WORK/plain.ga" --regen once --answer "fixed:$WRONG_CODE" --expect autherr
    echo
}

# What loading the module costs, as sshd pays it: Linux-PAM loads the
# module in pam_start and unloads it in pam_end, and sshd forks a process
# per connection.
load_benches() {
    local arms=(--arm ours:bench-ours:rtbo0 --arm reference:bench-ref:rtbr0)
    local totp=(--answer "totp:$WORK/totp.codes")
    same_page_cache "$OURS" "$REFERENCE"
    echo "## Loading the module (µs; interleaved; ratio = ours / reference)"
    echo
    echo "| scenario | logins per module | ours median | ours p99 | reference median | reference p99 | ratio median | ratio p99 |"
    echo "|---|---|---|---|---|---|---|---|"
    latency "valid TOTP code, full cycle (pam_start, loading the module, to pam_end, unloading it)" \
        3000 50 --cycle "${arms[@]}" --template "$WORK/plain.ga" --regen once "${totp[@]}" \
        --expect success
    "$DRIVER" load --name "dlopen + dlclose alone" --iterations "$(scaled 3000)" --warmup 50 \
        --load "ours:$OURS" --load "reference:$REFERENCE" || FAILED=1
    latency "valid TOTP code, new process per login (fork to exit, module loaded)" 500 10 \
        --cold "${arms[@]}" --template "$WORK/plain.ga" --regen once "${totp[@]}" \
        --expect success
    echo
    echo "| module | relative relocations | symbol relocations | mapped KiB | touched by dlopen KiB | written by dlopen KiB | touched after one login KiB | page faults in dlopen | page faults in the first login |"
    echo "|---|---|---|---|---|---|---|---|---|"
    "$DRIVER" footprint --confdir "$WORK/pam.d" --module "$OURS" --arm ours:bench-ours:rtbo0 \
        --template "$WORK/plain.ga" "${totp[@]}" --expect success || FAILED=1
    "$DRIVER" footprint --confdir "$WORK/pam.d" --module "$REFERENCE" \
        --arm reference:bench-ref:rtbr0 --template "$WORK/plain.ga" "${totp[@]}" \
        --expect success || FAILED=1
    echo
    login_symbols_found
}

# same_page_cache FILE...: drops each file from the page cache, so that the
# first load reads it back the same way for every module. How a file came
# into the cache changes what a page fault maps: a module just written by
# the linker and a copy of it written by cp differed by 4% in the full
# cycle for that reason alone.
same_page_cache() {
    sync "$@"
    local file
    for file in "$@"; do
        dd if="$file" iflag=nocache count=0 status=none
    done
}

# login_symbols_found: how many of the functions link/login-symbols.txt
# lists the module has (the rest cannot be placed together).
login_symbols_found() {
    local listed found
    listed=$(grep -c . link/login-symbols.txt)
    found=$(nm "$OURS" | awk '{ print $NF }' | sort -u | grep -cxFf link/login-symbols.txt || true)
    echo "Functions of a login placed together (link/login-symbols.txt): $found of $listed found in the module."
    echo
}

# Rewrites link/login-symbols.txt: the module's functions that run while it
# is loaded and unloaded (its initialisers and finalisers, placed next to
# _init so that a load touches as few regions of the code as it can), then
# those of three logins (a valid code that changes nothing, a wrong code, a
# scratch code that rewrites the file), each traced by callgrind, most
# frequent scenario first.
write_login_symbols() {
    local scenario list=$WORK/login-symbols.txt
    valgrind --quiet --tool=callgrind --demangle=no --callgrind-out-file="$WORK/callgrind.out" \
        "$DRIVER" load --name "load and unload" --iterations 1 --warmup 0 \
        --load "ours:$OURS" --load "again:$OURS" >/dev/null
    callgrind_functions "$OURS" <"$WORK/callgrind.out" >"$list"
    for scenario in "totp:$WORK/totp.codes success" "fixed:$WRONG_CODE autherr" \
        "fixed:${SCRATCH_CODES[0]} success"; do
        valgrind --quiet --tool=callgrind --demangle=no --callgrind-out-file="$WORK/callgrind.out" \
            "$DRIVER" footprint --confdir "$WORK/pam.d" --module "$OURS" \
            --arm ours:bench-ours:rtbo0 --template "$WORK/plain.ga" \
            --answer "${scenario% *}" --expect "${scenario#* }" >/dev/null
        callgrind_functions "$OURS" <"$WORK/callgrind.out" >>"$list"
    done
    awk '!seen[$0]++' "$list" >link/login-symbols.txt
    echo "link/login-symbols.txt: $(wc -l <link/login-symbols.txt) functions; rebuild the module to apply it." >&2
}

# callgrind_functions OBJECT < callgrind.out: the names of the functions of
# OBJECT that ran. Callgrind names each object and function once, as
# "ob=(N) NAME" or "fn=(N) NAME", and later by "(N)" alone; cob= and cfn=
# name the callees of a call the same way. The name of a recursive call
# ends in 'DEPTH. Functions it finds no name for (the C runtime's
# frame_dummy and __do_global_dtors_aux, which run at every load and
# unload) are named by their address, which OBJECT's symbol table names.
callgrind_functions() {
    local symbols=$WORK/object-symbols.txt
    nm --defined-only "$1" | awk '$2 ~ /^[tTwW]$/ { print "0x" $1, $3 }' >"$symbols"
    awk -v object="$1" -v symbols="$symbols" '
        BEGIN { while ((getline line < symbols) > 0) { split(line, f, " "); named[f[1]] = f[2] } }
        function define(table, line,    id, name) {
            id = line; sub(/^[a-z]+=\(/, "", id); sub(/\).*/, "", id)
            name = line; sub(/^[a-z]+=\([0-9]+\) ?/, "", name)
            if (name != "") table[id] = name
            return id
        }
        /^ob=/ { current = objects[define(objects, $0)]; next }
        /^cob=/ { define(objects, $0); next }
        /^cfn=/ { define(functions, $0); next }
        /^fn=/ {
            name = functions[define(functions, $0)]
            sub(/\x27[0-9]+$/, "", name)
            if (name ~ /^0x/ && name in named) name = named[name]
            if (current == object && name !~ /^0x/ && !seen[name]++) print name
        }'
}

# users PREFIX COUNT: PREFIX0,PREFIX1,... (COUNT names)
users() {
    local i list=${1}0
    for ((i = 1; i < $2; i++)); do list+=",$1$i"; done
    echo "$list"
}

parallel_benches() {
    local rounds=3 round_ms
    round_ms=$(scaled 400)
    echo "## Concurrent logins (logins per second, all processes together; ratio = reference rate / ours = ours time per login / reference's)"
    echo
    echo "| workload | state files | processes | ours/s | reference/s | ratio | counter advances / attempts |"
    echo "|---|---|---|---|---|---|---|"
    local procs spread ours_users ref_users
    for procs in 1 2 8; do
        for spread in shared separate; do
            [ "$procs" -eq 1 ] && [ "$spread" = separate ] && continue
            if [ "$spread" = shared ]; then
                ours_users=rtbo0 ref_users=rtbr0
            else
                ours_users=$(users rtbo "$procs") ref_users=$(users rtbr "$procs")
            fi
            local common=(--confdir "$WORK/pam.d" --hold "$OURS" --hold "$REFERENCE"
                --arm "ours:bench-ours:$ours_users" --arm "reference:bench-ref:$ref_users"
                --procs "$procs" --rounds "$rounds" --round-ms "$round_ms")
            "$DRIVER" parallel "${common[@]}" --name "valid TOTP code, file unchanged" \
                --template "$WORK/plain.ga" --answer "totp:$WORK/totp.codes" \
                --expect success || FAILED=1
            "$DRIVER" parallel "${common[@]}" \
                --name "wrong HOTP code (counter advanced, file rewritten)" \
                --template "$WORK/hotp.ga" --answer "fixed:$WRONG_CODE" --expect autherr \
                --report-counter || FAILED=1
        done
    done
    echo
}

rss_benches() {
    echo "## Peak RSS (KiB; ru_maxrss, one fresh process per module)"
    echo
    echo "| module | process before loading | added by dlopen | added by dlopen + one login |"
    echo "|---|---|---|---|"
    "$DRIVER" rss --confdir "$WORK/pam.d" --module "$OURS" --arm ours:bench-ours:rtbo0 \
        --template "$WORK/plain.ga" --answer "totp:$WORK/totp.codes" --expect success || FAILED=1
    "$DRIVER" rss --confdir "$WORK/pam.d" --module "$REFERENCE" \
        --arm reference:bench-ref:rtbr0 --template "$WORK/plain.ga" \
        --answer "totp:$WORK/totp.codes" --expect success || FAILED=1
    echo
}

# A home only a supplementary group may enter (0750, root:rtbgshare), as on
# NFS with root squashing: the primary group is refused, so ours looks up
# the user's groups (getgrouplist) and tries again. Both arms run ours; the
# reference cannot read such a home at all (it keeps the caller's groups).
group_only_home() {
    local group=rtbgshare user=rtbg0
    groupdel "$group" 2>/dev/null || true # left over from a killed run
    groupadd --system "$group"
    BENCH_GROUP=$group
    userdel "$user" 2>/dev/null || true
    useradd --system --user-group --no-create-home --home-dir "$WORK/home/$user" \
        --shell /usr/sbin/nologin --groups "$group" "$user"
    BENCH_USERS+=("$user")
    install -d -m 0750 -o root -g "$group" "$WORK/home/$user"
    echo "## The price of a home only a supplementary group may enter (ours in both columns)"
    echo
    echo "nsswitch.conf here: $(grep -E '^group:' /etc/nsswitch.conf | tr -s ' ')"
    echo
    echo "| scenario | logins | group-only home median | p99 | own home median | p99 | ratio median | ratio p99 |"
    echo "|---|---|---|---|---|---|---|---|"
    "$DRIVER" latency --confdir "$WORK/pam.d" \
        --name "valid TOTP code, file unchanged" \
        --iterations "$(scaled 3000)" --warmup 50 --hold "$OURS" \
        --arm "group-only:bench-ours:$user" --arm own:bench-ours:rtbo1 \
        --template "$WORK/plain.ga" --regen once --answer "totp:$WORK/totp.codes" \
        --expect success || FAILED=1
    echo
}

install_missing_packages
build
trap cleanup EXIT
trap 'exit 130' INT TERM
set_up
start_syslog_sink
if [ "${BENCH_ONLY:-}" = login-symbols ]; then
    write_login_symbols
    exit 0
fi
started=$SECONDS
machine
if [ "${BENCH_ONLY:-}" = load ]; then
    load_benches
else
    [ "${SKIP_CRITERION:-0}" = 1 ] || criterion_benches
    latency_benches
    load_benches
    parallel_benches
    rss_benches
    group_only_home
fi
echo "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg); benchmarks took $((SECONDS - started)) s."
if [ "$FAILED" -ne 0 ]; then
    echo "FAILED: some logins gave an unexpected result (see the messages above)" >&2
    exit 1
fi
