#!/usr/bin/env bash
# clean_root_test.sh's part inside the root, run as the first process of its own mount and PID
# namespaces (unshare), so that /proc, /sys and /dev mounted here vanish with it and every process
# it started (dbus-daemon, driftd) is killed when it ends, however it ends. ROOT/tmp/drift.deb is
# the package.
#   clean_root_inside.sh ROOT
set -euo pipefail
root=$1
fail() { echo "clean root: FAIL: $*"; exit 1; }
step() { printf '\n== %3d s: %s\n' "$SECONDS" "$*"; }
inroot() { chroot "$root" "$@"; }
apt() { # the log inside the root ($$ is 1 in this PID namespace: no name to share on the host)
  inroot apt-get -q -o Dpkg::Use-Pty=0 "$@" > "$root/tmp/apt.log" 2>&1 ||
    { tail -30 "$root/tmp/apt.log"; fail "apt-get $*"; }
}

mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root/run/lock"

# Paths and owners of the root, less what apt and dpkg keep for themselves.
snapshot() {
  inroot find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
    -o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \) -prune \
    -o -printf '%p %M %u %g\n' | LC_ALL=C sort
}

step "apt-get update; what the test itself uses: dbus, ffmpeg (ffprobe), man-db"
apt update
apt install -y --no-install-recommends dbus ffmpeg man-db

step "the system bus of this root, running before drift comes (its policy must reach it)"
mkdir -p "$root/run/dbus"
inroot dbus-daemon --system --fork --print-pid > "$root/tmp/dbus.pid"
bus_pid=$(cat "$root/tmp/dbus.pid")
trap 'kill $bus_pid 2>/dev/null || true; [[ -n ${driftd_pid:-} ]] && kill $driftd_pid 2>/dev/null || true' EXIT

step "apt-get install ./drift.deb"
apt install -y --no-install-recommends /tmp/drift.deb
inroot dpkg-query -W -f='${Package} ${Version} ${Status}\n' drift

step "what the maintainer scripts did"
inroot getent passwd drift || fail "no user drift (sysusers)"
inroot getent group drift || fail "no group drift (sysusers)"
owner=$(inroot stat -c '%U:%G %a' /var/lib/drift /var/lib/drift/jobs /var/lib/drift/renders | sort -u)
[[ $owner == "drift:drift 750" ]] || fail "/var/lib/drift and jobs/, renders/ are '$owner', expected drift:drift 750 (tmpfiles)"
for link in /etc/systemd/system/multi-user.target.wants/driftd.service \
            /etc/systemd/system/timers.target.wants/drift-render@.timer; do
  [[ ! -e $root$link && ! -L $root$link ]] || fail "$link: enabled at install (Debian policy: enable nothing)"
done
[[ -e $root/var/lib/systemd/deb-systemd-helper-enabled/driftd.service.dsh-also ]] ||
  fail "deb-systemd-helper has no state for driftd.service (purge could not clean up)"
inroot dpkg-query -W -f='${Conffiles}\n' drift | grep '^ /etc/drift/driftd.conf ' > /dev/null ||
  fail "/etc/drift/driftd.conf is not a conffile"
unit=$(inroot dpkg -L drift | grep '/systemd/system/driftd.service$') || fail "no driftd.service in the package"
echo "unit: $unit"

