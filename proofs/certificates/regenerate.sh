#!/usr/bin/env bash
# Regenerates the committed certificates with the current engine (docs/certificate.md).
# Usage: proofs/certificates/regenerate.sh [BUILD_DIR]   (default: build/twin, the -march=native
# twin that `make test` configures; build its engine with `cmake --build build/twin --target
# attnbound`). They are written by a -march=native engine on purpose: CI re-checks them with the
# portable checker, one direction of the cross-build test (tests/cross_build.sh). Review the diff
# before committing: a changed claim means the engine's bounds changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build/twin}" && pwd)"
cd "$here"
ab="$build/attnbound"
run() { "$ab" "$@" > /dev/null || [[ $? -eq 3 ]]; }  # exit 3 (tolerance not met) still certifies

run certify --model builtin:tiny --point tiny_point.txt --cert tiny_point.cert.json
run certify --model builtin:tiny-causal --center tiny_centre.txt --eps 0.001 --cert tiny_causal_box.cert.json
run certify --model toy.model.json --point toy_point.txt --cert toy_point.cert.json
run certify --model builtin:tiny --radius 0.5 --n 2 --tol 0.1 --time-limit 60 --cert tiny_ball.cert.json
# gpt2_lb1_n4.txt: `attnbound witness --model builtin:gpt2-init --n 4 --radius 100 --out gpt2_lb1_n4.txt`
# (made once and kept: the LB1 direction is a float eigenvector, whose last bits vary by build)
run certify --model builtin:gpt2-init --point gpt2_lb1_n4.txt --cert gpt2_point_n4.cert.json

for c in *.cert.json; do "$build/attnbound-check" "$c" --quiet && echo "ok  $c"; done
