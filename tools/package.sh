#!/usr/bin/env bash
# Builds the Debian package: drift_VERSION_ARCH.deb, from the same CMake install rules as
# `cmake --install` (packaging/deb.cmake), then checks it with lintian.
#   tools/package.sh [BUILD_DIR]      default BUILD_DIR: build-deb
# The build is configured for /usr, Release, with Debian's hardening flags (dpkg-buildflags) and
# without the tests; the package lands in BUILD_DIR/package/ and its path is the last line
# printed. Needs dpkg-dev, scdoc and lintian (tools/install-deps.sh installs them). Any lintian
# tag at info level or above fails it (docs/PACKAGING.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-deb}
jobs=$(nproc)

for tool in dpkg-buildflags dpkg-shlibdeps scdoc lintian; do
  command -v "$tool" >/dev/null || { echo "package: $tool is missing (tools/install-deps.sh)" >&2; exit 1; }
done

# Debian's build flags, every hardening feature on (lintian checks them in the binaries).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CXXFLAGS LDFLAGS

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DDRIFT_TESTS=OFF -DDRIFT_WERROR=ON -DDRIFT_MAN=ON >/dev/null
cmake --build "$build" -j "$jobs"
rm -f "$build"/package/drift_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/package/drift_*.deb)

# Tags at info level and above: any is an error.
tags=$(lintian --info "$deb" 2>&1 | grep -E '^[EWIPX]: ' || true)
if [[ -n $tags ]]; then
  echo "package: lintian $deb:" >&2
  echo "$tags" >&2
  exit 1
fi
echo "package: lintian: no tags (errors, warnings, info)" >&2
echo "$deb"
