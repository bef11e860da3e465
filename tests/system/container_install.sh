#!/bin/bash
# Installs the built libpam-rust-totp .deb into a fresh minimal Debian bookworm
# root file system, enrols users with rust-totp and authenticates through the
# installed PAM module with pamtester. Google's pam_google_authenticator is
# installed next to it, which checks that the packages are co-installable and
# that both modules share the same secret files and used-code state. The
# module must be where bookworm's own PAM modules are (/lib/<multiarch>/
# security in dpkg's database), and removing the package must print no
# warning.
#
# Usage: tests/system/container_install.sh [PATH/TO/libpam-rust-totp_*.deb]
#        tests/system/container_install.sh --prepare-cache
# Without an argument tests/system/build_deb.sh first builds the .deb from the
# current tree (incrementally, into target/deb/).
#
# The minbase root (with pamtester, oathtool and libpam-google-authenticator)
# is bootstrapped once from the Debian mirror and cached as a tarball; each
# run unpacks a fresh copy and enters it with unshare + chroot in private
# mount and PID namespaces, so nothing inside touches the host.
#
# Environment:
#   RT_ROOTFS_CACHE_DIR  cache directory (default /var/cache/pam-rust-totp-test)
#   RT_DEBIAN_MIRROR     mirror for debootstrap (default http://deb.debian.org/debian)
set -euo pipefail

RT_TEST_NAME=container_install
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"

CACHE_DIR="${RT_ROOTFS_CACHE_DIR:-/var/cache/pam-rust-totp-test}"
CACHE_TAR="$CACHE_DIR/rootfs-bookworm.tar"
MIRROR="${RT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Changing this list invalidates the cached root file system.
ROOTFS_PACKAGES="pamtester,oathtool,libpam-google-authenticator"

WORK_DIR=""

cleanup() {
    [ -n "$WORK_DIR" ] || return 0
    # Mounts live in a private mount namespace that is gone by now; refuse to
    # delete anything if a mount under the work directory is still visible.
    if findmnt -rn -o TARGET | grep -qF "$WORK_DIR"; then
        rt_log "mounts remain under $WORK_DIR; not removing it"
        return 0
    fi
    rm -rf --one-file-system "$WORK_DIR"
}

cache_is_current() {
    [ -f "$CACHE_TAR" ] && [ "$(cat "$CACHE_TAR.packages" 2>/dev/null)" = "$ROOTFS_PACKAGES" ]
}

# build_cache: bootstraps the minbase root once and stores it as a tarball.
build_cache() {
    local staging
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/lock"
    flock 9
    if cache_is_current; then
        exec 9>&-
        return 0
    fi
    rt_log "bootstrapping bookworm minbase into the cache (first run only)"
    staging="$(mktemp -d "$CACHE_DIR/bootstrap.XXXXXX")"
    if ! debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" \
        bookworm "$staging/root" "$MIRROR" >"$staging/debootstrap.log" 2>&1; then
        tail -n 30 "$staging/debootstrap.log" >&2
        rm -rf --one-file-system "$staging"
        rt_die "debootstrap failed"
    fi
    rm -rf "$staging/root/var/cache/apt/archives/"*.deb
    tar --numeric-owner -C "$staging/root" -cf "$CACHE_TAR.tmp" .
    printf '%s\n' "$ROOTFS_PACKAGES" >"$CACHE_TAR.packages"
    mv "$CACHE_TAR.tmp" "$CACHE_TAR"
    rm -rf --one-file-system "$staging"
    exec 9>&-
}

# build_deb: builds the .deb from the current tree (incrementally) and
# prints its path.
build_deb() {
    "$RT_REPO_ROOT/tests/system/build_deb.sh" | tail -n 1
}

# enter_root ROOT COMMAND...: runs COMMAND chrooted in ROOT inside new mount
# and PID namespaces, with a fresh /proc and a minimal /dev.
enter_root() {
    local root="$1"
    shift
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    unshare --mount --pid --fork --mount-proc="$root/proc" -- \
        /bin/sh -eu -c '
            root="$1"; shift
            mount -t tmpfs -o mode=0755,nosuid,size=1m rt-dev "$root/dev"
            for node in null zero full random urandom tty; do
                : >"$root/dev/$node"
                mount --bind "/dev/$node" "$root/dev/$node"
            done
            ln -s /proc/self/fd "$root/dev/fd"
            mkdir "$root/dev/pts" "$root/dev/shm"
            exec chroot "$root" "$@"
        ' enter_root "$root" "$@"
}

