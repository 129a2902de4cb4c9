using BenchmarkDotNet.Attributes;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Training;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Kernels;
using SwarmLearning.Training.Models;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>
/// The matrix multiplies one training step of the built-in models makes, at batch 64 (m × n × k, with the operand
/// layouts the layers use), on all cores. Peak for comparison: 2 FMA units × 16 lanes × 2 flops per core-cycle.
/// </summary>
[Config(typeof(FlopsConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class GemmBenchmarks : IRateBenchmark
{
    private Matrix _a;
    private Matrix _b;
    private Matrix _c;

    /// <summary>Which product: layer, pass, m×n×k and which operand is transposed.</summary>
    [Params(
        "mlp fc1 forward 64x256x784 Bt",
        "mlp fc1 weight-grad 256x784x64 At",
        "cnn conv2 forward 64x12544x288",
        "cnn conv2 weight-grad 64x288x12544 Bt",
        "cnn conv2 input-grad 288x12544x64 At",
        "square 512x512x512")]
    public string Shape { get; set; } = "square 512x512x512";

    /// <inheritdoc/>
    public double WorkPerOperation
    {
        get
        {
            var (m, n, k, _, _) = Parse();
            return 2.0 * m * n * k;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (m, n, k, ta, tb) = Parse();
        var random = new Random(1);
        float[] Fill(int length) => [.. Enumerable.Range(0, length).Select(_ => random.NextSingle())];
        _a = ta ? Matrix.Dense(Fill(m * k), k, m).T : Matrix.Dense(Fill(m * k), m, k);
        _b = tb ? Matrix.Dense(Fill(k * n), n, k).T : Matrix.Dense(Fill(k * n), k, n);
        _c = Matrix.Dense(new float[m * n], m, n);
    }

    [Benchmark]
    public void Multiply() => Gemm.Multiply(_a, _b, _c);

    private (int M, int N, int K, bool TransposeA, bool TransposeB) Parse()
    {
        var parts = Shape.Split(' ');
        var dims = parts.First(p => p.Contains('x', StringComparison.Ordinal) && char.IsDigit(p[0])).Split('x').Select(int.Parse).ToArray();
        return (dims[0], dims[1], dims[2], parts[^1] == "At", parts[^1] == "Bt");
    }
}

/// <summary>One training step (forward, backward, Adam) of a built-in model on a batch of 64 Fashion-MNIST-shaped samples.</summary>
[Config(typeof(SamplesConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class TrainStepBenchmarks : IRateBenchmark
{
    private const int Batch = 64;
    private Trainer? _trainer;
    private Dataset? _data;
    private int[] _indices = [];

    /// <summary>The architecture.</summary>
    [Params("mlp", "cnn")]
    public string Model { get; set; } = "mlp";

    /// <inheritdoc/>
    public double WorkPerOperation => Batch;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        var shape = new SampleShape(1, 28, 28);
        _data = new Dataset([.. Enumerable.Range(0, Batch * 784).Select(_ => random.NextSingle())], [.. Enumerable.Range(0, Batch).Select(i => i % 10)], shape, 10, "random");
        _trainer = new Trainer(Architectures.Create(Model, shape, 10, 1), new Adam(), Batch);
        _indices = [.. Enumerable.Range(0, Batch)];
    }

    [Benchmark]
    public double Step() => _trainer!.Step(_data!, _indices);
}
