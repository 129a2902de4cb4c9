using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// Issue 5 §7: the round overhead of real SL nodes (separate <c>swarm sl</c> processes) on loopback, next to the
/// transfer lower bound measured in the same run; the failover time after SIGKILL of the leader; each node's peak
/// memory over the model size. See docs/performance.md, "Rounds: overhead, failover, memory".
/// </summary>
internal static class RoundOverhead
{
    private const string Usage = """
        usage: round-overhead [--nodes 4,8,16] [--params 1M,10M,50M] [--rounds 3] [--warmup 5] [--bound-repeats 3]
                              [--failover-nodes 4] [--failover-params 10M] [--failover-repeats 3]
                              [--skip-grid] [--skip-failover] [--member-timeout 5] [--round-timeout 900]
                              [--keep-logs] [--verbose-nodes] [--tiered-nodes] [--swarm-dll PATH] [--json FILE]

          --nodes N,...          SL nodes per cell (separate swarm sl processes)
          --params P,...         f32 parameters per model (K, M suffixes: 1M = 1,000,000)
          --rounds K             measured sync rounds per cell, after the initial (begin) round; median and max reported
          --warmup W             unmeasured sync rounds first: the processes compile the merge and transfer paths,
                                 and their heaps grow to their working size (a process's first rounds fault in fresh
                                 memory, slow on a VM that has handed its free pages back to the host); 5 measures the
                                 steady state of a training (12-53 rounds in docs/results.md)
          --bound-repeats R      downloads for the lower bound's throughput: best of at least R after one warm-up,
                                 more until they add up to 0.5 s (at most 50)
          --failover-*           the failover measurement: nodes, parameters, repetitions (a fresh swarm each)
          --skip-grid            only the failover measurement
          --skip-failover        only the overhead grid
          --member-timeout S     the ledger's memberTimeoutSeconds (default 5, the ledger's default)
          --round-timeout S      give up on a round after S seconds
          --keep-logs            keep each swarm's directory with the SL nodes' logs (models deleted); printed at the end of each cell
          --verbose-nodes        start the SL nodes with --verbose (every transfer logged, with times)
          --tiered-nodes         start the SL nodes with .NET's tiered compilation on (its default), not off as
                                 ./swarm sl and swarm demo start them (docs/performance.md says why)
          --swarm-dll PATH       the swarm CLI to start (default src/SwarmLearning.Cli/bin/Release/net10.0/swarm.dll)
          --json FILE            also write every measurement as JSON

        Round overhead: from the moment the last ML program has sent its sync request (all ready) to the moment the
        last one has received the merged model. Bound: the bytes the leader receives and sends, 2 (N-1) S, at the
        throughput T of a plain HTTPS download of S bytes on loopback (measured before the cell's swarm starts and
        after it stops; the faster counts). Target: overhead <= 1.5 x bound.
        """;

