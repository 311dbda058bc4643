#!/usr/bin/env bash
# Scaling benchmark of the distributed point tier (docs/distributed.md §5). Not a test.
#
#   bench/distributed.sh [BUILD_DIR] [N_TOKENS...]      (default: build, n = 8 16 32 → n·d = 6144 12288 24576)
#
# For each n: the LB1 witness of builtin:gpt2-init (d = 768, 12 heads, causal; R = 100) is
# certified by the single-machine dense tier (build/attnbound certify, one thread; peak memory by
# /usr/bin/time) — only while n·d <= 12288, its dense limit — and by attnbound-mpi on 1 and 2 ranks
# (peak memory per rank by getrusage). Prints one table row per run: time, peak memory per rank,
# the bracket, and its agreement with the single-machine bracket (brackets intersect).
set -euo pipefail
BUILD=${1:-build}
shift || true
NS=("$@")
if ((${#NS[@]} == 0)); then NS=(8 16 32); fi
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1  # waiting ranks yield the core (2-core machine)
export OPENBLAS_NUM_THREADS=1
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
json_num() { grep -o "\"$2\":[^,}]*" "$1" | head -1 | cut -d: -f2; }
printf "%-7s %-8s %-6s %9s %14s %22s %22s %10s %s\n" n n·d ranks time_s peak_MiB/rank lower upper gap agrees
for n in "${NS[@]}"; do
  P="$TMP/w$n.txt"
  "$BUILD/attnbound" witness --model builtin:gpt2-init --n "$n" --radius 100 --kind lb1 --out "$P" >/dev/null
  nd=$((n * 768))
  sl="" su=""
  if ((nd <= 12288)); then
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$BUILD/attnbound" certify --model builtin:gpt2-init --point "$P" \
      --threads 1 --json >"$TMP/single.json" || true
    read -r secs kb <"$TMP/time"
    sl=$(json_num "$TMP/single.json" lower); su=$(json_num "$TMP/single.json" upper)
    printf "%-7s %-8s %-6s %9.1f %14.0f %22s %22s %10.2e %s\n" "$n" "$nd" single "$secs" "$((kb / 1024))" "$sl" "$su" \
      "$(json_num "$TMP/single.json" gap)" "-"
  fi
  for k in 1 2; do
    start=$(date +%s.%N)
    $MPIRUN -np "$k" "$BUILD/attnbound-mpi" certify --model builtin:gpt2-init --point "$P" --json >"$TMP/mpi.json" || true
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
    peak=$(grep -o '"peak_rss_bytes":\[[^]]*\]' "$TMP/mpi.json" | grep -o '[0-9.e+]*' | sort -g | tail -1)
    ml=$(json_num "$TMP/mpi.json" lower); mu=$(json_num "$TMP/mpi.json" upper)
    agree="-"
    if [[ -n "$sl" ]]; then
      agree=$(awk -v a="$sl" -v b="$su" -v c="$ml" -v d="$mu" 'BEGIN { print (c <= b && a <= d) ? "yes" : "NO" }')
    fi
    printf "%-7s %-8s %-6s %9.1f %14.0f %22s %22s %10.2e %s\n" "$n" "$nd" "$k" "$secs" \
      "$(awk -v p="$peak" 'BEGIN { print p / 1048576 }')" "$ml" "$mu" "$(json_num "$TMP/mpi.json" gap)" "$agree"
  done
done
