using SwarmLearning.Safetensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>What reading a model allocates grows with the model, not with a constant (a fuzz finding, docs/fuzzing.md).</summary>
public sealed class SafetensorsAllocationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("{}", 0, 1)]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""", 24, 6)]
    [InlineData("""{"a":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"F32","shape":[0],"data_offsets":[10,10]}}""", 10, 5)]
    public void VerifyValues_reads_small_models_with_a_buffer_no_larger_than_their_largest_tensor(string header, int dataBytes, int expected)
    {
        var path = RawSafetensors.Write(_dir.File("m.safetensors"), header, new byte[dataBytes]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expected, file.VerifyBufferLength);
    }

    [Fact]
    public void VerifyValues_reads_large_models_by_1_MiB_chunks()
    {
        var count = 300_000;
        var path = RawSafetensors.Write(_dir.File("m.safetensors"), $$$"""{"w":{"dtype":"F32","shape":[{{{count}}}],"data_offsets":[0,{{{count * 4}}}]}}""", new byte[count * 4]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal((1 << 20) / 4, file.VerifyBufferLength);
        file.VerifyValues();
    }

    [Fact]
    public void Opening_and_verifying_a_10_byte_file_with_no_tensors_allocates_kilobytes_not_a_megabyte()
    {
        // The fuzz finding: "{}" with its length prefix. A fresh thread has nothing in the pool's per-thread cache, as
        // after the pool trims its buffers, which is when the old 1 MiB rent showed up as an allocation.
        var path = RawSafetensors.Write(_dir.File("empty.safetensors"), "{}");
        long allocated = 0;
        var thread = new Thread(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            using (var file = SafetensorsFile.Open(path))
            {
                file.VerifyValues();
                _ = file.LoadModel();
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        Assert.True(allocated < 64 * 1024, $"{allocated:N0} bytes allocated to read a 10-byte file");
    }
}
