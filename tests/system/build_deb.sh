#!/bin/bash
# Builds the libpam-rust-totp .deb from the working tree and prints its path
# as the last line of output.
#
# The tracked and untracked-but-not-ignored files are copied to
# target/deb/src/pam-rust-totp-VERSION/ and dpkg-buildpackage runs there, so
# neither the build nor its artefacts (which dpkg-buildpackage writes to the
# parent directory) touch the repository. The .deb, .buildinfo and .changes
# end up in target/deb/. Cargo builds into target/deb/cargo-target, apart from
# development builds; copies keep their timestamps, so rebuilds are
# incremental.
#
# Afterwards lintian checks the .deb and the script fails on any error.
#
# Build dependencies (Debian bookworm): git, dpkg-dev, debhelper, libpam0g-dev,
# pkgconf, lintian, a C toolchain (build-essential) and the Rust toolchain from
# rustup (cargo on PATH). A missing one is named with the command that
# installs it.
#
# Environment:
#   RT_DEB_OUT         output directory (default target/deb)
#   DEB_BUILD_OPTIONS  passed on; "nocheck" is added unless RT_DEB_CHECK=1
#   RT_LINTIAN=0       skip lintian
set -euo pipefail

RT_TEST_NAME=build_deb
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"

OUT="${RT_DEB_OUT:-$RT_REPO_ROOT/target/deb}"

# stage_tree DIR: copies the working tree (without ignored files) to DIR.
stage_tree() {
    local file
    rm -rf "$1"
    mkdir -p "$1"
    git -C "$RT_REPO_ROOT" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do
            # Skip files deleted in the working tree but still in the index.
            if [ -e "$RT_REPO_ROOT/$file" ]; then printf '%s\0' "$file"; fi
        done |
        tar -C "$RT_REPO_ROOT" --null -T - -cf - | tar -C "$1" -xf -
}

# collect_artefacts SRC_PARENT: moves the build results into $OUT.
collect_artefacts() {
    local file
    for file in "$1"/*.deb "$1"/*.ddeb "$1"/*.buildinfo "$1"/*.changes; do
        if [ -e "$file" ]; then mv -f "$file" "$OUT/"; fi
    done
}

# install_hint TOOL: how to get TOOL on Debian.
install_hint() {
    case "$1" in
    cargo) printf 'install Rust with rustup (https://rustup.rs) and put ~/.cargo/bin on PATH' ;;
    dpkg-buildpackage | dpkg-parsechangelog | dpkg-checkbuilddeps) printf 'apt-get install dpkg-dev' ;;
    dh) printf 'apt-get install debhelper' ;;
    *) printf 'apt-get install %s' "$1" ;;
    esac
}

# require_build_tools TOOL...: every tool must be on PATH; a missing one is
# named with how to get it.
require_build_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 ||
            rt_skip_or_fail "required tool '$tool' not found: $(install_hint "$tool")"
    done
}

# require_build_deps: debian/control's Build-Depends must be installed.
require_build_deps() {
    local unmet
    if ! unmet="$(cd "$RT_REPO_ROOT" && dpkg-checkbuilddeps 2>&1)"; then
        unmet="$(printf '%s\n' "$unmet" | sed -n 's/.*Unmet build dependencies: //p')"
        # Versions dropped, the first of alternatives kept; debhelper provides
        # debhelper-compat.
        unmet="$(printf '%s\n' "$unmet" |
            sed 's/([^)]*)//g; s/ *| *[^ ]*//g; s/debhelper-compat/debhelper/g; s/  */ /g; s/ *$//')"
        rt_skip_or_fail "unmet build dependencies: apt-get install $unmet"
    fi
}

run_lintian() {
    local deb="$1" report="$OUT/lintian.txt"
    require_build_tools lintian
    # --fail-on error: warnings are reported, errors fail the build.
    if lintian --fail-on error --display-info "$deb" >"$report" 2>&1; then
        sed 's/^/lintian: /' "$report" >&2
    else
        sed 's/^/lintian: /' "$report" >&2
        rt_die "lintian reported errors for $deb"
    fi
}

main() {
    local version upstream stage deb options
    require_build_tools git dpkg-buildpackage dpkg-parsechangelog dpkg-checkbuilddeps dh cargo tar
    require_build_deps
    version="$(dpkg-parsechangelog -l "$RT_REPO_ROOT/debian/changelog" -S Version)"
    upstream="${version%-*}"
    stage="$OUT/src/pam-rust-totp-$upstream"

    mkdir -p "$OUT"
    rm -f "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.buildinfo "$OUT"/*.changes
    stage_tree "$stage"

    options="${DEB_BUILD_OPTIONS:-}"
    if [ "${RT_DEB_CHECK:-0}" != 1 ]; then options="nocheck $options"; fi
    rt_log "building in $stage (log: $OUT/build.log)"
    if ! (cd "$stage" &&
        CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$OUT/cargo-target}" \
            DEB_BUILD_OPTIONS="$options" \
            dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
        tail -n 40 "$OUT/build.log" >&2
        rt_die "dpkg-buildpackage failed"
    fi
    collect_artefacts "$OUT/src"

    deb="$OUT/libpam-rust-totp_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb"
    [ -f "$deb" ] || rt_die "expected $deb"
    if [ "${RT_LINTIAN:-1}" != 0 ]; then run_lintian "$deb"; fi
    printf '%s\n' "$deb"
}

main "$@"
