#!/usr/bin/env bash
# The units and D-Bus files: systemd-analyze verify is clean, the exposure of driftd.service is
# at most 3.0, the D-Bus policy parses in a real dbus-daemon, and cmake --install puts every file
# where Debian expects it.
set -euo pipefail
src=$1 build=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze; skipping"; exit 77; }
[[ -x $build/daemon/driftd ]] || { echo "driftd not built; skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify wants the binary ExecStart names to exist: point it at the build.
mkdir -p "$tmp/units"
sed "s|/usr/bin/driftd|$build/daemon/driftd|" "$src/units/driftd.service" > "$tmp/units/driftd.service"
out=$(cd "$tmp/units" && systemd-analyze verify --man=no ./driftd.service 2>&1) || true
if [[ -n $out ]]; then echo "systemd-analyze verify: $out"; exit 1; fi
# The render timer template, instantiated.
for u in drift-render@.service drift-render@.timer; do
  sed "s|/usr/bin/driftctl|$build/daemon/driftctl|" "$src/units/$u" > "$tmp/units/$u"
done
ln -s drift-render@.service "$tmp/units/drift-render@nightly.service"
ln -s drift-render@.timer "$tmp/units/drift-render@nightly.timer"
out=$(cd "$tmp/units" && systemd-analyze verify --man=no ./drift-render@nightly.timer \
      ./drift-render@nightly.service 2>&1) || true
if [[ -n $out ]]; then echo "systemd-analyze verify (render timer): $out"; exit 1; fi
echo "verify: clean"

exposure=$(systemd-analyze security --offline=yes "$tmp/units/driftd.service" 2>&1 |
  sed -n 's/.*Overall exposure level for driftd.service: \([0-9.]*\).*/\1/p')
[[ -n $exposure ]] || { echo "no exposure level"; exit 1; }
awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }' || { echo "exposure $exposure > 3.0"; exit 1; }
echo "security: exposure $exposure"

# The policy file loads into a bus (a syntax error makes dbus-daemon refuse to start).
cat > "$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$tmp/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/></policy>
<include>$src/units/org.drift1.conf</include></busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --print-address=1 --fork --print-pid=1 > "$tmp/bus.out" 2>"$tmp/bus.err" ||
  { echo "dbus-daemon rejected the policy: $(cat "$tmp/bus.err")"; exit 1; }
kill "$(sed -n 2p "$tmp/bus.out")"
grep -q '^Name=org.drift1$' "$src/units/org.drift1.service"
grep -q '^SystemdService=driftd.service$' "$src/units/org.drift1.service"
echo "D-Bus policy and activation file: ok"

# cmake --install: the data files with prefix /usr as Debian builds it (a fresh configure, no
# build needed), the binaries from the build at hand.
cmake -S "$src" -B "$tmp/b" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
DESTDIR="$tmp/root" cmake --install "$tmp/b" --component daemon-data >/dev/null
for f in etc/drift/driftd.conf usr/share/dbus-1/system.d/org.drift1.conf \
         usr/share/dbus-1/system-services/org.drift1.service \
         usr/lib/sysusers.d/drift.conf usr/lib/tmpfiles.d/drift.conf; do
  [[ -e $tmp/root/$f ]] || { echo "cmake --install did not install /$f"; exit 1; }
done
unit=$(ls "$tmp"/root/{lib,usr/lib}/systemd/system/driftd.service 2>/dev/null | head -1 || true)
[[ -n $unit ]] || { echo "driftd.service not installed"; exit 1; }
grep -q '^ExecStart=/usr/bin/driftd' "$unit" || { echo "installed unit: $(grep ExecStart "$unit")"; exit 1; }
DESTDIR="$tmp/bin" cmake --install "$build" --component daemon >/dev/null
find "$tmp/bin" -name driftd -type f | grep -q . || { echo "driftd not installed"; exit 1; }
find "$tmp/bin" -name driftctl -type f | grep -q . || { echo "driftctl not installed"; exit 1; }
echo "install: ok ($(cd "$tmp/root" && find . -type f | sort | tr '\n' ' '))"
