using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>
/// A law of recovery, checked at many points: wherever a crash cuts the file, reopening keeps exactly the records
/// that lie wholly before the cut, and cuts the rest.
/// </summary>
public sealed class BlockStoreCutTests : IDisposable
{
    private const int Records = 40;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Reopening_after_a_cut_anywhere_keeps_exactly_the_records_wholly_before_it(int seed)
    {
        var random = new Random(seed);
        var payloads = Enumerable.Range(0, Records).Select(h => StoreFiles.Payload(h + (seed * 1000), random.Next(1, 2000))).ToList();
        var original = _dir.File($"original-{seed}");
        await StoreFiles.WriteAsync(original, payloads);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(original, "chain.dat"));
        var (offsets, length) = StoreFiles.Layout(payloads);
        Assert.Equal(length, bytes.Length);

        // Random cuts, plus every record boundary and the bytes either side of one.
        var cuts = Enumerable.Range(0, 60).Select(_ => random.NextInt64(StoreFiles.FileHeader, length + 1))
            .Concat(offsets).Concat(offsets.Select(o => o + 1)).Concat(offsets.Skip(1).Select(o => o - 1))
            .Append(length).Append(StoreFiles.FileHeader).Distinct().ToList();
        foreach (var cut in cuts)
        {
            var directory = _dir.File($"cut-{seed}-{cut}");
            Directory.CreateDirectory(directory);
            await File.WriteAllBytesAsync(Path.Combine(directory, "chain.dat"), bytes.AsMemory(0, (int)cut));
            var whole = offsets.Count(o => o < cut && o + StoreFiles.Overhead + payloads[Array.IndexOf(offsets, o)].Length <= cut);
            var end = whole == 0 ? StoreFiles.FileHeader : offsets[whole - 1] + StoreFiles.Overhead + payloads[whole - 1].Length;

            await using (var store = BlockStore.Open(directory))
            {
                StoreFiles.AssertHolds(store, payloads[..whole]);
                Assert.Equal(cut - end, store.Recovery.TornBytesCut);
                Assert.Equal(cut == end, store.Recovery.IsClean);
                Assert.Equal(end, new FileInfo(Path.Combine(directory, "chain.dat")).Length);
            }

            Directory.Delete(directory, recursive: true);
        }
    }
}
