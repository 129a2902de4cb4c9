using System.CommandLine;
using System.Globalization;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Partitioning;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>swarm data</c>: look into data directories and split one into per-node data directories.</summary>
internal static class DataCommand
{
    public static Command Create(CliIo io)
    {
        var command = new Command("data", "Inspect data directories (IDX or CSV) and split one among swarm nodes.");
        command.Subcommands.Add(Split(io));
        command.Subcommands.Add(Inspect(io));
        return command;
    }

    private static Option<string> DataOption() => new("--data", "-d")
    {
        Description = $"A data directory (IDX files or train.csv + test.csv), or '{FashionMnist.Alias}' for {FashionMnist.DebianDirectory}.",
        Required = true,
    };

    private static Option<string?> LabelColumnOption() => new("--label-column")
    {
        Description = "CSV: the label column (default: dataset.json's, else 'label').",
    };

    private static Command Split(CliIo io)
    {
        var data = DataOption();
        var nodes = new Option<int>("--nodes", "-n") { Description = "Number of nodes: 1 to the number of training samples.", Required = true };
        nodes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError($"--nodes must be at least 1, not {r.GetValueOrDefault<int>()}");
            }
        });
        var method = new Option<string>("--method", "-m") { Description = "iid | dirichlet | biased (see docs/data.md).", Required = true };
        method.Validators.Add(r =>
        {
            if (!PartitionMethods.TryParse(r.GetValueOrDefault<string>(), out _))
            {
                r.AddError($"unknown partition method '{r.GetValueOrDefault<string>()}'; choose one of {string.Join(", ", PartitionMethods.All.Select(m => m.ToName()))}");
            }
        });
        var alpha = new Option<double>("--alpha", "-a")
        {
            Description = "dirichlet: the concentration α > 0; small values skew each node to few classes.",
            DefaultValueFactory = _ => PartitionOptions.DefaultAlpha,
        };
        alpha.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<double>();
            if (!(value > 0) || !double.IsFinite(value))
            {
                r.AddError($"--alpha must be a positive number, not {value.ToString(CultureInfo.InvariantCulture)}");
            }
        });
        var seed = new Option<ulong>("--seed", "-s") { Description = "Seed of every random choice.", DefaultValueFactory = _ => PartitionOptions.DefaultSeed };
        var output = new Option<string>("--out", "-o") { Description = "Directory to hold node-1 … node-N (created if missing).", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace node directories that exist and are not empty." };
        var labelColumn = LabelColumnOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on standard output." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar." };
        var command = new Command("split", "Split a data directory's training set among nodes (iid, dirichlet or biased) into OUT/node-1 … OUT/node-N; every node gets the whole test set.")
        {
            data, nodes, method, alpha, seed, output, force, labelColumn, json, quiet,
        };
        command.Validators.Add(r =>
        {
            var explicitAlpha = r.GetResult(alpha) is { Implicit: false };
            if (explicitAlpha && PartitionMethods.TryParse(r.GetValue(method), out var m) && m != PartitionMethod.Dirichlet)
            {
                r.AddError($"--alpha applies to --method dirichlet only, not {m.ToName()}");
            }
        });

        command.SetAction((parse, cancellationToken) => io.RunAsync(() =>
        {
            var options = new PartitionOptions
            {
                Method = PartitionMethods.TryParse(parse.GetValue(method), out var m) ? m : PartitionMethod.Iid,
                Alpha = parse.GetValue(alpha),
                Seed = parse.GetValue(seed),
            };
            var asJson = parse.GetValue(json);
            var count = parse.GetValue(nodes);
            var source = DataDirectory.ResolvePath(parse.GetValue(data)!);
            using var bar = new ProgressBar(io.Error, !asJson && !parse.GetValue(quiet) && io.CanShowProgress);
            var bytesPerNode = (double)SourceTrainBytes(source) / count;
            var result = DataSplitter.Split(
                source,
                parse.GetValue(output)!,
                count,
                options,
                parse.GetValue(force),
                parse.GetValue(labelColumn),
                new InlineProgress(done => bar.Report("split", done, count, bytesPerNode)),
                cancellationToken);
            bar.Dispose();
            if (asJson)
            {
                WriteSplitJson(io, result);
            }
            else
            {
                WriteSplitTable(io, result);
            }

            return Task.FromResult(SwarmCli.Success);
        }));
        return command;
    }

    /// <summary>The size of the source's training files, so the progress bar can show the rate at which they are split.</summary>
    private static long SourceTrainBytes(string directory) =>
        Directory.Exists(directory) ? new DirectoryInfo(directory).EnumerateFiles("train*").Sum(f => f.Length) : 0;

    private static void WriteSplitJson(CliIo io, SplitResult result)
    {
        var p = result.Partition;
        io.WriteJson(new
        {
            source = result.Source,
            output = result.Output,
            layout = result.Layout.ToString().ToLowerInvariant(),
            method = p.Options.Method.ToName(),
            alpha = p.Options.Method == PartitionMethod.Dirichlet ? p.Options.Alpha : (double?)null,
            biasFactor = p.Options.Method == PartitionMethod.Biased ? PartitionOptions.BiasFactor : (int?)null,
            seed = p.Options.Seed,
            classNames = result.ClassNames,
            trainSamples = p.Nodes.Sum(n => n.Length),
            testSamples = result.TestSamples,
            nodes = p.Nodes.Select((n, k) => new
            {
                node = k + 1,
                path = result.NodeDirectories[k],
                samples = n.Length,
                histogram = p.Histograms[k],
                favouredClasses = p.FavouredClasses?[k],
            }),
            total = Enumerable.Range(0, p.ClassCount).Select(c => p.Histograms.Sum(h => h[c])),
            testHistogram = result.TestHistogram,
        });
    }

    private static void WriteSplitTable(CliIo io, SplitResult result)
    {
        var p = result.Partition;
        var o = io.Out;
        var train = p.Nodes.Sum(n => n.Length);
        var parameters = p.Options.Method switch
        {
            PartitionMethod.Dirichlet => $", α = {p.Options.Alpha.ToString(CultureInfo.InvariantCulture)}",
            PartitionMethod.Biased => $", favoured classes ×{PartitionOptions.BiasFactor}",
            _ => string.Empty,
        };
        o.WriteLine($"split {result.Source} ({result.Layout.ToString().ToUpperInvariant()}, {train:N0} training samples, {p.ClassCount} classes) among {p.Nodes.Count} nodes: {p.Options.Method.ToName()}{parameters}, seed {p.Options.Seed}");
        o.WriteLine($"wrote {result.NodeDirectories[0]}{(p.Nodes.Count > 1 ? $" … {Path.GetFileName(result.NodeDirectories[^1])}" : string.Empty)}");
        o.WriteLine();
        var rows = p.Nodes.Select((_, k) => (Name: DataSplitter.NodeDirectoryPrefix + (k + 1).ToString(CultureInfo.InvariantCulture), Counts: (IReadOnlyList<int>)p.Histograms[k], Favoured: p.FavouredClasses?[k]))
            .Append(("total", [.. Enumerable.Range(0, p.ClassCount).Select(c => p.Histograms.Sum(h => h[c]))], null))
            .ToList();
        WriteHistogramTable(o, "node", p.ClassCount, rows);
        o.WriteLine();
        o.WriteLine($"classes: {DescribeClasses(result.ClassNames)}");
        o.WriteLine($"test set: {result.TestSamples:N0} samples, copied whole to every node");
    }

    /// <summary>Writes rows of per-class counts with a total column, and a favoured-classes column when any row has one.</summary>
    internal static void WriteHistogramTable(TextWriter o, string corner, int classCount, IReadOnlyList<(string Name, IReadOnlyList<int> Counts, int[]? Favoured)> rows)
    {
        var nameWidth = Math.Max(corner.Length, rows.Max(r => r.Name.Length));
        var widths = Enumerable.Range(0, classCount)
            .Select(c => Math.Max(c.ToString(CultureInfo.InvariantCulture).Length, rows.Max(r => r.Counts[c].ToString(CultureInfo.InvariantCulture).Length)))
            .ToArray();
        var totalWidth = Math.Max(5, rows.Max(r => r.Counts.Sum().ToString(CultureInfo.InvariantCulture).Length));
        var favoured = rows.Any(r => r.Favoured is not null);
        var header = $"{corner.PadRight(nameWidth)} {string.Join(' ', widths.Select((w, c) => c.ToString(CultureInfo.InvariantCulture).PadLeft(w)))} {"total".PadLeft(totalWidth)}";
        o.WriteLine(favoured ? header + "  favoured" : header);
        foreach (var (name, counts, favour) in rows)
        {
            var line = $"{name.PadRight(nameWidth)} {string.Join(' ', widths.Select((w, c) => counts[c].ToString(CultureInfo.InvariantCulture).PadLeft(w)))} {counts.Sum().ToString(CultureInfo.InvariantCulture).PadLeft(totalWidth)}";
            o.WriteLine(favour is null ? line : $"{line}  {string.Join(',', favour)}");
        }
    }

    private static string DescribeClasses(IReadOnlyList<string> names) =>
        string.Join(", ", names.Select((n, c) => c.ToString(CultureInfo.InvariantCulture) == n ? n : $"{c} {n}"));

    private static Command Inspect(CliIo io)
    {
        var data = DataOption();
        var labelColumn = LabelColumnOption();
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("inspect", "Load and validate a data directory; print its samples, shape, classes and class histograms.")
        {
            data, labelColumn, json,
        };
        command.SetAction((parse, _) => io.RunAsync(() =>
        {
            var path = Path.GetFullPath(DataDirectory.ResolvePath(parse.GetValue(data)!));
            var layout = DataDirectory.Detect(path);
            var loaded = DataDirectory.Load(path, parse.GetValue(labelColumn));
            var partition = PartitionManifest.ReadFrom(path);
            WriteInspect(io, path, layout, loaded, partition, parse.GetValue(json));
            return Task.FromResult(SwarmCli.Success);
        }));
        return command;
    }

    private static void WriteInspect(CliIo io, string path, DataLayout layout, TrainTestData data, PartitionManifest? partition, bool asJson)
    {
        var (train, test) = (data.Train, data.Test);
        if (asJson)
        {
            io.WriteJson(new
            {
                path,
                layout = layout.ToString().ToLowerInvariant(),
                shape = new { channels = train.Shape.Channels, height = train.Shape.Height, width = train.Shape.Width },
                features = train.FeatureCount,
                classNames = train.ClassNames,
                train = Describe(train),
                test = Describe(test),
                partition,
            });
            return;
        }

        var o = io.Out;
        o.WriteLine($"{path}  ({layout.ToString().ToUpperInvariant()})");
        o.WriteLine($"  samples    {train.Count:N0} train, {test.Count:N0} test");
        o.WriteLine($"  shape      {train.Shape} ({train.FeatureCount:N0} features), values in [{Min(train, test).ToString(CultureInfo.InvariantCulture)}, {Max(train, test).ToString(CultureInfo.InvariantCulture)}]");
        o.WriteLine($"  classes    {train.ClassCount}: {DescribeClasses(train.ClassNames)}");
        if (partition is not null)
        {
            var alpha = partition.Parameters.Alpha is { } a ? $", α = {a.ToString(CultureInfo.InvariantCulture)}" : string.Empty;
            var favoured = partition.Parameters.FavouredClasses is { } f ? $", favours {string.Join(',', f)}" : string.Empty;
            o.WriteLine($"  partition  node {partition.Node} of {partition.Nodes} ({partition.Method}{alpha}{favoured}, seed {partition.Seed}) from {partition.Source}");
        }

        o.WriteLine();
        WriteHistogramTable(o, "set", train.ClassCount, [("train", train.ClassHistogram(), null), ("test", test.ClassHistogram(), null)]);
    }

    private static object Describe(Dataset set) => new
    {
        samples = set.Count,
        histogram = set.ClassHistogram(),
        min = set.Features.Length == 0 ? 0 : System.Numerics.Tensors.TensorPrimitives.Min<float>(set.Features),
        max = set.Features.Length == 0 ? 0 : System.Numerics.Tensors.TensorPrimitives.Max<float>(set.Features),
    };

    private static float Min(Dataset a, Dataset b) => Math.Min(System.Numerics.Tensors.TensorPrimitives.Min<float>(a.Features), System.Numerics.Tensors.TensorPrimitives.Min<float>(b.Features));

    private static float Max(Dataset a, Dataset b) => Math.Max(System.Numerics.Tensors.TensorPrimitives.Max<float>(a.Features), System.Numerics.Tensors.TensorPrimitives.Max<float>(b.Features));

    private sealed class InlineProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
