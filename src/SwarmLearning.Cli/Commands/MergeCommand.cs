using System.CommandLine;
using System.Globalization;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>swarm merge</c>: merges safetensors model files offline with any of the five methods.</summary>
internal static class MergeCommand
{
    public static Command Create(CliIo io)
    {
        var models = new Argument<string[]>("models")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "Model files (safetensors) to merge: same tensor names, shapes and dtypes.",
        };
        var method = new Option<string>("--method", "-m")
        {
            Description = "mean | coordmedian | geomedian | trimmedmean | krum (case-insensitive).",
            DefaultValueFactory = _ => "mean",
        };
        method.Validators.Add(r =>
        {
            if (!MergeMethods.TryParse(r.GetValueOrDefault<string>(), out _))
            {
                r.AddError($"unknown merge method '{r.GetValueOrDefault<string>()}'; choose one of {string.Join(", ", MergeMethods.All.Select(m => m.Name))}");
            }
        });
        var weights = new Option<string?>("--weights", "-w")
        {
            Description = "Comma-separated weights, one per model (HPE node weightage 1–100, or sample counts). Default: all 1. A weight of 0 leaves that model out.",
        };
        var trim = new Option<double>("--trim")
        {
            Description = "trimmedmean: fraction β trimmed from each end per coordinate, in [0, 0.5).",
            DefaultValueFactory = _ => 0.1,
        };
        var byzantine = new Option<int?>("--byzantine", "-f")
        {
            Description = "krum: number f of Byzantine models tolerated. Default: the largest f with n ≥ 2f + 3.",
        };
        var select = new Option<int>("--select")
        {
            Description = "krum: average the m lowest-scored models with their weights (multi-Krum).",
            DefaultValueFactory = _ => 1,
        };
        var maxIterations = new Option<int>("--max-iterations")
        {
            Description = "geomedian: iteration cap.",
            DefaultValueFactory = _ => 100,
        };
        var tolerance = new Option<double>("--tolerance")
        {
            Description = "geomedian: stop when a step moves less than this times the models' spread.",
            DefaultValueFactory = _ => 1e-6,
        };
        var freeze = new Option<string[]>("--freeze")
        {
            Description = "Tensor names not to merge (frozen layers); they pass through from the first model. Repeat or separate with commas.",
        };
        var output = new Option<string>("--out", "-o")
        {
            Description = "Where to write the merged model (safetensors).",
            Required = true,
        };
        var force = new Option<bool>("--force") { Description = "Overwrite the output file if it exists." };
        var threads = new Option<int>("--threads")
        {
            Description = "Worker threads.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar." };

        var command = new Command("merge", "Merge model files offline with mean, coordmedian, geomedian, trimmedmean or krum.")
        {
            models, method, weights, trim, byzantine, select, maxIterations, tolerance, freeze, output, force, threads, json, quiet,
        };

