#!/usr/bin/env bash
# `make demo`: certify the local Lipschitz constant of a builtin GPT-2-shaped attention layer at
# an LB1 witness, write the certificate, and check it with the independent checker.
set -euo pipefail
build=${1:-build}
out=${ATTNBOUND_DEMO_DIR:-$build/demo}
mkdir -p "$out"

echo "== attnbound demo: builtin:tiny-causal and builtin:gpt2-init (random GPT-2 initialisation) =="
echo
echo "-- 1. A witness input: LB1 from head 0 (THEORY.md §3), n = 4 tokens of norm <= 100"
"$build/attnbound" witness --model builtin:gpt2-init --n 4 --radius 100 --out "$out/x_gpt2.txt"
echo
echo "-- 2. Certify ‖J(X)‖ at that point (lower and upper are proved; the estimate is a float)"
"$build/attnbound" certify --model builtin:gpt2-init --point "$out/x_gpt2.txt" --cert "$out/gpt2_point.json"
echo
echo "-- 3. A small box around a point of a small causal model"
printf '0.5 0.1\n-0.3 0.8\n1.0 -0.2\n' > "$out/x_tiny.txt"
"$build/attnbound" certify --model builtin:tiny-causal --center "$out/x_tiny.txt" --eps 1e-4 \
  --tol 1e-3 --cert "$out/tiny_box.json" || [ $? -eq 3 ]
echo
if [ -x "$build/attnbound-check" ]; then
  echo "-- 4. Independent check of both certificates (MPFR/MPFI arithmetic)"
  "$build/attnbound-check" "$out/gpt2_point.json"
  "$build/attnbound-check" "$out/tiny_box.json"
fi