    // A cell in which every node merged a round has no non-leader peak (NaN): written as "NaN", not a crash.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = new RoundOptions();
        string? json = null;
        try
        {
            for (var i = 0; i < args.Count; i++)
            {
                string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value", nameof(args));
                switch (args[i])
                {
                    case "--nodes": options.Nodes = [.. Next().Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]; break;
                    case "--params": options.Parameters = [.. Next().Split(',').Select(ParseCount)]; break;
                    case "--rounds": options.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": options.Warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--bound-repeats": options.BoundRepeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--failover-nodes": options.FailoverNodes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--failover-params": options.FailoverParameters = ParseCount(Next()); break;
                    case "--failover-repeats": options.FailoverRepeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--skip-grid": options.Grid = false; break;
                    case "--skip-failover": options.Failover = false; break;
                    case "--member-timeout": options.MemberTimeoutSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--round-timeout": options.RoundTimeout = TimeSpan.FromSeconds(int.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "--swarm-dll": options.SwarmDll = Path.GetFullPath(Next()); break;
                    case "--keep-logs": options.KeepLogs = true; break;
                    case "--verbose-nodes": options.VerboseNodes = true; break;
                    case "--tiered-nodes": options.TieredNodes = true; break;
                    case "--json": json = Next(); break;
                    case "--help" or "-h":
                        await Console.Out.WriteLineAsync(Usage).ConfigureAwait(false);
                        return 0;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'", nameof(args));
                }
            }

            options.Validate();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync($"round-overhead: {e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        var result = await MeasureAsync(options).ConfigureAwait(false);
        await Console.Out.WriteLineAsync(result.Describe()).ConfigureAwait(false);
        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(result, Indented)).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<RoundResults> MeasureAsync(RoundOptions options)
    {
        var load = LoadAverage();
        var clock = Stopwatch.StartNew();
        var cells = new List<CellResult>();
        var failovers = new List<FailoverResult>();
        var skipped = new List<string>();
        if (options.Grid)
        {
            foreach (var parameters in options.Parameters)
            {
                var models = BuildModels(parameters, options.Nodes.Max());
                foreach (var nodes in options.Nodes)
                {
                    try
                    {
                        cells.Add(await MeasureCellAsync(options, nodes, parameters, models).ConfigureAwait(false));
                        await Console.Error.WriteLineAsync(cells[^1].Row()).ConfigureAwait(false);
                    }
                    catch (MemoryGuardException e)
                    {
                        // Reported, not measured: the next cells may still fit.
                        skipped.Add(e.Message);
                        await Console.Error.WriteLineAsync($"round-overhead: {e.Message}").ConfigureAwait(false);
                    }
                }
            }
        }

        if (options.Failover)
        {
            var models = BuildModels(options.FailoverParameters, options.FailoverNodes);
            for (var r = 0; r < options.FailoverRepeats; r++)
            {
                failovers.Add(await MeasureFailoverAsync(options, models, r + 1).ConfigureAwait(false));
                await Console.Error.WriteLineAsync(failovers[^1].Row()).ConfigureAwait(false);
            }
        }

        return new RoundResults(Environment.ProcessorCount, load, LoadAverage(), clock.Elapsed.TotalSeconds, options.MemberTimeoutSeconds, cells, failovers, skipped);
    }

    private static ModelBytes[] BuildModels(long parameters, int count) =>
        [.. Enumerable.Range(1, count).Select(k => ModelBytes.Create(parameters, k))];

    private static async Task<CellResult> MeasureCellAsync(RoundOptions options, int nodes, long parameters, ModelBytes[] models)
    {
        var label = string.Create(CultureInfo.InvariantCulture, $"{nodes} x {Count(parameters)}");
        var size = ModelBytes.SizeOf(parameters);
        await Console.Error.WriteLineAsync($"round-overhead: {label}: measuring the lower bound's HTTPS throughput ({size / 1e6:0.#} MB downloads)").ConfigureAwait(false);
        var (before, cpuPerByte) = await TransferBound.MeasureAsync(size, options.BoundRepeats, CancellationToken.None).ConfigureAwait(false);

        await Console.Error.WriteLineAsync($"round-overhead: {label}: starting the sentinel SN and {nodes} SL processes").ConfigureAwait(false);
        var rounds = new List<RoundTiming>();
        NodeMemory[] memory;
        var swarm = await RoundSwarm.StartAsync(label, nodes, options.SwarmDllPath, options.LedgerDefaults, options.VerboseNodes, options.TieredNodes, CancellationToken.None).ConfigureAwait(false);
        await using (swarm.ConfigureAwait(false))
        {
            swarm.KeepLogs = options.KeepLogs;
            try
            {
                var bytes = models.Take(nodes).ToArray();
                var begin = await swarm.RoundAsync("begin", 0, bytes, options.RoundTimeout, null, CancellationToken.None).ConfigureAwait(false);
                var ledgerRound = begin.Max(b => b!.Round);
                var beginLeader = swarm.Watch.FirstLeader(ledgerRound) is { } b ? swarm.IndexOf(b) : -1;
                var mergeLeaders = new HashSet<int>();
                for (var r = 1 - options.Warmup; r <= options.Rounds; r++)
                {
                    ledgerRound++;
                    for (var k = 0; k < nodes; k++)
                    {
                        models[k].MarkRound(ledgerRound);
                    }

                    var calls = await swarm.RoundAsync("sync", ledgerRound, bytes, options.RoundTimeout, null, CancellationToken.None).ConfigureAwait(false);
                    var timing = RoundTiming.From(swarm, ledgerRound, calls);
                    mergeLeaders.Add(timing.LeaderIndex);
                    if (r >= 1)
                    {
                        rounds.Add(timing);
                    }
                }

                var peaks = swarm.PeakResidentBytes();
                if (options.KeepLogs)
                {
                    await Console.Error.WriteLineAsync($"round-overhead: {label}: the node logs are in {swarm.Root}").ConfigureAwait(false);
                }

                memory = [.. swarm.Nodes.Select((n, k) => new NodeMemory(n.Name, peaks[k], mergeLeaders.Contains(k) ? "merge" : k == beginLeader ? "initial round" : "none"))];
            }
            catch
            {
                swarm.KeepLogs = true;
                await Console.Error.WriteLineAsync($"round-overhead: {label} failed; the node logs are kept in {swarm.Root}").ConfigureAwait(false);
                throw;
            }
        }

        // T again once the swarm has stopped, and the faster of the two counts: this machine's speed drifts within
        // minutes, and a T measured in a slow moment alone would make a bound the swarm beats unfairly.
        await Console.Error.WriteLineAsync($"round-overhead: {label}: measuring the lower bound's HTTPS throughput again").ConfigureAwait(false);
        var (after, _) = await TransferBound.MeasureAsync(size, options.BoundRepeats, CancellationToken.None).ConfigureAwait(false);
        var throughput = Math.Max(before, after);
        return new CellResult(nodes, parameters, size, throughput, before, after, 2.0 * (nodes - 1) * size / throughput, 2.0 * (nodes - 1) * size * cpuPerByte, rounds, memory);
    }

    private static async Task<FailoverResult> MeasureFailoverAsync(RoundOptions options, ModelBytes[] models, int repeat)
    {
        var nodes = options.FailoverNodes;
        var label = string.Create(CultureInfo.InvariantCulture, $"failover {repeat}: {nodes} x {Count(options.FailoverParameters)}");
        await Console.Error.WriteLineAsync($"round-overhead: {label}: starting the sentinel SN and {nodes} SL processes").ConfigureAwait(false);
        var swarm = await RoundSwarm.StartAsync(label, nodes, options.SwarmDllPath, options.LedgerDefaults, options.VerboseNodes, options.TieredNodes, CancellationToken.None).ConfigureAwait(false);
        await using (swarm.ConfigureAwait(false))
        {
            swarm.KeepLogs = options.KeepLogs;
            try
            {
                var bytes = models;
                var begin = await swarm.RoundAsync("begin", 0, bytes, options.RoundTimeout, null, CancellationToken.None).ConfigureAwait(false);
                var ledgerRound = begin.Max(b => b!.Round) + 1;
                for (var k = 0; k < nodes; k++)
                {
                    models[k].MarkRound(ledgerRound);
                }

                // A normal round first, so the failover round runs on warm processes, as in a training.
                var warm = await swarm.RoundAsync("sync", ledgerRound, bytes, options.RoundTimeout, null, CancellationToken.None).ConfigureAwait(false);
                var warmTiming = RoundTiming.From(swarm, ledgerRound, warm);
                ledgerRound++;
                for (var k = 0; k < nodes; k++)
                {
                    models[k].MarkRound(ledgerRound);
                }

                string? killed = null;
                long killedAt = 0;
                var failoverRound = ledgerRound;
                var calls = await swarm.RoundAsync("sync", failoverRound, bytes, options.RoundTimeout, async cancellationToken =>
                {
                    // Kill the leader once every submission, its own included, is on the ledger: it is merging now.
                    await swarm.Watch.WhenAsync(LedgerWatch.AllSubmitted, failoverRound).WaitAsync(cancellationToken).ConfigureAwait(false);
                    if (swarm.Watch.SeenAt(LedgerWatch.Merged, failoverRound) is not null || swarm.Watch.FirstLeader(failoverRound) is not { } leader)
                    {
                        return;
                    }

                    var node = swarm.Nodes[swarm.IndexOf(leader)];
                    node.KillHard();
                    killed = node.Name;
                    killedAt = node.KilledAt;
                }, CancellationToken.None).ConfigureAwait(false);
                if (killed is null)
                {
                    throw new InvalidOperationException($"{label}: the leader merged before it could be killed; nothing measured");
                }

                var survivors = calls.Where(c => c is not null).Select(c => c!).ToList();
                var last = survivors.Max(c => c.Received);
                var newLeader = swarm.Watch.SeenAt(LedgerWatch.LeaderChanged, failoverRound);
                var merged = swarm.Watch.SeenAt(LedgerWatch.Merged, failoverRound);
                return new FailoverResult(
                    nodes,
                    options.FailoverParameters,
                    killed,
                    Seconds(killedAt, last),
                    newLeader is { } nl ? Seconds(killedAt, nl) : double.NaN,
                    newLeader is { } a && merged is { } b ? Seconds(a, b) : double.NaN,
                    merged is { } m ? Seconds(m, last) : double.NaN,
                    survivors.Count,
                    warmTiming.OverheadSeconds);
            }
            catch
            {
                swarm.KeepLogs = true;
                await Console.Error.WriteLineAsync($"round-overhead: {label} failed; the node logs are kept in {swarm.Root}").ConfigureAwait(false);
                throw;
            }
        }
    }

    internal static double Seconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalSeconds;

    internal static string Count(long parameters) =>
        parameters % 1_000_000 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{parameters / 1_000_000}M")
        : parameters % 1000 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{parameters / 1000}K")
        : parameters.ToString(CultureInfo.InvariantCulture);

    private static long ParseCount(string text)
    {
        var t = text.Trim();
        var scale = t.EndsWith('M') || t.EndsWith('m') ? 1_000_000L : t.EndsWith('K') || t.EndsWith('k') ? 1000L : 1L;
        var number = scale == 1 ? t : t[..^1];
        return checked((long)(double.Parse(number, CultureInfo.InvariantCulture) * scale));
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>The options, with the defaults of the grid.</summary>
    private sealed class RoundOptions
    {
        public int[] Nodes { get; set; } = [4, 8, 16];

        public long[] Parameters { get; set; } = [1_000_000, 10_000_000, 50_000_000];

        public int Rounds { get; set; } = 3;

        public int Warmup { get; set; } = 5;

        public int BoundRepeats { get; set; } = 3;

        public int FailoverNodes { get; set; } = 4;

        public long FailoverParameters { get; set; } = 10_000_000;

        public int FailoverRepeats { get; set; } = 3;

        public bool Grid { get; set; } = true;

        public bool Failover { get; set; } = true;

        public int MemberTimeoutSeconds { get; set; } = new LedgerDefaults().MemberTimeoutSeconds;

        public TimeSpan RoundTimeout { get; set; } = TimeSpan.FromSeconds(900);

        public string? SwarmDll { get; set; }

        public bool KeepLogs { get; set; }

        public bool VerboseNodes { get; set; }

        public bool TieredNodes { get; set; }

        public string SwarmDllPath => SwarmDll ?? DefaultSwarmDll();

        /// <summary>Short waits: every round has all its nodes ready, so the full-quorum wait never runs anyway.</summary>
        public LedgerDefaults LedgerDefaults => new() { FullQuorumWaitSeconds = 1, MemberTimeoutSeconds = MemberTimeoutSeconds };

        public void Validate()
        {
            if (Nodes.Any(n => n < 2) || FailoverNodes < 3)
            {
                throw new FormatException("a round needs at least 2 nodes (--nodes), and the failover at least 3 (--failover-nodes), so that 2 survive");
            }

            if (Parameters.Any(p => p < 1) || FailoverParameters < 1 || Rounds < 1 || Warmup < 0 || BoundRepeats < 1 || FailoverRepeats < 1)
            {
                throw new FormatException("--params, --rounds, --bound-repeats and --failover-repeats must be positive");
            }

            if (!File.Exists(SwarmDllPath))
            {
                throw new FormatException($"the swarm CLI is not built at {SwarmDllPath}; build it (dotnet build src/SwarmLearning.Cli -c Release) or pass --swarm-dll");
            }
        }

        private static string DefaultSwarmDll()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SwarmLearning.slnx")))
            {
                dir = dir.Parent;
            }

            return dir is null ? "swarm.dll" : Path.Combine(dir.FullName, "src", "SwarmLearning.Cli", "bin", "Release", "net10.0", "swarm.dll");
        }
    }
}
