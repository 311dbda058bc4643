#!/usr/bin/env bash
# Cross-build test (issue 15): a certificate written by one build of attnbound checks valid under
# the other. The builds differ only in code generation (x86-64 baseline vs -march=native: other
# vector widths, FMA, Eigen blocking), i.e. in summation orders and roundings, on which no proof
# may depend.
#   1. This build's engine certifies every region kind and tier that fits in seconds; the twin
#      checker (the other code generation) must accept each certificate.
#   2. The committed certificates written by an engine of the other code generation (tool.build in
#      the file) must check under this build's checker.
#
# Usage: cross_build.sh ENGINE CHECKER TWIN_CHECKER DATA_DIR
set -euo pipefail
engine=$1 checker=$2 twin_checker=$3 data=$4
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
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

for c in "${cases[@]}"; do
  name=${c%%|*} args=${c#*|}
  cert="$work/$name.cert.json"
  rc=0
  # shellcheck disable=SC2086
  "$engine" certify $args --threads 1 --cert "$cert" > "$work/out" 2>&1 || rc=$?
  if [[ $rc -ne 0 && $rc -ne 3 ]] || [[ ! -f $cert ]]; then
    fail "engine on $name: exit $rc"; cat "$work/out"; continue
  fi
  if "$twin_checker" "$cert" --quiet > "$work/check" 2>&1; then
    echo "ok   this engine -> twin checker: $name"
  else
    fail "this engine -> twin checker: $name"; cat "$work/check"
  fi
done

this_build=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tool'].get('build', ''))" "$work/point-tiny.cert.json")
others=0
for cert in "$data"/*.cert.json; do
  build=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tool'].get('build', ''))" "$cert")
  [[ -n $build && $build != "$this_build" ]] || continue
  others=$((others + 1))
  if (cd "$data" && "$checker" "$cert" --quiet > "$work/check" 2>&1); then
    echo "ok   committed ($build) -> this checker ($this_build): $(basename "$cert")"
  else
    fail "committed ($build) -> this checker: $(basename "$cert")"; cat "$work/check"
  fi
done
if [[ $others -eq 0 ]]; then
  fail "no committed certificate was written by a build other than '$this_build' (regenerate them with a -march=native build: proofs/certificates/regenerate.sh)"
fi
exit $((failures > 0))
