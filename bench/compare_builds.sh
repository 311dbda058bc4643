#!/usr/bin/env bash
# What -march=native buys (issue 15): the same certify/check runs with two builds, as a table.
# Usage: bench/compare_builds.sh [PORTABLE_BUILD] [NATIVE_BUILD]
#   defaults: build (portable, the default) and build/twin (the cross-build twin, -march=native).
# Times are wall-clock seconds of one run each (2-core machine; other load inflates both columns
# alike); peak RSS from /usr/bin/time. Both builds' brackets are proved; the last column says
# whether they agree to within both gaps.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
a="$(cd "${1:-$root/build}" && pwd)" b="$(cd "${2:-$root/build/twin}" && pwd)"
data="$root/proofs/certificates"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$a/attnbound" witness --model builtin:gpt2-init --n 64 --radius 100 --out "$work/lb1_64.txt" > /dev/null

cases=(
  "gpt2-init point n=4 (dense tier)|certify --model builtin:gpt2-init --point $data/gpt2_lb1_n4.txt --threads 2"
  "gpt2-init point n=64 (structured tier)|certify --model builtin:gpt2-init --point $work/lb1_64.txt --threads 2"
  "tiny ball R=0.5 n=3 to 1 % (branch-and-bound, ~32k leaves)|certify --model builtin:tiny --radius 0.5 --n 3 --tol 0.01 --threads 2"
  "tiny-causal box eps=1e-3 (box tier)|certify --model builtin:tiny-causal --center $data/tiny_centre.txt --eps 0.001 --threads 2"
)
run() {  # build, args -> "seconds rss_MB lower upper"
  local out
  out=$(/usr/bin/time -f "%e %M" "$1/attnbound" $2 --json 2> "$work/time" || true)
  local t; t=$(tail -1 "$work/time")
  python3 -c "import json,sys; j=json.loads(sys.argv[1]); t=sys.argv[2].split(); print(t[0], int(t[1])//1024, j['lower'], j['upper'])" "$out" "$t"
}
printf '| workload | portable s | native s | speed-up | portable MB | native MB | brackets agree |\n|---|---:|---:|---:|---:|---:|---|\n'
for c in "${cases[@]}"; do
  name=${c%%|*} args=${c#*|}
  read -r ta ma la ua <<< "$(run "$a" "$args")"
  read -r tb mb lb ub <<< "$(run "$b" "$args")"
  agree=$(python3 -c "import sys; la,ua,lb,ub=map(float,sys.argv[1:]); print('yes' if la<=ub and lb<=ua else 'NO')" "$la" "$ua" "$lb" "$ub")
  sp=$(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}x')" "$ta" "$tb")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$ta" "$tb" "$sp" "$ma" "$mb" "$agree"
done
