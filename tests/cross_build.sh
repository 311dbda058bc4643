#!/usr/bin/env bash
# Cross-build test (issue 15): a certificate written by one build of attnbound checks valid under
# the other. The two builds differ only in code generation (portable x86-64 baseline vs
# -march=native: other vector widths, FMA, Eigen blocking), i.e. in summation orders and roundings,
# which no proof may depend on. Every region kind and tier that fits in seconds is exercised, in
# both directions: engine A -> checker B and engine B -> checker A.
#
# Usage: cross_build.sh ENGINE_A CHECKER_A ENGINE_B CHECKER_B DATA_DIR
set -euo pipefail
engine_a=$1 checker_a=$2 engine_b=$3 checker_b=$4 data=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cases=(
  "point-tiny|--model builtin:tiny --point $data/tiny_point.txt"
  "point-toy|--model $data/toy.model.json --point $data/toy_point.txt"
  "box-tiny-causal|--model builtin:tiny-causal --center $data/tiny_centre.txt --eps 0.001 --time-limit 5"
  "wide-box-paper-toy|--model builtin:paper-toy --center $data/tiny_centre.txt --eps 0.2 --tol 0.05 --time-limit 3"
  "ball-tiny|--model builtin:tiny --radius 0.5 --n 2 --tol 0.05 --time-limit 3"
  "ball-tiny-causal-n1|--model builtin:tiny-causal --radius 2 --n 1"
  "point-gpt2-n2|--model builtin:gpt2-init --point $data/gpt2_lb1_n2.txt"
)

failures=0
for direction in "A B" "B A"; do
  set -- $direction
  if [[ $1 == A ]]; then engine=$engine_a checker=$checker_b; else engine=$engine_b checker=$checker_a; fi
  for c in "${cases[@]}"; do
    name=${c%%|*} args=${c#*|}
    cert="$work/$name-$1.cert.json"
    # shellcheck disable=SC2086
    "$engine" certify $args --threads 1 --cert "$cert" > "$work/out" 2>&1 || rc=$?
    rc=${rc:-0}
    if [[ $rc -ne 0 && $rc -ne 3 ]] || [[ ! -f $cert ]]; then
      echo "FAIL engine $1 on $name: exit $rc"; cat "$work/out"; failures=$((failures + 1)); unset rc; continue
    fi
    unset rc
    if "$checker" "$cert" --quiet > "$work/check" 2>&1; then
      echo "ok   engine $1 -> checker $2: $name"
    else
      echo "FAIL engine $1 -> checker $2: $name"; cat "$work/check"; failures=$((failures + 1))
    fi
  done
done
exit $((failures > 0))
