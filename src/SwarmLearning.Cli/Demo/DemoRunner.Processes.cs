using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SwarmLearning.Client;
using SwarmLearning.Identity;
using SwarmLearning.Network.Client;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Operator.Processes;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Cli.Demo;

internal sealed partial class DemoRunner
{
    private const string Contract = SwarmCallbackOptions.DefaultTrainingContract;

    /// <summary>How long the SN may take to answer, and the SL nodes to register, after they start.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long the swarm may go without any visible progress (a round, a sync, a report) before the demo gives up.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(5);

    /// <summary>How long a child may take to stop after SIGTERM before it is killed.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    /// <summary>On Ctrl+C or a failure: how long the children get to stop before they are killed (System.CommandLine waits 2 s).</summary>
    private static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    private async Task<DemoSummary> RunSwarmAsync(DemoSetup setup, DemoState state, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var swci = SwarmIdentity.Load(Path.Combine(setup.Certs, "swci.crt"), Path.Combine(setup.Certs, "swci.key"));
        var trust = SwarmTrust.Load(Path.Combine(setup.Certs, "ca.crt"));
        using var client = new SwarmNetworkClient(new Uri($"https://localhost:{setup.ApiPort}"), swci, trust) { RequestTimeout = TimeSpan.FromSeconds(5) };

        // 1. The sentinel SN: it makes the genesis block and orders every transaction. Genesis enrols every identity the
        //    demo issued (the SL nodes and swci), so they may connect and register without an administrator's step.
        state.SetPhase(string.Create(CultureInfo.InvariantCulture, $"starting the sentinel SN (API port {setup.ApiPort})"));
        var sn = Start("sn0", "the sentinel SN (sn0)", [
            "sn", "--name", "sn0", "--sentinel", "--certs", setup.Certs, "--dir", Path.Combine(_directory, "sn0"), "--swarm-name", "demo",
            "--enrol", setup.Certs, "--api-port", Invariant(setup.ApiPort), "--peer-port", Invariant(setup.PeerPort)]);
        await WaitUntilAsync("the sentinel SN to answer on its API port", [sn], async () =>
        {
            await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            return [];
        }, cancellationToken).ConfigureAwait(false);

        // 2. The SL nodes: each follows the SN's ledger, registers, and serves its ML program on a Unix socket.
        state.SetPhase($"starting {setup.Nodes.Count} SL nodes");
        var slNodes = setup.Nodes.Select((node, k) => Start(node.Name, $"SL node {node.Name}", [
            "sl", "--name", node.Name, "--sn", $"localhost:{Invariant(setup.ApiPort)}", "--certs", setup.Certs, "--dir", Path.Combine(_directory, node.Name),
            "--file-port", Invariant(setup.FilePorts[k]), "--socket", setup.Sockets[k]])).ToList();
        List<SupervisedProcess> infrastructure = [sn, .. slNodes];
        await WaitUntilAsync("the SL nodes to register on the ledger and open their sockets", infrastructure, async () =>
        {
            var members = await client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
            var active = members.Where(m => m is { Role: "sl", Active: true }).Select(m => m.Fingerprint).ToHashSet(StringComparer.Ordinal);
            return [.. slNodes.Where((_, k) => !active.Contains(setup.Nodes[k].Fingerprint) || !File.Exists(setup.Sockets[k]))];
        }, cancellationToken).ConfigureAwait(false);

        // 3. The ML programs: swarm train --swarm, one thread each, so that they share the cores fairly.
        state.SetPhase(string.Create(CultureInfo.InvariantCulture,
            $"training: {setup.Nodes.Count} ML programs, minPeers {setup.Nodes.Count}, syncFrequency {setup.SyncFrequency}, mergeMethod {_options.MergeMethod}"));
        var programs = setup.Nodes.Select((node, k) => Start(
            $"ml{k + 1}",
            $"the ML program of {node.Name} (ml{k + 1})",
            [
                .. TrainArguments(setup.DataDirectories[k]),
                "--out", Path.Combine(_directory, "models", $"{node.Name}.safetensors"),
                "--swarm", "--sl-socket", setup.Sockets[k], "--sync-frequency", Invariant(setup.SyncFrequency),
                "--min-peers", Invariant(setup.Nodes.Count), "--merge-method", _options.MergeMethod,
                .. (_options.MergeMomentum > 0 ? ["--merge-momentum", Invariant(_options.MergeMomentum)] : Array.Empty<string>()),
            ],
            collectOutput: true,
            onLine: line => state.OnProgramLine(node, line))).ToList();
        await MonitorAsync(client, state, infrastructure, programs, cancellationToken).ConfigureAwait(false);
        var swarmSeconds = clock.Elapsed.TotalSeconds;
        var results = programs.Select(ReadResult).ToList();
        Checked(() => state.Update(_ =>
        {
            // The final model's figures, as each program measured them, replace the last report made during training.
            foreach (var (node, result) in setup.Nodes.Zip(results))
            {
                node.Loss = result.GetProperty("test").GetProperty("loss").GetDouble();
                node.Metric = result.GetProperty("test").GetProperty("accuracy").GetDouble();
                node.Round = result.GetProperty("swarm").GetProperty("round").GetInt64();
            }
        }));

        // 4. The swarm is done: stop its nodes, then train each node's model alone on its own data.
        state.SetPhase("swarm training done; stopping the SL nodes and the SN");
        await Task.WhenAll(infrastructure.Select(c => c.StopAsync(StopGrace))).ConfigureAwait(false);
        clock.Restart();
        await RunBaselinesAsync(setup, state, cancellationToken).ConfigureAwait(false);
        var localSeconds = clock.Elapsed.TotalSeconds;
        state.Update(s => s.Finished = true);
        state.SetPhase("done", announce: false);

        var nodes = Checked(() => setup.Nodes.Select((node, k) =>
        {
            var r = results[k];
            var swarm = r.GetProperty("swarm");
            return new NodeSummary(
                node.Name,
                r.GetProperty("trainSamples").GetInt32(),
                node.FavouredClasses,
                node.LocalAccuracy ?? throw new InvalidOperationException($"no local-only accuracy for {node.Name}"),
                r.GetProperty("test").GetProperty("accuracy").GetDouble(),
                swarm.GetProperty("modelHash").GetString() ?? string.Empty,
                FinalModelSha256(node.Name),
                r.GetProperty("modelHash").GetString() ?? string.Empty,
                swarm.GetProperty("round").GetInt64(),
                swarm.GetProperty("syncs").GetInt32(),
                Seconds(programs[k].Elapsed.TotalSeconds));
        }).ToList());
        var identical = nodes[0].FinalModelHash.Length > 0
            && nodes.All(n => n.FinalModelHash == nodes[0].FinalModelHash && n.FinalModelSha256 == nodes[0].FinalModelSha256 && n.ModelFileHash == nodes[0].ModelFileHash);
        return new DemoSummary(
            nodes,
            nodes.Max(n => n.Round),
            identical,
            identical ? nodes[0].FinalModelHash : null,
            identical ? nodes[0].FinalModelSha256 : null,
            Seconds(state.Clock.Elapsed.TotalSeconds),
            Seconds(swarmSeconds),
            Seconds(localSeconds),
            _options.Model,
            _options.Epochs,
            _options.MergeMethod,
            _options.MergeMomentum,
            setup.SyncFrequency,
            setup.Nodes.Count,
            "biased",
            _options.Limit,
            _directory,
            Kept: true);
    }

