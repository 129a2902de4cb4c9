using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using SwarmLearning.Merging;
using SwarmLearning.Merging.Kernels;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Benchmarks.Compare;

/// <summary>
/// The <c>compare</c> mode that <c>benchmarks/compare/merge_compare.py</c> drives: merges the same files the NumPy
/// side merges, timing only <see cref="ModelMerger.Merge"/> on models already in memory, and prints one JSON line
/// per method. "GB/s" counts input bytes read (n × P × 4), the unit of the STREAM triad it is compared with.
/// </summary>
internal static class CompareHarness
{
    private const int MaxRepetitions = 1000;

    public static int Run(IReadOnlyList<string> args)
    {
        CompareOptions options;
        try
        {
            options = CompareOptions.Parse(args);
        }
        catch (SwarmException e)
        {
            Console.Error.WriteLine($"compare: {e.Message}");
            Console.Error.WriteLine(CompareOptions.Usage);
            return 2;
        }

        try
        {
            Execute(options);
            return 0;
        }
        catch (Exception e) when (e is SwarmException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"compare: {e.Message}");
            return 1;
        }
    }

    private static void Execute(CompareOptions options)
    {
        if (!Directory.Exists(options.Directory))
        {
            throw new SwarmException($"{options.Directory}: no such directory; pass --dir with the input models");
        }

        var files = Directory.GetFiles(options.Directory, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            throw new SwarmException($"{options.Directory}: holds no *.safetensors files to merge");
        }

        if (options.Weights is { } given && given.Count != files.Length)
        {
            throw new SwarmException($"--weights has {given.Count} values but {options.Directory} holds {files.Length} models");
        }

        var loading = Stopwatch.StartNew();
        var models = files.Select(Load).ToArray();
        var loadSeconds = loading.Elapsed.TotalSeconds;
        var parameters = models[0].ParameterCount;
        var inputBytes = models.Sum(m => m.ParameterCount) * sizeof(float);

        if (options.OutputDirectory is { } output)
        {
            Directory.CreateDirectory(output);
        }

        foreach (var method in options.Methods)
        {
            var weights = options.Unweighted.Contains(method) || options.Weights is null
                ? Enumerable.Repeat(1.0, models.Length).ToArray()
                : [.. options.Weights];
            var inputs = models.Select((m, i) => new MergeInput(m, weights[i])).ToArray();
            var mergeOptions = new MergeOptions
            {
                Method = method,
                TrimFraction = options.TrimFraction,
                ByzantineCount = options.ByzantineCount,
                MaxDegreeOfParallelism = options.Threads,
                KernelWidth = options.Kernel,
            };

            var (seconds, merged, result) = Time(inputs, mergeOptions, options);
            Report(options, method, models.Length, parameters, inputBytes, loadSeconds, seconds, result, weights.Distinct().Count() > 1);
            if (options.OutputDirectory is { } directory)
            {
                SafetensorsWriter.Write(Path.Combine(directory, $"{method.ToName()}.safetensors"), merged);
            }
        }
    }

    private static TensorModel Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.LoadModel();
    }

    /// <summary>Warms up, then times merges one by one with a full collection before each (outside the timing).</summary>
    private static (List<double> Seconds, TensorModel Last, MergeResult Result) Time(MergeInput[] inputs, MergeOptions mergeOptions, CompareOptions options)
    {
        var warming = Stopwatch.StartNew();
        for (var i = 0; i < options.Warmup || warming.Elapsed.TotalSeconds < options.WarmupSeconds; i++)
        {
            _ = ModelMerger.Merge(inputs, mergeOptions);
        }

        var seconds = new List<double>();
        TensorModel? last = null;
        MergeResult? result = null;
        while (seconds.Count < options.Repeat || (seconds.Sum() < options.MinSeconds && seconds.Count < MaxRepetitions))
        {
            last = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var start = Stopwatch.GetTimestamp();
            (last, result) = ModelMerger.Merge(inputs, mergeOptions);
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return (seconds, last!, result!);
    }

    private static void Report(
        CompareOptions options,
        MergeMethod method,
        int models,
        long parameters,
        long inputBytes,
        double loadSeconds,
        List<double> seconds,
        MergeResult result,
        bool weighted)
    {
        var sorted = seconds.Order().ToArray();
        var best = sorted[0];
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        using var process = Process.GetCurrentProcess();
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout))
        {
            json.WriteStartObject();
            json.WriteString("tool", "swarmlearning");
            json.WriteString("method", method.ToName());
            json.WriteNumber("models", models);
            json.WriteNumber("params", parameters);
            json.WriteNumber("input_bytes", inputBytes);
            json.WriteBoolean("weighted", weighted);
            json.WriteNumber("repetitions", seconds.Count);
            json.WriteNumber("best_s", best);
            json.WriteNumber("median_s", median);
            json.WriteNumber("gbps", inputBytes / best / 1e9);
            json.WriteNumber("gbps_median", inputBytes / median / 1e9);
            json.WriteNumber("load_s", loadSeconds);
            json.WriteNumber("threads", options.Threads);
            json.WriteString("kernel", KernelWidths.Resolve(options.Kernel).ToString());
            if (result.GeoMedian is { } geo)
            {
                json.WriteNumber("geomedian_iterations", geo.Iterations);
                json.WriteString("geomedian_stop", geo.Stop.ToString());
            }

            if (result.Krum is { } krum)
            {
                json.WriteStartArray("krum_selected");
                foreach (var i in krum.Selected)
                {
                    json.WriteNumberValue(result.Participants[i]);
                }

                json.WriteEndArray();
                json.WriteNumber("byzantine", result.ByzantineCount ?? 0);
            }

            if (result.TrimmedPerSide is { } trimmed)
            {
                json.WriteNumber("trimmed_per_side", trimmed);
            }

            json.WriteNumber("peak_working_set_bytes", process.PeakWorkingSet64);
            json.WriteString("runtime", RuntimeInformation.FrameworkDescription);
            json.WriteEndObject();
        }

        stdout.WriteByte((byte)'\n');
        stdout.Flush();
    }
}
