#!/usr/bin/env bash
# Provision a WebGPU adapter (and the browser for the browser tests) on a fresh machine.
#
# What it does, in order:
#   1. If a WebGPU adapter is already reachable from Node, stop there.
#   2. As root with apt: enable bookworm-backports and install Mesa's lavapipe
#      (mesa-vulkan-drivers 25.x; Debian 12's own 22.x is too old for Dawn),
#      plus Debian's chromium for the browser tests (SYNFACE_SETUP_BROWSER=0 skips it)
#      and Debian's python3-torch and python3-torchvision (1.13 and 0.14, CPU) for the PyTorch
#      package in tools/torch and its test (SYNFACE_SETUP_TORCH=0 skips them).
#   3. Otherwise print exactly what is missing.
# It never downloads anything but Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser="${SYNFACE_SETUP_BROWSER:-1}"
want_torch="${SYNFACE_SETUP_TORCH:-1}"
# Debian's torch is installed for /usr/bin/python3 (test/torch.test.ts uses the same rule)
python="${SYNFACE_PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}"
have_lavapipe() { ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && \
  dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)" ge 23; }
have_chromium() { command -v chromium >/dev/null 2>&1; }
have_torch() { "$python" -c 'import torch, torchvision' >/dev/null 2>&1; }

need_apt=()
have_lavapipe || need_apt+=(lavapipe)
if [ "$want_browser" = 1 ] && ! have_chromium; then need_apt+=(chromium); fi
if [ "$want_torch" = 1 ] && ! have_torch; then need_apt+=(torch); fi

if [ ${#need_apt[@]} -eq 0 ]; then
  echo "setup: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), chromium and torch present"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing: ${need_apt[*]}" >&2
  echo "setup: as root on Debian 12 run: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers && apt-get install -y chromium python3-torch python3-torchvision" >&2
  echo "setup: or point SYNFACE_ADAPTER / VK_ICD_FILENAMES at a Vulkan ICD you have" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
fi
apt-get update -qq
pkgs=()
for p in "${need_apt[@]}"; do
  case "$p" in
    lavapipe) apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null ;;
    chromium) pkgs+=(chromium) ;;
    torch) pkgs+=(python3-torch python3-torchvision) ;;
  esac
done
[ ${#pkgs[@]} -gt 0 ] && apt-get install -y -qq "${pkgs[@]}" >/dev/null
echo "setup: installed ${need_apt[*]}; mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
