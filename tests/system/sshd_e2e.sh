#!/bin/bash
# End-to-end test: a real OpenSSH sshd on 127.0.0.1 uses the PAM module through
# the configurations shipped in pam.d-examples/, and the real OpenSSH client
# logs in over publickey and keyboard-interactive.
#
# The machine's sshd configuration is never touched. sshd names its PAM
# service after the name it was started under, so the test starts it through
# a symlink with a unique name and writes only /etc/pam.d/<that name>, which
# it removes again on exit. Host keys, sshd_config, pid file and logs live in
# a temporary directory. Two test users are created and removed again.
#
# Environment:
#   RT_PAM_MODULE  PAM module to test (default target/release/libpam_rust_totp.so)
#   RT_CLI         enrolment command (default target/release/rust-totp)
#   RT_KEEP_TMP=1  keep the temporary directory for inspection
set -euo pipefail

RT_TEST_NAME=sshd_e2e
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"

EXAMPLES="$RT_REPO_ROOT/pam.d-examples"
TOTP_USER=rt_ssh_user       # enrolled before each flow
PLAIN_USER=rt_ssh_nosecret  # never has a secret file
TEST_GROUP=rt_ssh_totp      # stands in for "totp-users" in group-only/
# Enrolment flags: no rate limit, so that the many logins of this test are
# judged on their codes alone.
ENROL_FLAGS="-t -d -f -u -w 3 -Q NONE -e 5 -C -q"

TMP=""
SERVICE=""
SSHD=""
SSHD_PID=""
PORT=""
PASSWORD=""

# --- set-up and tear-down ---------------------------------------------------

remove_test_accounts() {
    local user
    for user in "$TOTP_USER" "$PLAIN_USER"; do
        if id "$user" >/dev/null 2>&1; then
            userdel --force --remove "$user" >/dev/null 2>&1 || true
        fi
    done
    if getent group "$TEST_GROUP" >/dev/null; then
        groupdel "$TEST_GROUP" || true
    fi
}

cleanup() {
    local status=$?
    stop_sshd
    if [ -n "$SERVICE" ]; then
        rm -f "/etc/pam.d/$SERVICE"
    fi
    remove_test_accounts
    if [ -n "$TMP" ]; then
        if [ "${RT_KEEP_TMP:-}" = 1 ]; then
            rt_log "kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$status"
}

create_test_accounts() {
    local user home
    remove_test_accounts # left over from an interrupted run
    groupadd "$TEST_GROUP"
    PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    for user in "$TOTP_USER" "$PLAIN_USER"; do
        useradd --create-home --shell /bin/sh "$user"
        printf '%s:%s\n' "$user" "$PASSWORD" | chpasswd
        home="$(getent passwd "$user" | cut -d: -f6)"
        install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
        install -m 0600 -o "$user" -g "$user" "$TMP/client_key.pub" "$home/.ssh/authorized_keys"
    done
    usermod -a -G "$TEST_GROUP" "$TOTP_USER"
}

write_askpass() {
    # ssh runs this for every keyboard-interactive prompt (SSH_ASKPASS_REQUIRE=force)
    # with the prompt as its argument; it logs the prompt and prints the answer.
    cat >"$TMP/askpass" <<'EOF'
#!/bin/sh
printf '%s\n' "$1" >>"$RT_ASKPASS_DIR/prompts"
case "$1" in
    *"Verification code"*) exec cat "$RT_ASKPASS_DIR/answer.code" ;;
    *Password*) exec cat "$RT_ASKPASS_DIR/answer.password" ;;
    *) exit 1 ;;
esac
EOF
    chmod 0700 "$TMP/askpass"
}

# remove_stale_services: PAM services left by runs that were killed.
remove_stale_services() {
    local file pid
    for file in /etc/pam.d/rt-sshd-e2e-*; do
        [ -e "$file" ] || continue
        pid="${file##*-}"
        if ! kill -0 "$pid" 2>/dev/null; then rm -f "$file"; fi
    done
}

setup() {
    remove_stale_services
    TMP="$(mktemp -d /tmp/rt-sshd-e2e.XXXXXX)"
    chmod 0755 "$TMP"
    mkdir "$TMP/bin"
    SERVICE="rt-sshd-e2e-$$"
    SSHD="$TMP/bin/$SERVICE"
    ln -s "$(command -v sshd)" "$SSHD"
    # The test users run the enrolment command; give them a copy they can reach.
    install -m 0755 "$RT_CLI" "$TMP/bin/enrol"
    ssh-keygen -q -t ed25519 -N '' -C rt-host -f "$TMP/ssh_host_ed25519_key"
    ssh-keygen -q -t ed25519 -N '' -C rt-client -f "$TMP/client_key"
    # Privilege separation directory of Debian's sshd.
    install -d -m 0755 /run/sshd
    write_askpass
    create_test_accounts
}

# --- sshd ---------------------------------------------------------------------

