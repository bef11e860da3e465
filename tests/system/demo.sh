#!/bin/bash
# Builds pam_rust_totp and shows one real login end to end on this machine:
# a demo user is enrolled with rust-totp (QR code, secret, scratch codes), a
# private sshd on 127.0.0.1 uses the module through the shipped example
# pam.d-examples/publickey-totp, and the OpenSSH client logs in with a key and
# the current code; then the same code is replayed and refused. The machine's
# own sshd and /etc/pam.d/sshd are not touched, and the demo user, its PAM
# service and sshd are removed afterwards. Run as root on Debian bookworm.
set -euo pipefail

cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

bash tests/install-deps.sh
echo "== building the module and rust-totp"
cargo build --release --locked

# The set-up, sshd and ssh client functions of the end-to-end test.
# shellcheck source=tests/system/sshd_e2e.sh
. tests/system/sshd_e2e.sh
RT_TEST_NAME=demo

demo() {
    local home code
    rt_require_root
    rt_require_tools sshd ssh ssh-keygen oathtool ss su useradd chpasswd timeout
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    setup
    start_flow publickey-totp
    home="$(getent passwd "$TOTP_USER" | cut -d: -f6)"
    printf '\n== /etc/pam.d service used by this sshd (from pam.d-examples/publickey-totp):\n'
    grep -v '^#' "/etc/pam.d/$SERVICE" | grep . || true
    printf '\n== enrolling %s: rust-totp -t -d -f -r 3 -R 30 -w 3 -Q UTF8 -e 3 -C\n' "$TOTP_USER"
    su - "$TOTP_USER" -c "$TMP/bin/enrol -t -d -f -r 3 -R 30 -w 3 -Q UTF8 -e 3 -C -i demo.example"
    code="$(fresh_code "$TOTP_USER")"
    printf '\n== ssh %s@127.0.0.1 -p %s with the key, answering with the code %s (from oathtool)\n' \
        "$TOTP_USER" "$PORT" "$code"
    if ssh_login demo "$TOTP_USER" KEY "" "$code"; then
        printf 'logged in: the server asked "%s", and the remote id -un printed %s\n' \
            "$(tr '\n' ' ' <"$TMP/prompts" | sed 's/ *$//')" "$TOTP_USER"
    else
        show_logs
        rt_die "the login failed"
    fi
    printf '\n== %s/.google_authenticator after the login (the used step is in DISALLOW_REUSE):\n' "$home"
    cat "$home/.google_authenticator"
    printf '\n== the same code again\n'
    if ssh_login replay "$TOTP_USER" KEY "" "$code"; then
        rt_die "the replayed code was accepted"
    fi
    echo "refused: a code is never accepted twice"
    stop_sshd
}

demo
