using System.Globalization;
using SwarmLearning.Merging;
using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Benchmarks.Compare;

/// <summary>The <c>compare</c> mode's command line.</summary>
internal sealed record CompareOptions
{
    public const string Usage = """
        usage: SwarmLearning.Benchmarks compare --dir DIR [options]

        Loads every *.safetensors file in DIR (sorted by name) into memory, then for each method warms up and times
        ModelMerger.Merge into an in-memory model, and prints one JSON line per method. Loading is not timed.

          --dir DIR               directory of input models (required)
          --methods LIST          comma-separated: mean,coordmedian,geomedian,trimmedmean,krum (default mean)
          --weights LIST          comma-separated weights, one per file in name order (default: all 1)
          --unweighted LIST       methods merged with equal weights whatever --weights says (Flower's median,
                                  trimmed mean and Krum ignore sample counts)
          --repeat N              timed repetitions, at least (default 5)
          --min-seconds S         keep repeating until the timed runs add up to S seconds (default 1, max 1000 runs)
          --warmup N              untimed merges first, at least (default 1)
          --warmup-seconds S      keep warming up for at least S seconds, so the JIT and the GC reach steady state
                                  (default 3: a process's first merges run 2-5x slower while the output's fresh
                                  memory is faulted in)
          --trim BETA             trimmedmean: fraction trimmed from each end (default 0.2, Flower's default)
          --byzantine F           krum: models tolerated (default: the largest f with n >= 2f + 3)
          --threads N             merge workers (default: all cores)
          --kernel WIDTH          auto|scalar|v128|v256|v512 (default auto)
          --output DIR            after timing, write each method's result to DIR/METHOD.safetensors (not timed)
        """;

    public required string Directory { get; init; }

    public IReadOnlyList<MergeMethod> Methods { get; init; } = [MergeMethod.Mean];

    public IReadOnlyList<double>? Weights { get; init; }

    public IReadOnlySet<MergeMethod> Unweighted { get; init; } = new HashSet<MergeMethod>();

    public int Repeat { get; init; } = 5;

    public double MinSeconds { get; init; } = 1;

    public int Warmup { get; init; } = 1;

    public double WarmupSeconds { get; init; } = 3;

    public double TrimFraction { get; init; } = 0.2;

    public int? ByzantineCount { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    public KernelWidth Kernel { get; init; } = KernelWidth.Auto;

    public string? OutputDirectory { get; init; }

    /// <summary>Parses the arguments after <c>compare</c>; throws <see cref="SwarmException"/> with a usable message.</summary>
    public static CompareOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new SwarmException($"expected '--option value', got '{name}'");
            }

            values[name[2..]] = args[++i];
        }

        string? Take(string name) => values.Remove(name, out var value) ? value : null;

        var directory = Take("dir") ?? throw new SwarmException("--dir is required");
        var options = new CompareOptions
        {
            Directory = directory,
            Methods = ParseMethods(Take("methods") ?? "mean"),
            Weights = Take("weights") is { } w ? [.. SplitList(w).Select(x => ParseDouble("weights", x))] : null,
            Unweighted = Take("unweighted") is { } u ? ParseMethods(u).ToHashSet() : new HashSet<MergeMethod>(),
            Repeat = ParseInt("repeat", Take("repeat") ?? "5", 1),
            MinSeconds = ParseDouble("min-seconds", Take("min-seconds") ?? "1"),
            Warmup = ParseInt("warmup", Take("warmup") ?? "1", 0),
            WarmupSeconds = ParseDouble("warmup-seconds", Take("warmup-seconds") ?? "3"),
            TrimFraction = ParseDouble("trim", Take("trim") ?? "0.2"),
            ByzantineCount = Take("byzantine") is { } f ? ParseInt("byzantine", f, 0) : null,
            Threads = ParseInt("threads", Take("threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), 1),
            Kernel = ParseKernel(Take("kernel") ?? "auto"),
            OutputDirectory = Take("output"),
        };

        if (values.Count > 0)
        {
            throw new SwarmException($"unknown option --{values.Keys.First()}");
        }

        return options;
    }

    private static string[] SplitList(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static MergeMethod[] ParseMethods(string list) =>
        [.. SplitList(list).Select(name => MergeMethods.TryParse(name, out var method)
            ? method
            : throw new SwarmException($"unknown merge method '{name}'; use {string.Join(", ", MergeMethods.All.Select(m => m.Name))}"))];

    private static int ParseInt(string option, string text, int minimum) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw new SwarmException($"--{option}: expected an integer of at least {minimum}, got '{text}'");

    private static double ParseDouble(string option, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= 0
            ? value
            : throw new SwarmException($"--{option}: expected a non-negative number, got '{text}'");

    private static KernelWidth ParseKernel(string text) =>
        Enum.TryParse<KernelWidth>(text, ignoreCase: true, out var width) && Enum.IsDefined(width)
            ? width
            : throw new SwarmException($"--kernel: expected auto, scalar, v128, v256 or v512, got '{text}'");
}
