using System.Globalization;
using SwarmLearning.Fuzz.Harness;
using SwarmLearning.Fuzz.Targets;

namespace SwarmLearning.Fuzz;

/// <summary>
/// The fuzz harness's command line (scripts/fuzz.sh runs it; docs/fuzzing.md describes it):
/// <code>
///   SwarmLearning.Fuzz --target safetensors|transaction|block|all [--seconds N | --inputs N] [--seed S] [--start I]
///                      [--findings DIR] [--timeout-ms MS] [--json FILE]
///   SwarmLearning.Fuzz --replay FILE.bin [--target T]
/// </code>
/// Exit codes: 0 no findings, 1 findings, 2 usage error.
/// </summary>
internal static class Program
{
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"fuzz: {e.Message} (see docs/fuzzing.md)");
            return 2;
        }
    }

    private static int Run(string[] args)
    {
        var options = Parse(args);
        if (options.Replay is { } replay)
        {
            return Replay(replay, options.Target);
        }

        var names = options.Target == "all" ? FuzzTargets.Names : [options.Target];
        var seconds = options.Seconds ?? (options.Inputs is null ? 60 : null);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var reports = new List<FuzzReport>();
        // With a findings directory, the swarm the ledger targets run against is kept there, so --replay meets the same
        // keys, chain id and state as the run that saved the finding.
        using var ledger = names.Any(n => n != "safetensors") ? new LedgerCorpus(options.Findings is { } dir ? Path.Combine(dir, "ledger") : null) : null;
        foreach (var name in names)
        {
            var target = FuzzTargets.Create(name, ledger);
            try
            {
                var runner = new FuzzRunner(target, new FuzzOptions
                {
                    Seed = options.Seed,
                    StartIndex = options.Start,
                    MaxInputs = options.Inputs,
                    Duration = seconds is { } s ? TimeSpan.FromSeconds(s / names.Count) : null,
                    InputTimeout = TimeSpan.FromMilliseconds(options.TimeoutMs),
                    FindingsDirectory = options.Findings,
                    Progress = p => Console.Error.Write($"\r{p.Target}: {p.Inputs:N0} inputs, {p.Elapsed.TotalSeconds:0} s, {p.Findings} findings   "),
                });
                Console.Error.WriteLine($"{name}: {target.Corpus.Count} corpus inputs, seed {options.Seed}, " +
                    (seconds is { } t ? $"{t / names.Count:0.#} s" : $"{options.Inputs:N0} inputs"));
                var report = runner.Run(cancel.Token);
                Console.Error.WriteLine();
                reports.Add(report);
                Print(report, options.Findings);
            }
            finally
            {
                (target as IDisposable)?.Dispose();
            }
        }

        if (options.Json is { } json)
        {
            File.WriteAllText(json, System.Text.Json.JsonSerializer.Serialize(reports.Select(r => new
            {
                target = r.Target,
                seed = r.Seed,
                inputs = r.Inputs,
                accepted = r.Accepted,
                refused = r.Refused,
                seconds = Math.Round(r.Elapsed.TotalSeconds, 1),
                inputsPerSecond = Math.Round(r.InputsPerSecond),
                findings = r.Findings.Select(f => new { kind = f.Kind.ToString().ToLowerInvariant(), f.Index, f.Signature }),
                slowestInputMs = Math.Round(r.SlowestInputMilliseconds, 2),
                maxAllocationOfBound = Math.Round(r.MaxAllocationOfBound, 4),
            }), JsonOptions));
        }

        var total = reports.Sum(r => r.Findings.Count);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"total: {reports.Sum(r => r.Inputs):N0} inputs in {reports.Sum(r => r.Elapsed.TotalSeconds):0.0} s, {total} distinct findings"));
        return total == 0 ? 0 : 1;
    }

    private static void Print(FuzzReport r, string? findings)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Target}: {r.Inputs:N0} inputs in {r.Elapsed.TotalSeconds:0.0} s ({r.InputsPerSecond:N0}/s), {r.Accepted:N0} accepted, {r.Refused:N0} refused, " +
            $"{r.Findings.Count} distinct findings ({r.FindingInputs} inputs); slowest input {r.SlowestInputMilliseconds:0.0} ms, " +
            $"peak allocation {r.MaxAllocationOfBound:P1} of the bound ({r.MaxAllocationBytes:N0} bytes, input {r.MaxAllocationIndex})"));
        foreach (var f in r.Findings)
        {
            Console.WriteLine($"  {f.Kind.ToString().ToLowerInvariant()} at input {f.Index}: {f.Signature}" +
                (findings is null ? "" : $" -> {Path.Combine(findings, f.FileStem)}.bin"));
        }
    }

    private static int Replay(string path, string target)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"no such file: {path}");
        }

        // Finding files are named TARGET-KIND-SEED-INDEX.bin.
        var name = target != "all" ? target : Path.GetFileName(path).Split('-')[0];
        if (!FuzzTargets.Names.Contains(name))
        {
            throw new UsageException($"cannot tell the target of {path}; pass --target");
        }

        var input = File.ReadAllBytes(path);
        var swarm = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "ledger");
        if (name != "safetensors" && !Directory.Exists(swarm))
        {
            Console.Error.WriteLine($"fuzz: no saved swarm at {swarm}; replaying against a new one, so signatures and members differ from the run that found it");
        }

        using var ledger = name == "safetensors" ? null : new LedgerCorpus(Directory.Exists(swarm) ? swarm : null);
        var instance = FuzzTargets.Create(name, ledger);
        try
        {
            var finding = new FuzzRunner(instance, new FuzzOptions()).Replay(input);
            if (finding is null)
            {
                Console.WriteLine($"{name}: {path} ({input.Length} bytes) passes: parsed or refused with the documented exception, in time and bounds");
                return 0;
            }

            Console.WriteLine($"{name}: {path} ({input.Length} bytes) is still a finding ({finding.Kind.ToString().ToLowerInvariant()}):");
            Console.WriteLine(finding.Reason);
            return 1;
        }
        finally
        {
            (instance as IDisposable)?.Dispose();
        }
    }

    private static CommandLine Parse(string[] args)
    {
        var c = new CommandLine();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--target": c.Target = Value(); break;
                case "--seconds": c.Seconds = Number(Value(), "--seconds"); break;
                case "--inputs": c.Inputs = (long)Number(Value(), "--inputs"); break;
                case "--seed": c.Seed = (ulong)Number(Value(), "--seed"); break;
                case "--start": c.Start = (long)Number(Value(), "--start"); break;
                case "--findings": c.Findings = Value(); break;
                case "--timeout-ms": c.TimeoutMs = Number(Value(), "--timeout-ms"); break;
                case "--json": c.Json = Value(); break;
                case "--replay": c.Replay = Value(); break;
                default: throw new UsageException($"unknown argument '{args[i]}'");
            }
        }

        if (c.Target != "all" && !FuzzTargets.Names.Contains(c.Target))
        {
            throw new UsageException($"unknown target '{c.Target}'; use {string.Join(", ", FuzzTargets.Names)} or all");
        }

        return c;
    }

    private static double Number(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new UsageException($"{option} takes a non-negative number, not '{text}'");

    private sealed class CommandLine
    {
        public string Target { get; set; } = "all";

        public double? Seconds { get; set; }

        public long? Inputs { get; set; }

        public ulong Seed { get; set; } = 1;

        public long Start { get; set; }

        public string? Findings { get; set; }

        public double TimeoutMs { get; set; } = 5000;

        public string? Json { get; set; }

        public string? Replay { get; set; }
    }

    private sealed class UsageException(string message) : Exception(message);
}
