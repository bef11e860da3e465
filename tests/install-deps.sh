#!/bin/bash
# Installs the Debian packages the test suite needs. Idempotent and quiet:
# packages that are already installed are skipped.
#
# To add packages, append a line "need PACKAGE..." at the end of this file.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# need PACKAGE...: installs those of the packages that are missing.
need() {
    local pkg missing=()
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Debian packaging and shell checks (debian/, tests/system/build_deb.sh).
need build-essential debhelper dpkg-dev devscripts lintian libpam0g-dev pkgconf shellcheck
# Real sshd end-to-end test (tests/system/sshd_e2e.sh).
need openssh-server openssh-client oathtool iproute2 passwd
# Package install test in a bookworm root (tests/system/container_install.sh).
need debootstrap util-linux
# Fuzzing (fuzz/, run briefly by tests/run-all.sh): cargo-fuzz from crates.io.
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    "$HOME/.cargo/bin/cargo" install --locked --quiet cargo-fuzz
fi
# PAM harness and differential suite (tests/common, tests/pam_*.rs): the
# driver is compiled with cc against libpam, runs under libfaketime, codes
# come from oathtool, the reference module and CLI from
# libpam-google-authenticator.
need gcc libc6-dev binutils libpam0g-dev libpam-modules libpam-google-authenticator libfaketime oathtool passwd pamtester
# rust-totp CLI tests (cli/tests/cli.rs): the reference tool and module, PAM and QR checks
# (zbarimg reads SVG through ImageMagick's extra coders).
need libpam-google-authenticator pamtester oathtool zbar-tools libmagickcore-6.q16-6-extra
# Robustness tests (tests/robustness.rs): SIGKILL injected at each system call.
need strace
