using System.Globalization;
using SwarmLearning.Training.Data.Csv;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Training.Data.Partitioning;

/// <summary>What <see cref="DataSplitter.Split"/> did.</summary>
public sealed class SplitResult
{
    internal SplitResult(string source, string output, DataLayout layout, DataPartition partition, IReadOnlyList<string> nodeDirectories, IReadOnlyList<string> classNames, int testSamples, int[] testHistogram)
    {
        Source = source;
        Output = output;
        Layout = layout;
        Partition = partition;
        NodeDirectories = nodeDirectories;
        ClassNames = classNames;
        TestSamples = testSamples;
        TestHistogram = testHistogram;
    }

    /// <summary>The source data directory (full path).</summary>
    public string Source { get; }

    /// <summary>The output directory (full path).</summary>
    public string Output { get; }

    /// <summary>The layout of the source and of every node directory.</summary>
    public DataLayout Layout { get; }

    /// <summary>The partition of the training set.</summary>
    public DataPartition Partition { get; }

    /// <summary>The node directories, node 1 first.</summary>
    public IReadOnlyList<string> NodeDirectories { get; }

    /// <summary>The class names by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Test samples, copied whole to every node.</summary>
    public int TestSamples { get; }

    /// <summary>The test set's samples per class.</summary>
    public IReadOnlyList<int> TestHistogram { get; }
}

/// <summary>
/// Cuts a data directory into per-node data directories <c>OUT/node-1</c> … <c>OUT/node-N</c>, each a complete data
/// directory of the source's layout: the node's share of the training records, written exactly as the source
/// stores them (IDX: the records' bytes, gzip'ed; CSV: the rows' original text after the header line), a copy of
/// the whole test set (every node evaluates on the same held-out set), a <c>dataset.json</c> that fixes the class
/// names, and last a <c>partition.json</c>. A node directory is written under a hidden temporary name and renamed
/// when complete, so a crash never leaves a partial directory under a node's name.
/// </summary>
public static class DataSplitter
{
    /// <summary>Node directories are this prefix followed by the node's number from 1.</summary>
    public const string NodeDirectoryPrefix = "node-";

    /// <summary>Splits <paramref name="source"/> among <paramref name="nodes"/> nodes into <paramref name="output"/>.</summary>
    /// <param name="source">The source data directory, or <c>fashion-mnist</c>.</param>
    /// <param name="output">The directory to hold the node directories (created if missing).</param>
    /// <param name="nodes">The number of nodes, from 1 to the number of training samples.</param>
    /// <param name="options">Method, α and seed.</param>
    /// <param name="force">Replace node directories that exist and are not empty (and remove those of an earlier split into more nodes).</param>
    /// <param name="labelColumn">CSV only: the label column.</param>
    /// <param name="progress">Receives the number of node directories written.</param>
    /// <param name="cancellationToken">Stops between node directories.</param>
    /// <exception cref="SwarmException">The source is invalid, the node count impossible, or an output exists without <paramref name="force"/>.</exception>
    public static SplitResult Split(
        string source,
        string output,
        int nodes,
        PartitionOptions options,
        bool force = false,
        string? labelColumn = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(output);
        ArgumentNullException.ThrowIfNull(options);
        if (nodes < 1)
        {
            throw new SwarmException($"cannot split among {nodes} nodes; give at least 1");
        }

        if (options.Method == PartitionMethod.Dirichlet && (!(options.Alpha > 0) || !double.IsFinite(options.Alpha)))
        {
            throw new SwarmException($"the Dirichlet α must be a positive number, not {options.Alpha.ToString(CultureInfo.InvariantCulture)}");
        }

        var directory = Path.GetFullPath(DataDirectory.ResolvePath(source));
        var input = SplitInput.Open(directory, labelColumn);
        if (nodes > input.TrainLabels.Length)
        {
            throw new SwarmException($"{directory}: cannot split {input.TrainLabels.Length:N0} training samples among {nodes:N0} nodes; every node needs at least one sample, so use at most {input.TrainLabels.Length:N0} nodes");
        }

        var outDir = Path.GetFullPath(output);
        var targets = Enumerable.Range(1, nodes).Select(k => Path.Combine(outDir, NodeDirectoryPrefix + k.ToString(CultureInfo.InvariantCulture))).ToArray();
        CheckTargets(outDir, targets, force);
        var partition = Partitioner.Partition(input.TrainLabels, input.ClassCount, nodes, options);
        try
        {
            Directory.CreateDirectory(outDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{outDir}: cannot create the output directory: {e.Message}", e);
        }

        var done = 0;
        try
        {
            // Compressing IDX records is the slow part; nodes are independent, so they are written side by side.
            Parallel.For(
                0,
                nodes,
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                k =>
                {
                    WriteNode(input, partition, directory, targets[k], k, options);
                    progress?.Report(Interlocked.Increment(ref done));
                });
        }
        catch (AggregateException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions.OfType<SwarmException>().FirstOrDefault() ?? e.InnerExceptions[0]);
        }

        if (force)
        {
            RemoveStaleNodes(outDir, nodes);
        }

        return new SplitResult(directory, outDir, input.Layout, partition, targets, input.ClassNames, input.TestLabels.Length, Histogram(input.TestLabels, input.ClassCount));
    }