# write_sshd_config FLOW FILE: test-specific settings, then the flow's drop-in
# exactly as shipped (sshd keeps the first value of each keyword, and a Match
# block in the drop-in must come last).
write_sshd_config() {
    cat >"$2" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $TMP/ssh_host_ed25519_key
PidFile $TMP/sshd.pid
LogLevel VERBOSE
AllowUsers $TOTP_USER $PLAIN_USER
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
LoginGraceTime 30
EOF
    cat "$EXAMPLES/$1/sshd_config.d/rust-totp.conf" >>"$2"
}

# install_pam_service FLOW: the flow's /etc/pam.d/sshd as our service, with the
# module under test and the test group substituted.
install_pam_service() {
    sed -e "s#pam_rust_totp\\.so#$RT_PAM_MODULE#" \
        -e "s#totp-users#$TEST_GROUP#" \
        "$EXAMPLES/$1/pam.d/sshd" >"/etc/pam.d/$SERVICE"
}

stop_sshd() {
    if [ -n "$SSHD_PID" ]; then
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        SSHD_PID=""
    fi
}

# start_flow FLOW: (re)starts sshd with the flow's PAM service and drop-in.
start_flow() {
    local flow="$1" config="$TMP/sshd_config.$1"
    stop_sshd
    PORT="$(rt_free_port)" || rt_die "no free port"
    install_pam_service "$flow"
    write_sshd_config "$flow" "$config"
    printf '==== flow %s (port %s)\n' "$flow" "$PORT" >>"$TMP/sshd.log"
    "$SSHD" -D -e -f "$config" >>"$TMP/sshd.log" 2>&1 &
    SSHD_PID=$!
    if ! rt_wait_for_port "$PORT" 10; then
        cat "$TMP/sshd.log" >&2
        rt_die "sshd did not start for flow $flow"
    fi
    printf '# flow %s\n' "$flow"
}

# --- client -------------------------------------------------------------------

# enrol USER: a fresh secret file, written by the enrolment command as USER.
enrol() {
    su - "$1" -c "$TMP/bin/enrol $ENROL_FLAGS" >/dev/null ||
        rt_die "enrolment of $1 failed"
}

secret_of() {
    rt_secret_of "$(getent passwd "$1" | cut -d: -f6)/.google_authenticator"
}

# ssh_login NAME USER KEY|NOKEY PASSWORD CODE: logs in and runs `id -un`;
# succeeds when the remote command printed USER. The prompts the server sent
# are left in $TMP/prompts (without ssh's "(user@host) " prefix).
ssh_login() {
    local name="$1" user="$2" key="$3" output status
    local -a key_opts=(-o PubkeyAuthentication=no)
    printf '%s\n' "$4" >"$TMP/answer.password"
    printf '%s\n' "$5" >"$TMP/answer.code"
    : >"$TMP/prompts"
    if [ "$key" = KEY ]; then
        key_opts=(-o PubkeyAuthentication=yes -o IdentitiesOnly=yes -i "$TMP/client_key")
    fi
    printf '==== %s\n' "$name" >>"$TMP/ssh.log"
    status=0
    output="$(env -u SSH_AUTH_SOCK SSH_ASKPASS="$TMP/askpass" SSH_ASKPASS_REQUIRE=force \
        RT_ASKPASS_DIR="$TMP" DISPLAY=none \
        timeout 30 ssh -F /dev/null -p "$PORT" \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=no \
        -o PasswordAuthentication=no -o KbdInteractiveAuthentication=yes \
        -o NumberOfPasswordPrompts=1 \
        -o PreferredAuthentications=publickey,keyboard-interactive \
        "${key_opts[@]}" "$user@127.0.0.1" id -un </dev/null 2>>"$TMP/ssh.log")" || status=$?
    sed -i 's/^([^)]*) //' "$TMP/prompts"
    printf 'exit %s, output "%s"\n' "$status" "$output" >>"$TMP/ssh.log"
    [ "$status" -eq 0 ] && [ "$output" = "$user" ]
}

# prompts_were PROMPT...: the server asked exactly these prompts, in order
# (compared without surrounding blanks).
prompts_were() {
    local expected actual
    expected="$(printf '%s\n' "$@")"
    actual="$(sed -e 's/[[:space:]]*$//' "$TMP/prompts")"
    [ "$actual" = "$expected" ]
}

