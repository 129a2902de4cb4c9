using BenchmarkDotNet.Attributes;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>Which kernel path to run: the widest vectors the machine has, or one lane at a time.</summary>
public enum KernelPath
{
    /// <summary><c>KernelWidth.Auto</c>: Vector512, Vector256 or Vector128, whichever is accelerated.</summary>
    Auto,

    /// <summary><c>KernelWidth.Scalar</c>: the one-lane reference path.</summary>
    Scalar,
}

/// <summary>
/// The merge kernels called directly on the blocks the engine hands them: n rows of the engine's block length
/// (about 256 KiB of input, so it stays in L2), repeated to cover <see cref="Coordinates"/> coordinates per
/// operation so that times compare across n. Measures compute, not memory: the data are in cache.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SuiteConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class KernelBenchmarks : IThroughputBenchmark
{
    /// <summary>Coordinates per model processed by one operation.</summary>
    public const int Coordinates = 1 << 16;

    private float[] _matrix = [];
    private float[] _equalWeights = [];
    private float[] _coefficients = [];
    private ReadOnlyMemory<float>[] _rows = [];
    private float[] _output = [];
    private float[] _scratch = [];
    private int _block;

    /// <summary>Number of models.</summary>
    [Params(2, 8, 32)]
    public int Models { get; set; } = 2;

    /// <summary>Vector path.</summary>
    [Params(KernelPath.Auto, KernelPath.Scalar)]
    public KernelPath Path { get; set; }

    /// <inheritdoc/>
    public long InputBytesPerOperation => (long)Models * Coordinates * sizeof(float);

    private KernelWidth Width => Path == KernelPath.Scalar ? KernelWidth.Scalar : KernelWidth.Auto;

    [GlobalSetup]
    public void Setup()
    {
        // The engine's block length for n models (BlockRunner): about 256 KiB of input per block.
        _block = Math.Clamp(65536 / Models / 64 * 64, 1024, 16384);
        var random = new Random(7);
        _matrix = new float[Models * _block];
        for (var i = 0; i < _matrix.Length; i++)
        {
            _matrix[i] = random.NextSingle();
        }

        _rows = [.. Enumerable.Range(0, Models).Select(i => new ReadOnlyMemory<float>(_matrix, i * _block, _block))];
        _equalWeights = [.. Enumerable.Repeat(1f, Models)];
        var raw = Enumerable.Range(0, Models).Select(i => 1f + i).ToArray();
        _coefficients = [.. raw.Select(w => w / raw.Sum())];
        _output = new float[_block];
        _scratch = new float[OrderStatistics.ScratchLength(Models)];
    }

    [Benchmark]
    public float Median()
    {
        for (var done = 0; done < Coordinates; done += _block)
        {
            OrderStatistics.Median(_matrix, _block, Models, _equalWeights, _output, _scratch, Width);
        }

        return _output[0];
    }

    [Benchmark]
    public float TrimmedMean()
    {
        var trim = Models / 5;
        for (var done = 0; done < Coordinates; done += _block)
        {
            OrderStatistics.TrimmedMean(_matrix, _block, Models, _equalWeights, trim, _output, _scratch, Width);
        }

        return _output[0];
    }

    [Benchmark]
    public float WeightedSumCombine()
    {
        var reference = WeightedSum.ReferenceIndex(_coefficients);
        for (var done = 0; done < Coordinates; done += _block)
        {
            WeightedSum.Combine(_rows, _coefficients, reference, _output, Width);
        }

        return _output[0];
    }
}
