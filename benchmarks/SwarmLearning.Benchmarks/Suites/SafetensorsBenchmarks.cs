using BenchmarkDotNet.Attributes;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>
/// Writing and reading a 25M-parameter f32 model (100 MB) as safetensors. Writing includes hashing (BLAKE3, the model hash) and the
/// flush to disk before the atomic rename, so it measures the disk too; reading (open, validate, load into memory,
/// finiteness check) runs from the page cache after the first iteration.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SuiteConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class SafetensorsBenchmarks : IThroughputBenchmark
{
    private const long Parameters = 25_000_000;
    private string _directory = "";
    private string _readPath = "";
    private string _writePath = "";
    private TensorModel? _model;

    /// <inheritdoc/>
    public long InputBytesPerOperation => Parameters * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("swarm-bench-").FullName;
        _readPath = System.IO.Path.Combine(_directory, "read.safetensors");
        _writePath = System.IO.Path.Combine(_directory, "write.safetensors");
        _model = SyntheticModels.Create(1, Parameters)[0];
        SafetensorsWriter.Write(_readPath, _model);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark]
    public long Write() => SafetensorsWriter.Write(_writePath, _model!).Length;

    [Benchmark]
    public long Read()
    {
        using var file = SafetensorsFile.Open(_readPath);
        return file.LoadModel().ParameterCount;
    }
}
