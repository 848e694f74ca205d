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
dpid=

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

# The policy in a bus configured like Debian's system bus (method calls denied unless allowed):
# root owns org.drift1 and may call anything; anyone else may read and introspect only.
chmod 755 "$tmp"
cat > "$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$tmp/bus</listen><auth>EXTERNAL</auth>
<policy context="default">
  <allow user="*"/>
  <deny own="*"/>
  <deny send_type="method_call"/>
  <allow send_type="signal"/>
  <allow send_requested_reply="true" send_type="method_return"/>
  <allow send_requested_reply="true" send_type="error"/>
  <allow receive_type="method_call"/>
  <allow receive_type="method_return"/>
  <allow receive_type="error"/>
  <allow receive_type="signal"/>
  <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
</policy>
<include>$src/units/org.drift1.conf</include></busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --print-address=1 --fork --print-pid=1 > "$tmp/bus.out" 2>"$tmp/bus.err" ||
  { echo "dbus-daemon rejected the policy: $(cat "$tmp/bus.err")"; exit 1; }
buspid=$(sed -n 2p "$tmp/bus.out")
trap 'kill $buspid 2>/dev/null || true; kill $dpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  cat > "$tmp/d.conf" <<CONF
[rtsp]
port = 0
[http]
port = 0
[stream.live]
model = $src/tests/fixtures/dit/tiny.safetensors
audio = false
width = 32
height = 32
CONF
  RUNTIME_DIRECTORY=$tmp/rt "$build/daemon/driftd" --system --config "$tmp/d.conf" --state-dir "$tmp/st" \
    > "$tmp/d.log" 2>&1 & dpid=$!
  for _ in $(seq 100); do busctl --system status org.drift1 >/dev/null 2>&1 && break; sleep 0.1; done
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  as_nobody busctl --system get-property org.drift1 /org/drift1 org.drift1.Manager Version >/dev/null ||
    { echo "policy: nobody cannot read properties"; cat "$tmp/d.log"; exit 1; }
  as_nobody busctl --system introspect org.drift1 /org/drift1/stream/live >/dev/null ||
    { echo "policy: nobody cannot introspect"; exit 1; }
  if out=$(as_nobody busctl --system call org.drift1 /org/drift1/stream/live org.drift1.Stream SetPrompt s w1 2>&1); then
    echo "policy: nobody may call SetPrompt"; exit 1
  fi
  grep -qi "denied\|access" <<<"$out" || { echo "policy: unexpected refusal: $out"; exit 1; }
  as_nobody busctl --system call org.drift1 /org/drift1 org.drift1.Manager Reload 2>/dev/null &&
    { echo "policy: nobody may call Reload"; exit 1; }
  busctl --system call org.drift1 /org/drift1/stream/live org.drift1.Stream SetPrompt s w1 ||
    { echo "policy: root may not call SetPrompt"; exit 1; }
  kill $dpid; wait $dpid || true
  echo "policy: reading for all, methods for root (checked as nobody and root)"
fi
kill $buspid
grep -q '^Name=org.drift1$' "$src/units/org.drift1.service"
grep -q '^SystemdService=driftd.service$' "$src/units/org.drift1.service"
echo "D-Bus policy and activation file: ok"

# cmake --install: the data files with prefix /usr as Debian builds it (a fresh configure, no
# build needed), the binaries from the build at hand.
cmake -S "$src" -B "$tmp/b" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
DESTDIR="$tmp/root" cmake --install "$tmp/b" --component daemon-data >/dev/null
for f in etc/drift/driftd.conf usr/share/dbus-1/system.d/org.drift1.conf \
         usr/share/dbus-1/system-services/org.drift1.service \
         usr/lib/sysusers.d/drift.conf usr/lib/tmpfiles.d/drift.conf \
         usr/share/drift/web/index.html usr/share/drift/web/style.css; do
  [[ -e $tmp/root/$f ]] || { echo "cmake --install did not install /$f"; exit 1; }
done
unit=$(ls "$tmp"/root/{lib,usr/lib}/systemd/system/driftd.service 2>/dev/null | head -1 || true)
[[ -n $unit ]] || { echo "driftd.service not installed"; exit 1; }
grep -q '^ExecStart=/usr/bin/driftd' "$unit" || { echo "installed unit: $(grep ExecStart "$unit")"; exit 1; }
DESTDIR="$tmp/bin" cmake --install "$build" --component daemon >/dev/null
find "$tmp/bin" -name driftd -type f | grep -q . || { echo "driftd not installed"; exit 1; }
find "$tmp/bin" -name driftctl -type f | grep -q . || { echo "driftctl not installed"; exit 1; }
echo "install: ok ($(cd "$tmp/root" && find . -type f | sort | tr '\n' ' '))"
