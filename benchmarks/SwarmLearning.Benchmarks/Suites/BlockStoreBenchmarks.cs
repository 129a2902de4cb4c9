using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>
/// The ledger's block store with 4 KiB records. <c>Append</c> is durable: it includes the fsync, so it measures the
/// disk (one record per fsync vs a batch of 32 under one fsync, the group commit an SN uses under load).
/// <c>Read</c> (random heights) and <c>ReadFrom</c> (a sequential run) come from the page cache: system calls
/// and the CRC-32C check.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(RecordsConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class BlockStoreBenchmarks : IRateBenchmark, IThroughputBenchmark
{
    private const int RecordSize = 4096;
    private const int StoredRecords = 10_000;
    private string _directory = "";
    private BlockStore? _appendStore;
    private BlockStore? _readStore;
    private ReadOnlyMemory<byte>[] _batch = [];
    private long[] _heights = [];

    /// <summary>Records per operation: appended in one call, or read.</summary>
    [Params(1, 32)]
    public int Records { get; set; } = 1;

    /// <inheritdoc/>
    public double WorkPerOperation => Records;

    /// <inheritdoc/>
    public long InputBytesPerOperation => (long)Records * RecordSize;

    [GlobalSetup]
    public async Task Setup()
    {
        _directory = Directory.CreateTempSubdirectory("swarm-bench-").FullName;
        var random = new Random(1);
        _batch = [.. Enumerable.Range(0, Records).Select(_ => (ReadOnlyMemory<byte>)RandomBytes(random))];
        _appendStore = BlockStore.Open(System.IO.Path.Combine(_directory, "append"));
        _readStore = BlockStore.Open(System.IO.Path.Combine(_directory, "read"));
        for (var i = 0; i < StoredRecords; i += 1000)
        {
            await _readStore.AppendAsync([.. Enumerable.Range(0, 1000).Select(_ => (ReadOnlyMemory<byte>)RandomBytes(random))]);
        }

        _heights = [.. Enumerable.Range(0, 4096).Select(_ => random.NextInt64(StoredRecords))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _appendStore?.Dispose();
        _readStore?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Appends <see cref="Records"/> records with one write and one fsync.</summary>
    [Benchmark]
    public ValueTask Append() => Records == 1 ? _appendStore!.AppendAsync(_batch[0]) : _appendStore!.AppendAsync(_batch);

    /// <summary>Reads <see cref="Records"/> records at random heights, each with its own positional read.</summary>
    [Benchmark]
    public long Read()
    {
        long bytes = 0;
        var start = Random.Shared.Next(_heights.Length - Records);
        for (var i = 0; i < Records; i++)
        {
            bytes += _readStore!.Read(_heights[start + i]).Length;
        }

        return bytes;
    }

    /// <summary>Reads a run of <see cref="Records"/> consecutive records from a random height.</summary>
    [Benchmark]
    public long ReadFrom()
    {
        long bytes = 0;
        foreach (var (_, record) in _readStore!.ReadFrom(_heights[Random.Shared.Next(_heights.Length)] % (StoredRecords - Records)).Take(Records))
        {
            bytes += record.Length;
        }

        return bytes;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[RecordSize];
        random.NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Adds a records/s column next to GB/s.</summary>
public sealed class RecordsConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public RecordsConfig()
    {
        AddColumn(new RateColumn("records/s", 1));
        AddColumn(new ThroughputColumn());
    }
}