        command.SetAction((parse, cancellationToken) => io.RunAsync(() =>
        {
            var paths = parse.GetValue(models)!;
            var outPath = parse.GetValue(output)!;
            var chosen = MergeMethods.TryParse(parse.GetValue(method), out var parsed) ? parsed : MergeMethod.Mean;
            var options = new MergeOptions
            {
                Method = chosen,
                TrimFraction = parse.GetValue(trim),
                ByzantineCount = parse.GetValue(byzantine),
                KrumSelect = parse.GetValue(select),
                GeoMedianMaxIterations = parse.GetValue(maxIterations),
                GeoMedianTolerance = parse.GetValue(tolerance),
                FrozenTensors = SplitList(parse.GetValue(freeze)).ToHashSet(StringComparer.Ordinal),
                MaxDegreeOfParallelism = Math.Max(1, parse.GetValue(threads)),
            };
            var weightValues = ParseWeights(parse.GetValue(weights), paths.Length);
            CheckOutput(outPath, paths, parse.GetValue(force));
            return Task.FromResult(Run(io, paths, weightValues, options, outPath, parse.GetValue(force), parse.GetValue(json), parse.GetValue(quiet), cancellationToken));
        }));
        return command;
    }

    private static int Run(CliIo io, string[] paths, double[] weights, MergeOptions options, string outPath, bool force, bool json, bool quiet, CancellationToken cancellationToken)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var path in paths)
            {
                files.Add(SafetensorsFile.Open(path));
            }

            var inputs = files.Select((f, i) => new MergeInput(f, weights[i])).ToArray();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["swarm.merge.method"] = options.Method.ToName(),
                ["swarm.merge.inputs"] = paths.Length.ToString(CultureInfo.InvariantCulture),
                ["swarm.version"] = SwarmCli.Version,
            };
            var bytesPerElement = (double)files.Sum(f => f.Tensors.Count == 0 ? 0 : f.Tensors[0].DType.SizeInBytes());
            using var bar = new ProgressBar(io.Error, !quiet && !json && io.CanShowProgress);
            var (file, result) = ModelMerger.MergeToFile(inputs, options, outPath, metadata, new SynchronousProgress(bar, bytesPerElement), overwrite: force, cancellationToken);
            bar.Dispose();
            Report(io, paths, weights, file, result, json);
            return SwarmCli.Success;
        }
        finally
        {
            foreach (var f in files)
            {
                f.Dispose();
            }
        }
    }

    private static void Report(CliIo io, string[] paths, double[] weights, ModelFileInfo file, MergeResult result, bool json)
    {
        var participants = result.Participants.ToHashSet();
        if (json)
        {
            io.WriteJson(new
            {
                output = file.Path,
                modelHash = file.Hash,
                bytes = file.Length,
                method = result.Method.ToName(),
                parameters = result.MergedElements,
                tensors = result.Tensors.Count,
                elapsedSeconds = result.Elapsed.TotalSeconds,
                inputs = paths.Select((p, i) => new { path = p, weight = weights[i], participated = participants.Contains(i) }),
                trimmedPerSide = result.TrimmedPerSide,
                geomedian = result.GeoMedian is { } g
                    ? new { iterations = g.Iterations, stop = g.Stop.ToString(), objective = g.Objective, coefficients = g.Coefficients }
                    : null,
                krum = result.Krum is { } k
                    ? new { byzantine = result.ByzantineCount, scores = k.Scores, selected = k.Selected.Select(i => paths[result.Participants[i]]) }
                    : null,
            });
            return;
        }

        var o = io.Out;
        var seconds = result.Elapsed.TotalSeconds;
        o.WriteLine($"merged {result.Participants.Count} of {paths.Length} models with {result.Method.ToName()} -> {file.Path}");
        o.WriteLine($"  tensors     {result.Tensors.Count}, parameters {result.MergedElements:N0}, file {file.Length:N0} bytes");
        o.WriteLine($"  hash        {file.Hash}");
        o.WriteLine($"  time        {seconds:F3} s");
        if (result.TrimmedPerSide is { } t)
        {
            o.WriteLine($"  trimmed     {t} value(s) from each end of every coordinate");
        }

        if (result.GeoMedian is { } geo)
        {
            o.WriteLine($"  geomedian   {geo.Iterations} iteration(s), stopped: {geo.Stop}; weights on inputs: {string.Join(", ", geo.Coefficients.Select(c => c.ToString("F4", CultureInfo.InvariantCulture)))}");
        }

        if (result.Krum is { } krum)
        {
            o.WriteLine($"  krum        f = {result.ByzantineCount}; selected {string.Join(", ", krum.Selected.Select(i => paths[result.Participants[i]]))}");
        }
    }

    private static double[] ParseWeights(string? text, int count)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [.. Enumerable.Repeat(1.0, count)];
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != count)
        {
            throw new SwarmException($"--weights has {parts.Length} value(s) but {count} model(s) were given; give one weight per model");
        }

        return [.. parts.Select((p, i) =>
            double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && double.IsFinite(w) && w >= 0
                ? w
                : throw new SwarmException($"--weights: value {i + 1} ('{p}') is not a non-negative number"))];
    }

    private static void CheckOutput(string outPath, string[] inputs, bool force)
    {
        if (string.IsNullOrWhiteSpace(outPath) || inputs.Any(string.IsNullOrWhiteSpace))
        {
            throw new SwarmException("a file name is empty; give the path of every model and of --out");
        }

        var full = Path.GetFullPath(outPath);
        if (inputs.Any(i => string.Equals(Path.GetFullPath(i), full, StringComparison.Ordinal)))
        {
            throw new SwarmException($"{outPath}: the output is also an input; write the merged model elsewhere");
        }

        if (File.Exists(full) && !force)
        {
            throw new SwarmException($"{outPath}: the file exists; pass --force to overwrite it");
        }

        var directory = Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new SwarmException($"{outPath}: the directory {directory} does not exist");
        }
    }

    internal static IEnumerable<string> SplitList(IEnumerable<string>? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Progress that draws on the reporting thread (the merge's own), so the bar never lags or races.</summary>
    private sealed class SynchronousProgress(ProgressBar bar, double bytesPerUnit) : IProgress<MergeProgress>
    {
        public void Report(MergeProgress value) => bar.Report(value.Phase, value.Done, value.Total, bytesPerUnit);
    }
}
