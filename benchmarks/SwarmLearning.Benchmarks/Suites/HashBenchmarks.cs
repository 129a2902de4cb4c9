using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Hashing;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>Which hash a <see cref="HashBenchmarks"/> case runs.</summary>
public enum HashFunction
{
    /// <summary>SHA-256 through .NET's <see cref="IncrementalHash"/> (OpenSSL; SHA-NI where the CPU has it): the models' hash until 2026-11-22.</summary>
    Sha256,

    /// <summary><see cref="Hashing.Blake3"/>, sixteen chunks at a time where the CPU has AVX-512.</summary>
    Blake3,

    /// <summary><see cref="Hashing.Blake3"/> eight chunks at a time (a CPU with AVX2 and without AVX-512).</summary>
    Blake3Lanes8,

    /// <summary><see cref="Hashing.Blake3"/> one chunk at a time (a CPU without AVX2).</summary>
    Blake3Narrow,
}

/// <summary>
/// Hashing a model's bytes as a receiver does: appended 1 MiB at a time, the size of the chunks a received model is
/// read in. <c>InCache</c> hashes a 1 MiB buffer over and over (a receiver hashes bytes it has just decrypted);
/// otherwise a 256 MB buffer, from memory (a publisher hashes a model's arrays).
/// </summary>
[Config(typeof(SuiteConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class HashBenchmarks : IThroughputBenchmark
{
    private const int Piece = 1 << 20;
    private const int Bytes = 256 << 20;
    private byte[] _data = [];

    /// <summary>The hash.</summary>
    [Params(HashFunction.Sha256, HashFunction.Blake3, HashFunction.Blake3Lanes8, HashFunction.Blake3Narrow)]
    public HashFunction Function { get; set; }

    /// <summary>True: the same 1 MiB, in cache; false: 256 MB from memory.</summary>
    [Params(true, false)]
    public bool InCache { get; set; }

    /// <inheritdoc/>
    public long InputBytesPerOperation => Bytes;

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[InCache ? Piece : Bytes];
        new Random(1).NextBytes(_data); // written, so that no page is the kernel's shared zero page
    }

    [Benchmark]
    public byte[] Hash()
    {
        switch (Function)
        {
            case HashFunction.Sha256:
                using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                {
                    for (var at = 0L; at < Bytes; at += Piece)
                    {
                        sha.AppendData(Slice(at));
                    }

                    return sha.GetHashAndReset();
                }

            default:
                var blake = new Blake3 { MaxLanes = Function switch { HashFunction.Blake3Lanes8 => 8, HashFunction.Blake3Narrow => 1, _ => 16 } };
                for (var at = 0L; at < Bytes; at += Piece)
                {
                    blake.AppendData(Slice(at));
                }

                return blake.GetHashAndReset();
        }
    }

    private ReadOnlySpan<byte> Slice(long at) => InCache ? _data : _data.AsSpan((int)at, Piece);
}