# --- run inside the root file system -------------------------------------
# These functions are copied into the root (with lib.sh) by write_inside_script.

# Enrolled as the task describes (rate limit 3 per 30 s): exactly three
# attempts are made for this user.
INSIDE_USER=rt_user
# Enrolled without a rate limit, for the checks against Google's module.
INSIDE_INTEROP_USER=rt_interop
INSIDE_MODULE=/lib/x86_64-linux-gnu/security/pam_rust_totp.so
INSIDE_LOG=/root/rt-test/pamtester.log
INSIDE_REMOVE_LOG=/root/rt-test/apt-remove.log

# inside_pam_auth SERVICE USER CODE: pamtester authentication answering the
# prompt with CODE; output goes to the log.
inside_pam_auth() {
    printf '==== %s %s\n' "$1" "$2" >>"$INSIDE_LOG"
    printf '%s\n' "$3" | pamtester "$1" "$2" authenticate >>"$INSIDE_LOG" 2>&1
}

inside_install() {
    if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "$1" >/root/rt-test/apt-install.log 2>&1; then
        rt_pass "apt-get install ./$(basename "$1")"
    else
        cat /root/rt-test/apt-install.log
        rt_fail "apt-get install ./$(basename "$1")"
        return 1
    fi
}

# inside_owners PATH: the packages dpkg's database lists for PATH, one a line.
inside_owners() {
    dpkg-query -S "$1" 2>/dev/null | sed 's/: .*//; s/, /\n/g' | sort
}

