#!/usr/bin/env bash
# Certificates of the distributed tier, end to end on 2 ranks (ctest: mpi.certificate):
#   * attnbound-mpi writes one for a small model and for GPT-2 width (n·d = 1536); both
#     attnbound-check (the dense rule) and attnbound-check-mpi (its own MPI path) accept them;
#   * a tampered claim (upper := the lower claim, below the witness value) is rejected by both
#     (small model).
set -euo pipefail
BUILD=$1
MPIRUN=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
run2() { $MPIRUN -np 2 "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect CODE command...
  local want=$1; shift
  set +e; "$@" >"$TMP/out" 2>&1; local got=$?; set -e
  [[ $got == "$want" ]] || { cat "$TMP/out" >&2; fail "exit $got, expected $want: $*"; }
}
# Deterministic points (no RNG: awk arithmetic on the indices).
awk 'BEGIN { for (i = 0; i < 36; ++i) printf "%.6f %.6f\n", sin(1.3 * i + 0.2), cos(0.7 * i * i + 1) }' >"$TMP/tiny.txt"
"$BUILD/attnbound" witness --model builtin:gpt2-init --n 2 --radius 100 --kind lb1 --out "$TMP/gpt2.txt" >/dev/null

for job in "builtin:tiny-causal $TMP/tiny.txt" "builtin:gpt2-init $TMP/gpt2.txt"; do
  read -r model point <<<"$job"
  cert="$TMP/$(basename "$point" .txt).cert.json"
  expect 0 run2 "$BUILD/attnbound-mpi" certify --model "$model" --point "$point" --cert "$cert"
  grep -q '"tier": "distributed"' "$cert" || fail "no distributed tier in $cert"
  expect 0 "$BUILD/attnbound-check" "$cert" --quiet
  expect 0 run2 "$BUILD/attnbound-check-mpi" "$cert" --quiet
  [[ $model == builtin:tiny-causal ]] || continue  # tampering once is enough (keeps the test short)
  # Tamper: the claim's upper becomes its lower (which is below the witness value ‖J v‖/‖v‖).
  low=$(sed -n '/"claim": {/,/}/ s/.*"lower": \([^,]*\),*/\1/p' "$cert")
  [[ -n "$low" ]] || fail "cannot read claim.lower"
  sed '/"claim": {/,/}/ s/"upper": [^,}]*/"upper": '"$low"'/' "$cert" >"$TMP/tampered.json"
  cmp -s "$cert" "$TMP/tampered.json" && fail "tampering changed nothing"
  expect 1 "$BUILD/attnbound-check" "$TMP/tampered.json" --quiet
  expect 1 run2 "$BUILD/attnbound-check-mpi" "$TMP/tampered.json" --quiet
done

echo "distributed certificates: all checks as expected"
