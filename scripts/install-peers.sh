#!/usr/bin/env bash
# Installs the Debian packages whose real iSCSI software the tests and benchmarks run against:
# tgt (tgtd, a userspace target), libiscsi-bin (iscsi-ls, iscsi-inq, iscsi-perf, iscsi-test-cu),
# tshark (PDU dissection), python3-scipy (the independent oracle of the statistics tests),
# iperf3 and ethtool (the shaped links of scripts/link-lab.sh: the wire's ceiling, offloads off),
# chromium and a font (the HTML report, tested in a real headless browser).
# Needs root (or sudo) and Debian's package registry.
set -euo pipefail
pkgs=(tgt libiscsi-bin tshark iproute2 procps python3-scipy iperf3 ethtool chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "peers already installed: ${pkgs[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