inside_check_files() {
    rt_check "PAM module in the multiarch security directory" test -f "$INSIDE_MODULE"
    rt_check "dpkg lists the module as $INSIDE_MODULE" \
        test "$(inside_owners "$INSIDE_MODULE")" = libpam-rust-totp
    rt_check "the module's directory is the one libpam-modules' modules are in" \
        test "$(inside_owners "${INSIDE_MODULE%/*}" | tr '\n' ' ')" = \
        "libpam-google-authenticator libpam-modules:amd64 libpam-rust-totp "
    rt_check "rust-totp in /usr/bin" test -x /usr/bin/rust-totp
    rt_check "man pages installed" \
        test -f /usr/share/man/man8/pam_rust_totp.8.gz -a -f /usr/share/man/man1/rust-totp.1.gz
    rt_check "pam.d examples installed" \
        test -f /usr/share/doc/libpam-rust-totp/examples/publickey-totp/pam.d/sshd
    rt_check "co-installed with libpam-google-authenticator" \
        test -f /usr/lib/x86_64-linux-gnu/security/pam_google_authenticator.so
}

inside_write_services() {
    printf 'auth required pam_rust_totp.so\naccount required pam_permit.so\n' \
        >/etc/pam.d/rt-totp
    printf 'auth required pam_google_authenticator.so\naccount required pam_permit.so\n' \
        >/etc/pam.d/rt-google
}

# inside_enrol USER FLAGS: enrols USER with rust-totp, run as USER.
inside_enrol() {
    local file="/home/$1/.google_authenticator"
    useradd -m -s /bin/bash "$1"
    if su - "$1" -c "rust-totp $2" && [ -f "$file" ]; then
        rt_pass "rust-totp $2 (as $1) writes ~/.google_authenticator"
    else
        rt_fail "rust-totp $2 (as $1) writes ~/.google_authenticator"
        return 1
    fi
    # 0400, as google-authenticator writes it.
    rt_check "secret file of $1 is owned by $1 with mode 0400" \
        test "$(stat -c '%U %a' "$file")" = "$1 400"
}

inside_authenticate() {
    local secret code
    secret="$(rt_secret_of "/home/$INSIDE_USER/.google_authenticator")"
    rt_wait_for_fresh_step 10
    code="$(rt_totp "$secret")"
    rt_check "pamtester accepts the current code" \
        inside_pam_auth rt-totp "$INSIDE_USER" "$code"
    rt_check_fails "pamtester refuses a wrong code" \
        inside_pam_auth rt-totp "$INSIDE_USER" "$(rt_wrong_totp "$secret")"
    rt_check_fails "pamtester refuses a replayed code (DISALLOW_REUSE)" \
        inside_pam_auth rt-totp "$INSIDE_USER" "$code"
}

# inside_interop: a file written by rust-totp works with Google's module, and
# each module honours the used-code list the other one wrote.
inside_interop() {
    local secret now next user="$INSIDE_INTEROP_USER"
    secret="$(rt_secret_of "/home/$user/.google_authenticator")"
    rt_wait_for_fresh_step 10
    now="$(rt_totp "$secret")"
    next="$(rt_totp "$secret" 1)"
    rt_check "Google's module accepts a code for a rust-totp file" \
        inside_pam_auth rt-google "$user" "$now"
    rt_check_fails "pam_rust_totp refuses the code Google's module recorded as used" \
        inside_pam_auth rt-totp "$user" "$now"
    rt_check "pam_rust_totp accepts the next code in the window" \
        inside_pam_auth rt-totp "$user" "$next"
    rt_check_fails "Google's module refuses the code pam_rust_totp recorded as used" \
        inside_pam_auth rt-google "$user" "$next"
}

inside_remove() {
    DEBIAN_FRONTEND=noninteractive apt-get remove -y libpam-rust-totp \
        >"$INSIDE_REMOVE_LOG" 2>&1 || true
    rt_check "apt-get remove deletes the module" test ! -e "$INSIDE_MODULE"
    rt_check_fails "apt-get remove prints no warning" grep -i 'warning' "$INSIDE_REMOVE_LOG"
    rt_check "the other PAM modules stay" \
        test -f /lib/x86_64-linux-gnu/security/pam_unix.so
}

inside_main() {
    export PATH=/usr/sbin:/usr/bin:/sbin:/bin
    if inside_install "$1"; then
        inside_check_files
        inside_write_services
        if inside_enrol "$INSIDE_USER" "-t -d -f -r 3 -R 30 -w 3 -Q NONE -e 5 -C -q"; then
            inside_authenticate
        fi
        if inside_enrol "$INSIDE_INTEROP_USER" "-t -d -f -u -w 3 -Q NONE -e 5 -C -q"; then
            inside_interop
        fi
        inside_remove
    fi
    if ! rt_summary container_install | tee /root/rt-test/summary; then
        printf -- '---- pamtester log ----\n'
        cat "$INSIDE_LOG" 2>/dev/null
        return 1
    fi
}

# write_inside_script FILE: a self-contained script with lib.sh and the
# inside_* functions.
write_inside_script() {
    {
        printf '#!/bin/bash\nset -uo pipefail\n'
        cat "$(dirname "$0")/lib.sh"
        declare -p INSIDE_USER INSIDE_INTEROP_USER INSIDE_MODULE INSIDE_LOG INSIDE_REMOVE_LOG
        declare -f inside_pam_auth inside_install inside_owners inside_check_files \
            inside_write_services inside_enrol inside_authenticate inside_interop \
            inside_remove inside_main
        printf 'RT_TEST_NAME=container_install\ninside_main "$@"\n'
    } >"$1"
}

# --- run on the host ------------------------------------------------------

main() {
    local deb root
    rt_require_root
    rt_require_tools debootstrap unshare chroot tar flock findmnt
    if [ "${1:-}" = "--prepare-cache" ]; then
        cache_is_current || build_cache
        return 0
    fi
    if [ $# -gt 0 ]; then
        deb="$1"
    elif ! deb="$(build_deb)"; then
        printf 'container_install: 0 passed, 1 failed (building the .deb)\n'
        return 1
    fi
    rt_require_file "$deb" "package"

    cache_is_current || build_cache

    trap cleanup EXIT
    WORK_DIR="$(mktemp -d /var/tmp/rt-container.XXXXXX)"
    root="$WORK_DIR/root"
    mkdir "$root"
    tar --numeric-owner -C "$root" -xpf "$CACHE_TAR"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mkdir -p "$root/root/rt-test"
    cp "$deb" "$root/root/rt-test/"
    write_inside_script "$root/root/rt-test/inside.sh"

    if ! enter_root "$root" /bin/bash /root/rt-test/inside.sh "/root/rt-test/$(basename "$deb")"; then
        # inside.sh prints its own summary; make sure a failure to enter the
        # root at all still ends with one.
        grep -q . "$root/root/rt-test/summary" 2>/dev/null ||
            printf 'container_install: 0 passed, 1 failed\n'
        return 1
    fi
}

main "$@"
