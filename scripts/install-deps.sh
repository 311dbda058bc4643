#!/usr/bin/env bash
# Installs, from Debian's archive only, whatever attnbound needs that this machine lacks.
# Idempotent: packages already present are not touched, so a warm machine pays ~0.1 s.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libboost-dev            # Boost.Interval, Boost.Multiprecision (headers)
  libeigen3-dev           # Eigen 3.4
  libgmp-dev libmpfr-dev libmpfi-dev
  libssl-dev              # SHA-256 for model digests (libcrypto)
  nlohmann-json3-dev      # JSON I/O
  libcli11-dev            # command-line parsing
  libgtest-dev libgmock-dev libbenchmark-dev
  gnuplot-nox             # sweep plots
  ccache                  # shared compile cache (speeds up rebuilds; optional)
  # The distributed tier (build/attnbound-mpi, docs/distributed.md); CMake skips it without them.
  openmpi-bin libopenmpi-dev libscalapack-openmpi-dev
  libopenblas0-serial     # BLAS under ScaLAPACK (serial: one rank per core, no threads)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || $SUDO apt-get update
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