# expect_login NAME USER KEY|NOKEY PASSWORD CODE [EXPECTED_PROMPT...]
expect_login() {
    local name="$1"
    shift
    if ssh_login "$name" "$1" "$2" "$3" "$4"; then
        shift 4
        if [ $# -gt 0 ] && ! prompts_were "$@"; then
            rt_fail "$name (prompts: $(tr '\n' '|' <"$TMP/prompts"))"
            return
        fi
        rt_pass "$name"
    else
        rt_fail "$name"
    fi
}

# expect_refused NAME USER KEY|NOKEY PASSWORD CODE
expect_refused() {
    local name="$1"
    shift
    if ssh_login "$name" "$@"; then rt_fail "$name"; else rt_pass "$name"; fi
}

# fresh_code USER: the current code, at least 5 s before it changes.
fresh_code() {
    rt_wait_for_fresh_step 5
    rt_totp "$(secret_of "$1")"
}

# --- flows --------------------------------------------------------------------

flow_publickey_totp() {
    local code
    start_flow publickey-totp
    enrol "$TOTP_USER"
    code="$(fresh_code "$TOTP_USER")"
    expect_login "key + current code logs in, only the code is asked" \
        "$TOTP_USER" KEY "" "$code" "Verification code:"
    expect_refused "key + wrong code is refused" \
        "$TOTP_USER" KEY "" "$(rt_wrong_totp "$(secret_of "$TOTP_USER")")"
    expect_refused "replayed code is refused (DISALLOW_REUSE)" \
        "$TOTP_USER" KEY "" "$code"
    expect_refused "code without key is refused" \
        "$TOTP_USER" NOKEY "$PASSWORD" "$(rt_totp "$(secret_of "$TOTP_USER")" 1)"
    expect_refused "user without secret file is refused (no nullok)" \
        "$PLAIN_USER" KEY "" "$code"
}

flow_password_totp() {
    local code
    start_flow password-totp
    enrol "$TOTP_USER"
    code="$(fresh_code "$TOTP_USER")"
    expect_login "password + current code log in over keyboard-interactive" \
        "$TOTP_USER" NOKEY "$PASSWORD" "$code" "Password:" "Verification code:"
    expect_refused "password + wrong code is refused" \
        "$TOTP_USER" NOKEY "$PASSWORD" "$(rt_wrong_totp "$(secret_of "$TOTP_USER")")"
    expect_refused "wrong password + valid code is refused" \
        "$TOTP_USER" NOKEY "not-$PASSWORD" "$(rt_totp "$(secret_of "$TOTP_USER")" 1)"
}

flow_rollout_nullok() {
    start_flow rollout-nullok
    enrol "$TOTP_USER"
    expect_login "nullok: user without secret file logs in with the key alone" \
        "$PLAIN_USER" KEY "" ""
    expect_refused "nullok: enrolled user with a wrong code is refused" \
        "$TOTP_USER" KEY "" "$(rt_wrong_totp "$(secret_of "$TOTP_USER")")"
    expect_login "nullok: enrolled user logs in with the current code" \
        "$TOTP_USER" KEY "" "$(fresh_code "$TOTP_USER")" "Verification code:"
}

flow_group_only() {
    start_flow group-only
    enrol "$TOTP_USER"
    expect_login "group-only: non-member logs in with the key alone" \
        "$PLAIN_USER" KEY "" ""
    expect_refused "group-only: member with a wrong code is refused" \
        "$TOTP_USER" KEY "" "$(rt_wrong_totp "$(secret_of "$TOTP_USER")")"
    expect_login "group-only: member logs in with the current code" \
        "$TOTP_USER" KEY "" "$(fresh_code "$TOTP_USER")" "Verification code:"
}

# methods_for CONFIG ADDRESS: the AuthenticationMethods sshd applies to a
# root login from ADDRESS.
methods_for() {
    "$SSHD" -T -f "$1" -C "user=root,host=client,addr=$2" |
        sed -n 's/^authenticationmethods //p'
}

flow_proxmox_ve_config() {
    local config="$TMP/sshd_config.proxmox-ve"
    printf '# flow proxmox-ve (configuration only)\n'
    { printf 'HostKey %s\n' "$TMP/ssh_host_ed25519_key"
      cat "$EXAMPLES/proxmox-ve/sshd_config.d/rust-totp.conf"; } >"$config"
    rt_check "proxmox-ve: cluster network gets key-only logins" \
        test "$(methods_for "$config" 198.51.100.7)" = "publickey"
    rt_check "proxmox-ve: other clients need key and code" \
        test "$(methods_for "$config" 192.0.2.10)" = "publickey,keyboard-interactive"
    rt_check "proxmox-ve: the PAM file keeps common-auth out of the stack" \
        grep -qx '# @include common-auth' "$EXAMPLES/proxmox-ve/pam.d/sshd"
}

show_logs() {
    printf -- '---- sshd log (%s) ----\n' "$TMP/sshd.log"
    tail -n 150 "$TMP/sshd.log" || true
    printf -- '---- ssh client log ----\n'
    tail -n 60 "$TMP/ssh.log" || true
}

main() {
    rt_require_root
    rt_require_tools sshd ssh ssh-keygen oathtool ss su useradd chpasswd timeout
    rt_require_file "$RT_PAM_MODULE" "PAM module"
    rt_require_file "$RT_CLI" "enrolment command"
    rt_require_file "$EXAMPLES/publickey-totp/pam.d/sshd" "pam.d examples"
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    setup
    flow_publickey_totp
    flow_password_totp
    flow_rollout_nullok
    flow_group_only
    flow_proxmox_ve_config
    stop_sshd
    if ! rt_summary sshd_e2e; then
        show_logs
        return 1
    fi
}

# Run the tests when executed; only define the functions when sourced (as by
# tests/system/demo.sh).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
