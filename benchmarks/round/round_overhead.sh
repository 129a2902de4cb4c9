#!/usr/bin/env bash
# The round benchmark of issue 5 §7: a sentinel SN (in the benchmark's process) and N SL nodes as separate
# `swarm sl` processes on loopback (own certificates, data directories, file ports, sockets); the benchmark plays
# their ML programs over the local channel.
#   1. round overhead (last sync request sent -> last merged model received) for each nodes x params cell, next to
#      the transfer lower bound measured in the same run: 2 (N-1) S bytes at the throughput of a plain HTTPS
#      download of S bytes on loopback; target <= 1.5x;
#   2. failover: the leader SIGKILLed during its merge -> every survivor has the merged model; target <= 10 s;
#   3. peak memory (VmHWM) of every SL process / model size.
# Every option is passed through (--help lists them):
#
#   benchmarks/round/round_overhead.sh                                   # 4,8,16 nodes x 1M,10M,50M, 3 rounds each, failover x3
#   benchmarks/round/round_overhead.sh --nodes 4 --params 1M --rounds 2 --skip-failover
#
# Results: printed, and benchmarks/round/out/round-overhead.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" --quiet
mkdir -p "$here/out"
dotnet build "$root/src/SwarmLearning.Cli/SwarmLearning.Cli.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build "$root/benchmarks/SwarmLearning.Benchmarks/SwarmLearning.Benchmarks.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
# The benchmark's own process (the sentinel SN, the bound's HTTPS client and server, the ML programs it plays) runs with
# tiered compilation off, as ./swarm sn and ./swarm sl do, so that the bound's TLS is the same code as the nodes'.
export DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}"
exec dotnet "$root/benchmarks/SwarmLearning.Benchmarks/bin/Release/net10.0/SwarmLearning.Benchmarks.dll" round-overhead \
    --swarm-dll "$root/src/SwarmLearning.Cli/bin/Release/net10.0/swarm.dll" --json "$here/out/round-overhead.json" "$@"
