#!/usr/bin/env bash
# The ledger load test of issue 4: a sentinel and two follower SNs on loopback (real Kestrel, mutual TLS, fsync'd
# stores, every SN verifying every block) and 100 SL clients submitting heartbeats through all three SNs in turn.
#   1. latency at 100 tx/s (100 nodes heartbeating once a second): submit -> block on every SN, p50/p99;
#   2. throughput with every client back to back: committed tx/s;
#   3. restart: how fast an SN re-verifies its stored chain.
# Every option is passed through:
#
#   benchmarks/ledger/ledger_load.sh                                   # 5 s warm-up, 20 s at 100 tx/s, 10 s burst
#   benchmarks/ledger/ledger_load.sh --nodes 200 --rate-seconds 30
#
# Results: printed, and benchmarks/ledger/out/ledger-load.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" --quiet
mkdir -p "$here/out"
dotnet build "$root/benchmarks/SwarmLearning.Benchmarks/SwarmLearning.Benchmarks.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet "$root/benchmarks/SwarmLearning.Benchmarks/bin/Release/net10.0/SwarmLearning.Benchmarks.dll" ledger-load --json "$here/out/ledger-load.json" "$@"