    private static void CheckTargets(string outDir, string[] targets, bool force)
    {
        if (File.Exists(outDir))
        {
            throw new SwarmException($"{outDir}: this is a file; give a directory for the node directories");
        }

        foreach (var target in targets)
        {
            if (File.Exists(target))
            {
                throw new SwarmException($"{target}: a file stands where a node directory goes; move it away");
            }

            if (!force && Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            {
                throw new SwarmException($"{target} exists and is not empty; pass --force to replace the node directories, or choose another output directory");
            }
        }
    }

    private static void WriteNode(SplitInput input, DataPartition partition, string source, string target, int k, PartitionOptions options)
    {
        var parent = Path.GetDirectoryName(target)!;
        var name = Path.GetFileName(target);
        var temp = Path.Combine(parent, $".{name}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            input.WriteTrain(temp, partition.Nodes[k]);
            foreach (var file in input.TestFiles)
            {
                File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
            }

            input.NodeManifest.WriteTo(temp);
            var biased = options.Method == PartitionMethod.Biased;
            new PartitionManifest
            {
                Source = source,
                Layout = input.Layout,
                Method = options.Method.ToName(),
                Parameters = new PartitionParameters
                {
                    Alpha = options.Method == PartitionMethod.Dirichlet ? options.Alpha : null,
                    BiasFactor = biased ? PartitionOptions.BiasFactor : null,
                    FavouredClasses = partition.FavouredClasses?[k],
                },
                Seed = options.Seed,
                Node = k + 1,
                Nodes = partition.Nodes.Count,
                Samples = partition.Nodes[k].Length,
                ClassNames = input.ClassNames,
                ClassHistogram = partition.Histograms[k],
                TestSamples = input.TestLabels.Length,
            }.WriteTo(temp);

            if (Directory.Exists(target))
            {
                // Only with --force (checked before anything was written): swap the old directory out, the new one in.
                var old = Path.Combine(parent, $".{name}.old-{Guid.NewGuid():N}");
                Directory.Move(target, old);
                Directory.Move(temp, target);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, target);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new SwarmException($"{target}: cannot write the node directory: {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Removes node directories numbered above <paramref name="nodes"/> that an earlier split wrote (they hold a partition.json).</summary>
    private static void RemoveStaleNodes(string outDir, int nodes)
    {
        foreach (var dir in Directory.EnumerateDirectories(outDir, NodeDirectoryPrefix + "*"))
        {
            var suffix = Path.GetFileName(dir)[NodeDirectoryPrefix.Length..];
            if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > nodes
                && File.Exists(Path.Combine(dir, PartitionManifest.FileName)))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A hidden temporary directory left behind is harmless; the error that brought us here matters more.
        }
    }

    internal static int[] Histogram(int[] labels, int classCount)
    {
        var counts = new int[classCount];
        foreach (var label in labels)
        {
            counts[label]++;
        }

        return counts;
    }

    /// <summary>A source directory as the splitter needs it: labels, classes, how to write a subset, what to copy.</summary>
    private sealed class SplitInput
    {
        private SplitInput(DataLayout layout, int[] trainLabels, int[] testLabels, int classCount, IReadOnlyList<string>? classNames, string[] testFiles, Action<string, int[]> writeTrain, DatasetManifest? manifest, string? labelColumn, string name)
        {
            Layout = layout;
            TrainLabels = trainLabels;
            TestLabels = testLabels;
            ClassCount = classCount;
            ClassNames = classNames ?? [.. Enumerable.Range(0, classCount).Select(c => c.ToString(CultureInfo.InvariantCulture))];
            TestFiles = testFiles;
            WriteTrain = writeTrain;
            NodeManifest = new DatasetManifest { Name = manifest?.Name ?? name, ClassNames = ClassNames, LabelColumn = labelColumn };
        }

        public DataLayout Layout { get; }

        public int[] TrainLabels { get; }

        public int[] TestLabels { get; }

        public int ClassCount { get; }

        public IReadOnlyList<string> ClassNames { get; }

        public string[] TestFiles { get; }

        public Action<string, int[]> WriteTrain { get; }

        public DatasetManifest NodeManifest { get; }

        public static SplitInput Open(string directory, string? labelColumn)
        {
            var name = FashionMnist.IsDebianDirectory(directory) ? FashionMnist.Alias : Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
            if (DataDirectory.Detect(directory) == DataLayout.Idx)
            {
                var idx = IdxSource.Open(directory);
                return new SplitInput(
                    DataLayout.Idx,
                    idx.TrainLabels,
                    idx.TestLabels,
                    idx.ClassCount,
                    idx.ClassNames,
                    [idx.TestImages.Source, idx.TestLabelArray.Source],
                    (dir, indices) =>
                    {
                        IdxWriter.Write(Path.Combine(dir, IdxDataset.TrainImagesFile + ".gz"), idx.TrainImages, indices);
                        IdxWriter.Write(Path.Combine(dir, IdxDataset.TrainLabelsFile + ".gz"), idx.TrainLabelArray, indices);
                    },
                    idx.Manifest,
                    labelColumn: null,
                    name);
            }

            var csv = CsvSource.Open(directory, labelColumn);
            return new SplitInput(
                DataLayout.Csv,
                csv.TrainLabels,
                csv.TestLabels,
                csv.ClassCount,
                csv.ClassNames,
                [csv.Test.Source],
                (dir, indices) => WriteCsvRows(Path.Combine(dir, CsvDataset.TrainFile), csv.Train, indices),
                csv.Manifest,
                csv.Train.LabelColumn,
                name);
        }

        /// <summary>Writes the header line and the chosen rows byte for byte, each ended with the header's line ending.</summary>
        private static void WriteCsvRows(string path, CsvTable table, int[] rows)
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            var newline = System.Text.Encoding.ASCII.GetBytes(table.LineEnding);
            file.Write(table.Bytes, 0, table.HeaderEnd);
            file.Write(newline);
            foreach (var r in rows)
            {
                var record = table.Records[r];
                file.Write(table.Bytes, record.Start, record.End - record.Start);
                file.Write(newline);
            }

            file.Flush(flushToDisk: true);
        }
    }
}