    /// <summary>
    /// Follows the swarm until every ML program has exited: reads the training contract every half second for the
    /// view, fails fast when a child dies (with the tail of its log) or when nothing moves for <see cref="StallTimeout"/>.
    /// </summary>
    private static async Task MonitorAsync(SwarmNetworkClient client, DemoState state, List<SupervisedProcess> infrastructure, List<SupervisedProcess> programs, CancellationToken cancellationToken)
    {
        var allDone = Task.WhenAll(programs.Select(p => p.Exited));
        var infrastructureDown = Task.WhenAny(infrastructure.Select(c => c.Exited));
        var lastMove = Stopwatch.StartNew();
        var lastSignature = string.Empty;
        while (true)
        {
            await Task.WhenAny(allDone, infrastructureDown, Task.Delay(PollInterval, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                state.OnContract(ContractView.Parse(await client.GetContractAsync(Contract, cancellationToken).ConfigureAwait(false)));
            }
            catch (SwarmException)
            {
                // A busy SN may miss a read: the view keeps its last picture. A dead SN is reported below, with its log.
            }

            var failed = programs.FirstOrDefault(p => p.Exited is { IsCompleted: true, Result: not 0 });
            if (failed is null && allDone.IsCompleted)
            {
                return;
            }

            // A dead SN or SL node makes its ML programs fail too: report the cause first.
            if (infrastructure.FirstOrDefault(c => c.Exited.IsCompleted) is { } down)
            {
                throw await DiedAsync(down, cancellationToken).ConfigureAwait(false);
            }

            if (failed is not null)
            {
                throw await DiedAsync(failed, cancellationToken).ConfigureAwait(false);
            }

            var signature = state.Read(s => string.Join('|', [
                s.Contract?.Round, s.Contract?.Phase, s.Contract?.Ready.Count, s.Contract?.MergedRound,
                .. s.Nodes.Select(n => $"{n.Stage}/{n.BatchesDone}/{n.EpochsDone}/{n.Round}")]));
            if (signature != lastSignature)
            {
                lastSignature = signature;
                lastMove.Restart();
            }
            else if (lastMove.Elapsed > StallTimeout)
            {
                throw new SwarmException(string.Create(CultureInfo.InvariantCulture,
                    $"the swarm made no progress for {StallTimeout.TotalMinutes:0} minutes (no round, sync or report); see what the SL nodes wait for in their logs. The last lines of {infrastructure[1].LogPath}:{Environment.NewLine}{Indented(infrastructure[1])}"));
            }
        }
    }

    /// <summary>The local-only baselines: each node's model trained alone on its own data, as many at a time as there are cores.</summary>
    private async Task RunBaselinesAsync(DemoSetup setup, DemoState state, CancellationToken cancellationToken)
    {
        state.SetPhase("local-only baselines: each node's model trained alone on its own data, for the same epochs");
        using var cores = new SemaphoreSlim(Environment.ProcessorCount);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var runs = setup.Nodes.Select(async (node, k) =>
        {
            await cores.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                state.Update(_ => node.Stage = NodeStage.Baseline);
                var local = Start($"local{k + 1}", $"the local-only baseline of {node.Name} (local{k + 1})", TrainArguments(setup.DataDirectories[k]), collectOutput: true);
                if (await local.Exited.WaitAsync(failed.Token).ConfigureAwait(false) != 0)
                {
                    throw await DiedAsync(local, cancellationToken).ConfigureAwait(false);
                }

                var accuracy = Checked(() => ReadResult(local).GetProperty("test").GetProperty("accuracy").GetDouble());
                state.Update(s =>
                {
                    node.LocalAccuracy = accuracy;
                    node.Stage = NodeStage.BaselineDone;
                    s.AddEvent(string.Create(CultureInfo.InvariantCulture, $"{node.Name}: local-only accuracy {accuracy * 100:F2} %"));
                });
            }
            catch (SwarmException)
            {
                // One failed baseline fails the demo: the others need not finish.
                await failed.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                cores.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(runs).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (runs.Select(r => r.Exception?.InnerException).OfType<SwarmException>().FirstOrDefault() is { } failure)
        {
            // The others were cancelled because of this one: report it, not their cancellation.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>The arguments both the swarm's ML programs and the baselines train with.</summary>
    private List<string> TrainArguments(string dataDirectory)
    {
        List<string> arguments =
        [
            "train", "--data", dataDirectory, "--model", _options.Model, "--epochs", Invariant(_options.Epochs), "--batch-size", Invariant(DemoOptions.BatchSize),
            "--seed", _options.Seed.ToString(CultureInfo.InvariantCulture), "--threads", "1", "--json",
        ];
        if (_options.Limit is { } limit)
        {
            arguments.AddRange(["--limit", Invariant(limit)]);
        }

        return arguments;
    }

    /// <summary>Starts <c>swarm ARGS</c> as a child named <paramref name="name"/>, logging to logs/NAME.log.</summary>
    private SupervisedProcess Start(string name, string description, IEnumerable<string> arguments, bool collectOutput = false, Action<string>? onLine = null)
    {
        var child = SupervisedProcess.Start(name, _swarm.StartInfo(arguments), Path.Combine(Logs, $"{name}.log"), onLine, collectOutput, description);
        _children.Add(child);
        return child;
    }

    /// <summary>
    /// Waits, every quarter second, until <paramref name="notReady"/> names no child, at most <see cref="StartTimeout"/>;
    /// fails at once, with its log, if one of <paramref name="watched"/> exits meanwhile. A probe that throws
    /// <see cref="SwarmException"/> (the SN does not answer yet) counts as every watched child not ready.
    /// </summary>
    private static async Task WaitUntilAsync(string what, List<SupervisedProcess> watched, Func<Task<List<SupervisedProcess>>> notReady, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var anyExited = Task.WhenAny(watched.Select(c => c.Exited));
        while (true)
        {
            if (watched.FirstOrDefault(c => c.Exited.IsCompleted) is { } dead)
            {
                throw await DiedAsync(dead, cancellationToken).ConfigureAwait(false);
            }

            List<SupervisedProcess> waiting;
            try
            {
                waiting = await notReady().ConfigureAwait(false);
            }
            catch (SwarmException)
            {
                waiting = watched;
            }

            if (waiting.Count == 0)
            {
                return;
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new SwarmException(string.Create(CultureInfo.InvariantCulture,
                    $"timed out after {StartTimeout.TotalSeconds:0} s waiting for {what} ({string.Join(", ", waiting.Select(c => c.Name))}); the last lines of {waiting[0].LogPath}:{Environment.NewLine}{Indented(waiting[0])}"));
            }

            await Task.WhenAny(anyExited, Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The last lines of a child's log, indented, for an error message.</summary>
    private static string Indented(SupervisedProcess child)
    {
        var tail = child.Tail(30);
        return tail.Length == 0 ? "  (nothing)" : string.Join(Environment.NewLine, tail.Split('\n').Select(l => "  " + l));
    }

    /// <summary>The error for a child that exited before its time, with the end of its log.</summary>
    private static async Task<SwarmException> DiedAsync(SupervisedProcess child, CancellationToken cancellationToken)
    {
        // A Ctrl+C on the terminal reaches the children as well (they share its process group), and they may exit
        // before this process sees it: give the interruption a moment to show, so it is reported as one.
        await Task.Delay(InterruptGrace, cancellationToken).ConfigureAwait(false);
#pragma warning disable VSTHRD003 // the child's own exit, which has happened
        var code = await child.Exited.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        return new SwarmException(string.Create(CultureInfo.InvariantCulture,
            $"{child.Description} exited with code {code} after {child.Elapsed.TotalSeconds:F1} s; the last lines of {child.LogPath}:{Environment.NewLine}{Indented(child)}"));
    }

    /// <summary>A finished <c>swarm train --json</c>'s result.</summary>
    private JsonElement ReadResult(SupervisedProcess child)
    {
        File.WriteAllText(Path.Combine(Logs, $"{child.Name}.json"), child.Output);
        try
        {
            using var document = JsonDocument.Parse(child.Output);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new SwarmException($"{child.Name} printed no JSON result ({e.Message}); the last lines of {child.LogPath}:{Environment.NewLine}{Indented(child)}", e);
        }
    }

    /// <summary>Reads the programs' JSON results: a shape other than swarm train's is a clear error, not a crash.</summary>
    private T Checked<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SwarmException($"a swarm train result in {Logs} lacks what the demo reads ({e.Message}); the CLI's train command and its demo disagree", e);
        }
    }

    private void Checked(Action read) => Checked(() =>
    {
        read();
        return 0;
    });

    /// <summary>Stops every child still running: SIGTERM, then a kill after <see cref="InterruptGrace"/>; and the view.</summary>
    private async Task StopEverythingAsync(DemoView view)
    {
        await Task.WhenAll(_children.Select(c => c.StopAsync(InterruptGrace))).ConfigureAwait(false);
        await view.StopAsync().ConfigureAwait(false);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Seconds to the hundredth: what a person reads, and what JSON consumers need.</summary>
    private static double Seconds(double seconds) => Math.Round(seconds, 2);

    /// <summary>
    /// The SHA-256 of the final model an SL node wrote (<c>DIR/NODE/models/final.safetensors</c>), for users to check
    /// with <c>sha256sum</c>; empty when the node wrote none.
    /// </summary>
    private string FinalModelSha256(string node)
    {
        var path = Path.Combine(_directory, node, "models", SwarmLearningNode.FinalModelName);
        return File.Exists(path) ? ModelHash.Sha256(path) : string.Empty;
    }
}
