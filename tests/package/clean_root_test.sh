#!/usr/bin/env bash
# The Debian package on a clean Debian 12: build it (tools/package.sh, lintian included) while
# debootstrap makes a minimal bookworm root in the build tree; install the package there with
# apt-get, start the installed driftd as its unit would (user drift, the installed config and
# models) on that root's own system bus, read the stream with ffprobe, steer it with driftctl,
# complete with the installed bash completion, find the manual with man -w; then purge it and
# check that nothing is left but the user and group drift (Debian policy keeps them), and that a
# second install and purge leave the root exactly as they found it.
#   clean_root_test.sh SOURCE BUILD
# Skips (77), saying why, without root, debootstrap, mount namespaces or a Debian mirror.
# Time-boxed: every step runs under what is left of DRIFT_CLEAN_ROOT_SECONDS (default 840).
set -euo pipefail
src=$1 build=$2
mirror=${DRIFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
box=${DRIFT_CLEAN_ROOT_SECONDS:-840}
skip() { echo "clean root: skipped: $*"; exit 77; }
fail() { echo "clean root: FAIL: $*"; exit 1; }
step() { printf '\n== %3d s: %s\n' "$SECONDS" "$*"; }
left() {
  local l=$((box - SECONDS))
  ((l > 0)) || fail "the time box of $box s is spent"
  echo "$l"
}

[[ $(id -u) == 0 ]] || skip "needs root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || skip "no debootstrap (tools/install-deps.sh installs it)"
command -v unshare >/dev/null || skip "no unshare (util-linux)"
unshare --mount --pid --fork --kill-child --propagation private true 2>/dev/null ||
  skip "mount and PID namespaces are not allowed here (unshare)"
host=${mirror#*://}; host=${host%%/*}
timeout 20 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null || skip "$mirror is not reachable"

work=$(mktemp -d "$build/clean-root.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

step "package (tools/package.sh $build/deb) and debootstrap --variant=minbase bookworm, side by side"
timeout "$(left)" "$src/tools/package.sh" "$build/deb" > "$work/package.log" 2>&1 &
package_pid=$!
if ! timeout "$(left)" debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1; then
  tail -20 "$work/debootstrap.log"
  kill "$package_pid" 2>/dev/null || true
  fail "debootstrap failed (log above)"
fi
echo "debootstrap: done at $SECONDS s"
if ! wait "$package_pid"; then
  tail -40 "$work/package.log"
  fail "tools/package.sh failed (log above)"
fi
deb=$(tail -1 "$work/package.log")
[[ -f $deb ]] || fail "tools/package.sh printed no package: $deb"
grep '^package: lintian' "$work/package.log" || true
echo "package: $deb ($(du -h "$deb" | cut -f1)), built by $SECONDS s"
cp "$deb" "$root/tmp/drift.deb"
dpkg-deb -f "$deb" Depends Recommends

# Everything inside the root runs in mount and PID namespaces of its own: its mounts and processes
# go with it, even when it is killed, so that nothing under the build tree stays mounted or runs.
step "inside the clean root"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
timeout "$(left)" unshare --mount --pid --fork --kill-child --propagation private -- \
  bash "$src/tests/package/clean_root_inside.sh" "$root" ||
  fail "inside the clean root (see above)"
echo "clean root: passed in $SECONDS s"