step "man -w for every page"
for page in driftd.8 driftctl.1 drift-gen.1 drift-bench.1 driftd.conf.5; do
  name=${page%.*} section=${page##*.}
  path=$(inroot man -w "$section" "$name") || fail "man -w $section $name"
  echo "$path"
  inroot sh -c "MANWIDTH=80 man --warnings $section $name 2>&1 >/dev/null" | grep . && fail "man $section $name warns (above)"
done
inroot man -w driftd > /dev/null || fail "man -w driftd"

step "driftd as driftd.service starts it: user drift, the installed config and models"
exec_start=$(sed -n 's/^ExecStart=//p' "$root$unit")
[[ $exec_start == "/usr/bin/driftd --system" ]] || fail "$unit: ExecStart=$exec_start"
mkdir -p "$root/etc/drift/driftd.conf.d"
printf '# clean_root_test: any free port\n[rtsp]\nport = 0\n' > "$root/etc/drift/driftd.conf.d/50-test.conf"
# chroot itself (not a function, whose subshell would take the signals): chroot, setpriv and env
# exec, so that $! is driftd.
chroot "$root" setpriv --reuid=drift --regid=drift --init-groups \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin STATE_DIRECTORY=/var/lib/drift \
  RUNTIME_DIRECTORY=/run/drift ORC_CODE=backup GOMP_SPINCOUNT=1000 OMP_NUM_THREADS=2 \
  $exec_start > "$root/tmp/driftd.log" 2>&1 &
driftd_pid=$!
status=
for _ in $(seq 240); do
  if status=$(inroot driftctl --system status 2>&1) && [[ $status == *", ready, "* ]]; then break; fi
  kill -0 "$driftd_pid" 2>/dev/null || { cat "$root/tmp/driftd.log"; fail "driftd exited (log above)"; }
  sleep 0.5
done
echo "$status"
[[ $status == *", ready, "* ]] || { cat "$root/tmp/driftd.log"; fail "driftd not ready in 120 s"; }
# On the bus itself, not on the private socket driftctl falls back to: the bus that ran before
# the package came took its policy (dbus's trigger on /usr/share/dbus-1/system.d reloaded it).
inroot dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
  org.freedesktop.DBus.GetNameOwner string:org.drift1 > /dev/null ||
  { cat "$root/tmp/driftd.log"; fail "org.drift1 is not on the system bus (the policy did not reach it)"; }
port=$(sed -n 's/.*RTSP 127\.0\.0\.1 port \([0-9]*\).*/\1/p' <<<"$status")
[[ -n $port ]] || fail "driftctl status shows no RTSP port"
grep -q "rtsp://127.0.0.1:$port/live" <<<"$status" || fail "driftctl status does not show stream live's URL"

step "ffprobe rtsp://127.0.0.1:$port/live"
probe=$(inroot timeout 90 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "rtsp://127.0.0.1:$port/live") || { tail -20 "$root/tmp/driftd.log"; fail "ffprobe"; }
echo "$probe"
grep -q 'codec_name=h264|codec_type=video|width=256|height=256' <<<"$probe" || fail "no 256x256 H.264 video"
grep -q 'codec_type=audio' <<<"$probe" || fail "no audio"

step "driftctl: steering as root, reading as nobody, the installed D-Bus policy"
inroot driftctl --system prompt live "fast red flames" || fail "driftctl prompt as root"
inroot driftctl --system show live | grep 'fast red flames' > /dev/null || fail "the prompt did not change"
inroot setpriv --reuid=65534 --regid=65534 --clear-groups driftctl --system status > /dev/null ||
  fail "nobody cannot read the status"
if inroot setpriv --reuid=65534 --regid=65534 --clear-groups driftctl --system stop live 2>/dev/null; then
  fail "nobody stopped a stream: the policy does not hold"
fi

step "the installed bash completion against this daemon"
complete_line() {
  inroot bash -c 'source /usr/share/bash-completion/completions/driftctl
              COMP_LINE=$1 COMP_POINT=${#1} COMP_WORDS=($1) COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
              _driftctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}
[[ $(complete_line "driftctl --system prompt ") == live ]] || fail "completing a stream name: '$(complete_line "driftctl --system prompt ")'"
complete_line "driftctl st" | grep -x status > /dev/null ||
  fail "completing a command: '$(complete_line "driftctl st" | tr '\n' ' ')'; driftctl --help begins: $(inroot driftctl --help 2>&1 | head -4)"

step "a render job: driftctl render, watch; the output under /var/lib/drift/renders"
job=$(inroot driftctl --system render seconds=0.5 output=clean-root.mp4) || fail "driftctl render"
echo "job $job"
complete_line "driftctl --system watch " | grep -x "$job" > /dev/null ||
  fail "completing a job id: '$(complete_line "driftctl --system watch ")'"
out=$(inroot timeout 180 driftctl --system watch "$job") || fail "the render did not finish: $out"
[[ $(tail -1 <<<"$out") == /var/lib/drift/renders/clean-root.mp4 ]] || fail "driftctl watch: $out"
[[ $(inroot stat -c %U /var/lib/drift/renders/clean-root.mp4) == drift ]] || fail "the render is not drift's"
inroot ffprobe -v error -show_entries stream=codec_name -of csv=p=0 /var/lib/drift/renders/clean-root.mp4 |
  tr '\n' ' ' | grep 'h264 aac' > /dev/null || fail "the render is not H.264 + AAC"

step "SIGTERM"
kill -TERM "$driftd_pid"
wait "$driftd_pid" || fail "driftd exited $? on SIGTERM"
driftd_pid=

step "apt-get purge drift"
rm "$root/etc/drift/driftd.conf.d/50-test.conf"
apt purge -y drift
# /var/cache/man: man-db's own cache of the pages man formatted above, which mandb expires.
left=$(inroot find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/cache/man \) \
       -prune -o -name '*drift*' -print)
[[ -z $left ]] || fail "left after purge: $left"
for path in /etc/drift /var/lib/drift /run/drift /usr/share/drift /usr/share/doc/drift; do
  [[ ! -e $root$path ]] || fail "$path is left after purge"
done
inroot getent passwd drift > /dev/null && echo "kept, as Debian policy says: user and group drift"

step "a second install and purge leave the root as they found it"
snapshot > "$root/tmp/before"
apt install -y --no-install-recommends /tmp/drift.deb
apt purge -y drift
snapshot > "$root/tmp/after"
diff "$root/tmp/before" "$root/tmp/after" || fail "install + purge changed the root (diff above)"
echo "inside: passed in $SECONDS s"
