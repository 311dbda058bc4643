#!/usr/bin/env bash
# Benchmark of the first-order tier (docs/box.md; issue 16). Not a test.
#
#   bench/first_order.sh [BUILD_DIR] [--n "4 16 64 256"] [--eps "1e-5 1e-4 1e-3 1e-2 1e-1"]
#                        [--kinds "linf l2"] [--centres "lb1 random"] [--point] [--time-limit S]
#                        [--ascent-starts K]
#
# Model builtin:gpt2-init (d = 768, 12 heads, causal), R = 100. Centres: the LB1 witness of head 0
# (`attnbound witness --kind lb1`) and a random input with ‖x_i‖ <= R (Gaussian directions, norms
# uniform in [R/2, R], fixed seed). Regions: the box `--center X --eps E` (linf) and the per-token
# ball `--center X --l2 RHO` with RHO = E·√d (l2: the smallest per-token ball containing the
# box, a region of the same nominal size). With --point also the point tier at each centre. Every run writes
# a certificate (certify checks it before writing it); one table row per run: lower, upper,
# upper/lower, time and peak memory (/usr/bin/time), and whether the certificate was written.
# With --ascent-starts K also the largest ‖J(X)‖ (float estimate) that projected ascent finds
# from K random starts inside the region (build/attnbound-ascent-bench), and whether it stays
# at or below the certified upper bound (it must; a "NO" is a bug to report).
set -euo pipefail
BUILD=build
if [[ $# -gt 0 && $1 != --* ]]; then BUILD=$1; shift; fi
NS="4 16 64 256"
EPSS="1e-5 1e-4 1e-3 1e-2 1e-1"
KINDS="linf l2"
CENTRES="lb1 random"
POINT=0
LIMIT=600
ASCENT=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --n) NS=$2; shift 2 ;;
    --eps) EPSS=$2; shift 2 ;;
    --kinds) KINDS=$2; shift 2 ;;
    --centres) CENTRES=$2; shift 2 ;;
    --point) POINT=1; shift ;;
    --time-limit) LIMIT=$2; shift 2 ;;
    --ascent-starts) ASCENT=$2; shift 2 ;;
    *) echo "bench/first_order.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
MODEL=builtin:gpt2-init
D=768
R=100
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
json_num() { grep -o "\"$2\": *[^,}]*" "$1" | head -1 | sed 's/.*: *//'; }

random_centre() {  # n, out
  awk -v n="$1" -v d="$D" -v R="$R" 'BEGIN {
    srand(16); pi = 3.141592653589793
    for (i = 0; i < n; i++) {
      s = 0
      for (a = 0; a < d; a++) { u1 = rand(); if (u1 < 1e-12) u1 = 1e-12; x[a] = sqrt(-2 * log(u1)) * cos(2 * pi * rand()); s += x[a] * x[a] }
      r = R * (0.5 + 0.5 * rand()) / sqrt(s)
      line = ""
      for (a = 0; a < d; a++) line = line sprintf("%.17g ", x[a] * r)
      print line
    }
  }' >"$2"
}

if ((ASCENT)); then
  printf "| n | centre | region | size | lower | upper | upper/lower | time (s) | peak MiB | cert | ascent max (%s starts, float) | <= upper |\n" "$ASCENT"
  printf "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|\n"
else
  printf "| n | centre | region | size | lower | upper | upper/lower | time (s) | peak MiB | cert |\n"
  printf "|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n"
fi
run() {  # n centre region size args...
  local n=$1 centre=$2 region=$3 size=$4
  shift 4
  local out="$TMP/out.json" cert="$TMP/c.json"
  rm -f "$cert"
  /usr/bin/time -f "%e %M" -o "$TMP/time" "$BUILD/attnbound" certify --model "$MODEL" "$@" --tol 1e-9 \
    --time-limit "$LIMIT" --json --cert "$cert" >"$out" 2>"$TMP/err" || true
  # /usr/bin/time writes "Command exited with non-zero status N" first when the exit code is not 0
  # (3: the bracket did not reach --tol, as expected here); the numbers are on the last line.
  read -r secs kb < <(tail -n 1 "$TMP/time") || { secs=nan; kb=0; }
  local lo up
  lo=$(json_num "$out" lower); up=$(json_num "$out" upper)
  local ratio
  ratio=$(awk -v l="$lo" -v u="$up" 'BEGIN { if (l > 0) printf (u / l < 10 ? "%.4f" : "%.4g"), u / l; else print "inf" }')
  local extra=""
  if ((ASCENT)) && [[ $region != point ]]; then
    local flag=--eps
    [[ $region == l2 ]] && flag=--l2
    local best ok
    best=$("$BUILD/attnbound-ascent-bench" --model "$MODEL" --center "$X" "$flag" "$size" --starts "$ASCENT" 2>/dev/null || echo nan)
    ok=$(awk -v b="$best" -v u="$up" 'BEGIN { print (b + 0 <= u + 0 ? "yes" : "NO") }')
    extra=$(printf " %.6g | %s |" "$best" "$ok")
  fi
  printf "| %s | %s | %s | %s | %.6g | %.6g | %s | %.1f | %.0f | %s |%s\n" "$n" "$centre" "$region" "$size" "$lo" "$up" \
    "$ratio" "$secs" "$((kb / 1024))" "$([[ -s $cert ]] && echo valid || echo "NOT WRITTEN: $(head -c 120 "$TMP/err")")" "$extra"
}
for n in $NS; do
  for centre in $CENTRES; do
    X="$TMP/x_${centre}_$n.txt"
    if [[ $centre == lb1 ]]; then
      "$BUILD/attnbound" witness --model "$MODEL" --n "$n" --radius "$R" --kind lb1 --out "$X" >/dev/null
    else
      random_centre "$n" "$X"
    fi
    if ((POINT)); then run "$n" "$centre" point 0 --point "$X"; fi
    for eps in $EPSS; do
      for kind in $KINDS; do
        if [[ $kind == linf ]]; then
          run "$n" "$centre" linf "$eps" --center "$X" --eps "$eps"
        else
          rho=$(awk -v e="$eps" -v d="$D" 'BEGIN { printf "%.6g", e * sqrt(d) }')
          run "$n" "$centre" l2 "$rho" --center "$X" --l2 "$rho"
        fi
      done
    done
  done
done
