#!/usr/bin/env bash
# Installs every Debian 12 package drift needs to build, run, test, package and train.
# Idempotent: only missing packages are installed. Runs as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git file
  libdnnl-dev libjansson-dev libcmocka-dev libpng-dev
  libsystemd-dev libglib2.0-dev libglib2.0-bin systemd dbus dbus-daemon dbus-bin
  libsoup-3.0-dev curl libcrypt-dev glib-networking openssl
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav
  libgstreamer-plugins-bad1.0-dev gstreamer1.0-nice gir1.2-gst-plugins-bad-1.0
  gir1.2-gst-plugins-base-1.0 gir1.2-gstreamer-1.0
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libx264-dev
  ffmpeg
  clang libclang-rt-14-dev llvm
  python3 python3-torch python3-numpy python3-matplotlib python3-gi gir1.2-glib-2.0
  python3-prometheus-client
  chromium python3-websocket
  dpkg-dev scdoc man-db lintian debootstrap
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "drift: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
