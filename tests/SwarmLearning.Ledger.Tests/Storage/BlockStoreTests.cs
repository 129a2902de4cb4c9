using System.Buffers.Binary;
using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>
/// The block store's contract: what is appended is read back as it was, across reopening; a torn tail is cut and
/// everything before it kept; damage anywhere else is refused with the height and offset, and nothing is cut.
/// </summary>
public sealed class BlockStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _store;

    public BlockStoreTests() => _store = _dir.File("ledger");

    private string FilePath => Path.Combine(_store, "chain.dat");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Records_read_back_as_appended_across_reopen()
    {
        var payloads = Enumerable.Range(0, 50).Select(h => StoreFiles.Payload(h)).ToList();
        await using (var store = BlockStore.Open(_store))
        {
            for (var h = 0; h < payloads.Count; h++)
            {
                Assert.Equal(h, store.Count);
                await store.AppendAsync(payloads[h]);
                Assert.Equal(payloads[h], store.Read(h));
            }

            StoreFiles.AssertHolds(store, payloads);
            Assert.True(store.Recovery.IsClean);
        }

        await using var reopened = BlockStore.Open(_store);
        StoreFiles.AssertHolds(reopened, payloads);
        Assert.True(reopened.Recovery.IsClean);
        Assert.Equal(StoreFiles.Layout(payloads).Length, new FileInfo(FilePath).Length);
        Assert.Equal(FilePath, reopened.Path);
    }

    [Fact]
    public async Task A_batch_is_stored_in_order_with_single_appends_around_it()
    {
        var payloads = Enumerable.Range(0, 40).Select(h => StoreFiles.Payload(h)).ToList();
        payloads[7] = [];  // an empty record is a record too
        await using (var store = BlockStore.Open(_store))
        {
            await store.AppendAsync(payloads[0]);
            await store.AppendAsync(payloads.Skip(1).Take(32).Select(p => (ReadOnlyMemory<byte>)p).ToList());
            Assert.Equal(33, store.Count);
            await store.AppendAsync(payloads.Skip(33).Select(p => (ReadOnlyMemory<byte>)p).ToList());
            await store.AppendAsync(Array.Empty<ReadOnlyMemory<byte>>());
            StoreFiles.AssertHolds(store, payloads);
        }

        await using var reopened = BlockStore.Open(_store);
        StoreFiles.AssertHolds(reopened, payloads);
    }

    [Fact]
    public async Task Batches_larger_than_a_write_chunk_and_records_larger_than_the_read_ahead_round_trip()
    {
        // 3 MiB records cross both the 4 MiB write chunk (several writes, one fsync) and ReadFrom's 1 MiB read-ahead;
        // the 2000 small ones make a batch of thousands of records.
        var big = Enumerable.Range(0, 5).Select(h => StoreFiles.Payload(h, 3 << 20)).ToList();
        var small = Enumerable.Range(5, 2000).Select(h => StoreFiles.Payload(h, 100)).ToList();
        var payloads = big.Concat(small).ToList();
        await using (var store = BlockStore.Open(_store))
        {
            await store.AppendAsync(big.Select(p => (ReadOnlyMemory<byte>)p).ToList());
            await store.AppendAsync(small.Select(p => (ReadOnlyMemory<byte>)p).ToList());
            StoreFiles.AssertHolds(store, payloads);
        }

        await using var reopened = BlockStore.Open(_store);
        StoreFiles.AssertHolds(reopened, payloads);
    }

    [Fact]
    public async Task An_empty_store_is_a_header_alone_and_reopens_empty()
    {
        await using (var store = BlockStore.Open(_store))
        {
            Assert.Equal(0, store.Count);
            Assert.Empty(store.ReadFrom(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => store.Read(0));
        }

        Assert.Equal("SWLEDGR\0"u8.ToArray().Concat(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 }), await File.ReadAllBytesAsync(FilePath));
        Assert.Equal(["chain.dat"], Directory.GetFiles(_store).Select(Path.GetFileName));
        await using var reopened = BlockStore.Open(_store);
        Assert.Equal(0, reopened.Count);
        Assert.True(reopened.Recovery.IsClean);
        Assert.Equal(0, reopened.Recovery.TornRecords);
    }

    [Fact]
    public async Task A_header_left_under_the_temporary_name_by_a_crash_during_creation_is_replaced()
    {
        Directory.CreateDirectory(_store);
        await File.WriteAllBytesAsync(Path.Combine(_store, "chain.dat.tmp"), "SWLE"u8.ToArray());

        await using var store = BlockStore.Open(_store);
        await store.AppendAsync(new byte[] { 1, 2, 3 });

        Assert.Equal(["chain.dat"], Directory.GetFiles(_store).Select(Path.GetFileName));
        Assert.Equal(new byte[] { 1, 2, 3 }, store.Read(0));
    }

    public static TheoryData<string> TornShapes => new()
    {
        "partial header (1 byte)",
        "partial header (7 bytes)",
        "partial header (11 bytes)",
        "header only",
        "partial payload",
        "missing trailer",
        "partial trailer",
        "bad checksum on the last record",
        "bad trailer on the last record",
        "length beyond the end of the file",
        "zeros after the last record",
    };

    [Theory]
    [MemberData(nameof(TornShapes))]
    public async Task A_torn_tail_is_cut_and_every_earlier_record_kept(string shape)
    {
        var payloads = Enumerable.Range(0, 6).Select(h => StoreFiles.Payload(h)).ToList();
        await StoreFiles.WriteAsync(_store, payloads);
        var (_, whole) = StoreFiles.Layout(payloads);
        var torn = StoreFiles.Payload(99, 300);
        var frame = Frame(torn);
        var kept = payloads;
        switch (shape)
        {
            case "partial header (1 byte)":
                StoreFiles.Append(FilePath, frame.AsSpan(0, 1));
                break;
            case "partial header (7 bytes)":
                StoreFiles.Append(FilePath, frame.AsSpan(0, 7));
                break;
            case "partial header (11 bytes)":
                StoreFiles.Append(FilePath, frame.AsSpan(0, 11));
                break;
            case "header only":
                StoreFiles.Append(FilePath, frame.AsSpan(0, 12));
                break;
            case "partial payload":
                StoreFiles.Append(FilePath, frame.AsSpan(0, 12 + (torn.Length / 2)));
                break;
            case "missing trailer":
                StoreFiles.Append(FilePath, frame.AsSpan(0, frame.Length - 4));
                break;
            case "partial trailer":
                StoreFiles.Append(FilePath, frame.AsSpan(0, frame.Length - 1));
                break;
            case "bad checksum on the last record":
                // The last stored record itself fails its checksum: it is the tail, so it is cut with nothing after it.
                StoreFiles.FlipByte(FilePath, StoreFiles.Layout(payloads[..^1]).Length + 12 + 3);
                whole = StoreFiles.Layout(payloads[..^1]).Length;
                kept = payloads[..^1];
                break;
            case "bad trailer on the last record":
                StoreFiles.FlipByte(FilePath, whole - 1);
                whole = StoreFiles.Layout(payloads[..^1]).Length;
                kept = payloads[..^1];
                break;
            case "length beyond the end of the file":
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), 1 << 20);
                StoreFiles.Append(FilePath, frame);
                break;
            case "zeros after the last record":
                StoreFiles.Append(FilePath, new byte[8192]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, "unknown shape");
        }

        var damaged = new FileInfo(FilePath).Length;
        await using (var store = BlockStore.Open(_store))
        {
            Assert.False(store.Recovery.IsClean);
            Assert.Equal(1, store.Recovery.TornRecords);
            Assert.Equal(whole, store.Recovery.TornOffset);
            Assert.Equal(damaged - whole, store.Recovery.TornBytesCut);
            Assert.Equal(kept.Count, store.Recovery.TornHeight);
            Assert.NotNull(store.Recovery.Problem);
            Assert.Equal(whole, new FileInfo(FilePath).Length);
            StoreFiles.AssertHolds(store, kept);

            await store.AppendAsync(torn);
            Assert.Equal(torn, store.Read(kept.Count));
        }

        await using var reopened = BlockStore.Open(_store);
        Assert.True(reopened.Recovery.IsClean);
        StoreFiles.AssertHolds(reopened, [.. kept, torn]);
    }

    public static TheoryData<int, string> MiddleDamage => new()
    {
        { 2, "payload" },
        { 2, "magic" },
        { 2, "length" },
        { 2, "checksum" },
        { 2, "trailer" },
        { 0, "payload" },
        { 4, "payload" },
    };

    [Theory]
    [MemberData(nameof(MiddleDamage))]
    public async Task A_damaged_record_before_valid_ones_is_refused_with_its_height_and_offset_and_nothing_is_cut(int height, string part)
    {
        var payloads = Enumerable.Range(0, 6).Select(h => StoreFiles.Payload(h)).ToList();
        await StoreFiles.WriteAsync(_store, payloads);
        var (offsets, length) = StoreFiles.Layout(payloads);
        var within = part switch
        {
            "magic" => 0,
            "length" => 5,
            "checksum" => 9,
            "payload" => 12 + (payloads[height].Length / 2),
            "trailer" => StoreFiles.Overhead + payloads[height].Length - 2,
            _ => throw new ArgumentOutOfRangeException(nameof(part), part, "unknown part"),
        };
        StoreFiles.FlipByte(FilePath, offsets[height] + within);
        var before = await File.ReadAllBytesAsync(FilePath);

        var e = Assert.Throws<LedgerStoreCorruptException>(() => BlockStore.Open(_store));

        Assert.Equal(height, e.Height);
        Assert.Equal(offsets[height], e.Offset);
        Assert.Equal(FilePath, e.File);
        Assert.Contains($"height {height}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"byte offset {offsets[height]}", e.Message, StringComparison.Ordinal);
        Assert.Contains(FilePath, e.Message, StringComparison.Ordinal);
        Assert.Contains("restore", e.Message, StringComparison.Ordinal);
        Assert.Contains("resync this SN from its peers", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<SwarmException>(e);
        Assert.Equal(length, new FileInfo(FilePath).Length);
        Assert.Equal(before, await File.ReadAllBytesAsync(FilePath));
    }

    public static TheoryData<string, string> BadHeaders => new()
    {
        { "wrong magic", "magic" },
        { "newer version", "newer SwarmLearning" },
        { "version 0", "format version is 0" },
        { "reserved field set", "reserved" },
        { "shorter than a header", "shorter than" },
        { "empty file", "0 bytes long" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task A_bad_file_header_is_refused_and_the_file_left_alone(string kind, string said)
    {
        await StoreFiles.WriteAsync(_store, [StoreFiles.Payload(0)]);
        switch (kind)
        {
            case "wrong magic":
                StoreFiles.FlipByte(FilePath, 2);
                break;
            case "newer version":
                StoreFiles.WriteUInt32(FilePath, 8, 2);
                break;
            case "version 0":
                StoreFiles.WriteUInt32(FilePath, 8, 0);
                break;
            case "reserved field set":
                StoreFiles.WriteUInt32(FilePath, 12, 7);
                break;
            case "shorter than a header":
                StoreFiles.Cut(FilePath, 5);
                break;
            case "empty file":
                StoreFiles.Cut(FilePath, 0);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown kind");
        }

        var before = await File.ReadAllBytesAsync(FilePath);

        var e = Assert.Throws<LedgerStoreCorruptException>(() => BlockStore.Open(_store));

        Assert.Equal(0, e.Height);
        Assert.Equal(0, e.Offset);
        Assert.Equal(FilePath, e.File);
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(FilePath));
    }

    [Fact]
    public async Task A_record_over_64_MiB_is_refused_and_nothing_of_its_batch_stored()
    {
        await using var store = BlockStore.Open(_store);
        await store.AppendAsync(StoreFiles.Payload(0));
        var length = new FileInfo(FilePath).Length;
        var tooBig = new byte[(64 << 20) + 1];

        var single = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(tooBig));
        var batch = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync([StoreFiles.Payload(1), tooBig]));

        Assert.Contains("67108865 bytes", single.Message, StringComparison.Ordinal);
        Assert.Contains("64 MiB", single.Message, StringComparison.Ordinal);
        Assert.Contains("record 1 of the batch", batch.Message, StringComparison.Ordinal);
        Assert.Equal(1, store.Count);
        Assert.Equal(length, new FileInfo(FilePath).Length);
    }

    [Fact]
    public async Task A_record_of_exactly_64_MiB_is_stored()
    {
        var payload = new byte[64 << 20];
        new Random(4).NextBytes(payload);
        await using (var store = BlockStore.Open(_store))
        {
            await store.AppendAsync(payload);
        }

        await using var reopened = BlockStore.Open(_store);
        Assert.Equal(payload, reopened.Read(0));
    }

    [Fact]
    public async Task A_header_claiming_more_than_64_MiB_is_damage_not_a_record()
    {
        var payloads = Enumerable.Range(0, 3).Select(h => StoreFiles.Payload(h)).ToList();
        await StoreFiles.WriteAsync(_store, payloads);
        var (offsets, _) = StoreFiles.Layout(payloads);
        StoreFiles.WriteUInt32(FilePath, offsets[1] + 4, (64u << 20) + 1);

        var e = Assert.Throws<LedgerStoreCorruptException>(() => BlockStore.Open(_store));

        Assert.Equal(1, e.Height);
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncateFrom_drops_the_records_from_a_height_on_durably_and_appends_continue_there()
    {
        var payloads = Enumerable.Range(0, 10).Select(h => StoreFiles.Payload(h)).ToList();
        var replacement = StoreFiles.Payload(1000);
        await StoreFiles.WriteAsync(_store, payloads);
        await using (var store = BlockStore.Open(_store))
        {
            store.TruncateFrom(10);
            Assert.Equal(10, store.Count);

            store.TruncateFrom(6);
            Assert.Equal(6, store.Count);
            Assert.Equal(StoreFiles.Layout(payloads[..6]).Length, new FileInfo(FilePath).Length);
            Assert.Throws<ArgumentOutOfRangeException>(() => store.Read(6));
            Assert.Throws<ArgumentOutOfRangeException>(() => store.TruncateFrom(7));
            Assert.Throws<ArgumentOutOfRangeException>(() => store.TruncateFrom(-1));

            await store.AppendAsync(replacement);
            StoreFiles.AssertHolds(store, [.. payloads[..6], replacement]);
        }

        await using (var reopened = BlockStore.Open(_store))
        {
            Assert.True(reopened.Recovery.IsClean);
            StoreFiles.AssertHolds(reopened, [.. payloads[..6], replacement]);
            reopened.TruncateFrom(0);
            Assert.Equal(0, reopened.Count);
        }

        await using var empty = BlockStore.Open(_store);
        Assert.Equal(0, empty.Count);
        Assert.Equal(16, new FileInfo(FilePath).Length);
    }

    [Fact]
    public async Task A_record_damaged_on_disk_after_open_is_detected_by_Read_and_ReadFrom()
    {
        var payloads = Enumerable.Range(0, 8).Select(h => StoreFiles.Payload(h)).ToList();
        await using var store = BlockStore.Open(_store);
        await store.AppendAsync(payloads.Select(p => (ReadOnlyMemory<byte>)p).ToList());
        var (offsets, _) = StoreFiles.Layout(payloads);

        StoreFiles.FlipByteUnderLock(FilePath, offsets[5] + 12 + 1);

        var read = Assert.Throws<LedgerStoreCorruptException>(() => store.Read(5));
        Assert.Equal(5, read.Height);
        Assert.Equal(offsets[5], read.Offset);
        Assert.Contains("checksum", read.Message, StringComparison.Ordinal);
        Assert.Equal(payloads[4], store.Read(4));

        var replayed = new List<long>();
        var replay = Assert.Throws<LedgerStoreCorruptException>(() =>
        {
            foreach (var (height, _) in store.ReadFrom(0))
            {
                replayed.Add(height);
            }
        });
        Assert.Equal(5, replay.Height);
        Assert.Equal(offsets[5], replay.Offset);
        Assert.Equal([0L, 1, 2, 3, 4], replayed);  // every record before the damaged one is delivered
    }

    [Fact]
    public async Task A_file_cut_short_under_an_open_store_is_reported_on_read()
    {
        var payloads = Enumerable.Range(0, 3).Select(h => StoreFiles.Payload(h)).ToList();
        await using var store = BlockStore.Open(_store);
        await store.AppendAsync(payloads.Select(p => (ReadOnlyMemory<byte>)p).ToList());
        var (offsets, length) = StoreFiles.Layout(payloads);

        StoreFiles.CutUnderLock(FilePath, length - 3);

        var read = Assert.Throws<LedgerStoreCorruptException>(() => store.Read(2));
        Assert.Equal(2, read.Height);
        Assert.Equal(offsets[2], read.Offset);
        Assert.Contains("the file ends", read.Message, StringComparison.Ordinal);
        Assert.Equal(payloads[1], store.Read(1));
        var replay = Assert.Throws<LedgerStoreCorruptException>(() => store.ReadFrom(0).ToList());
        Assert.Equal(0, replay.Height);  // the first run of records reaches past the end
    }

    [Fact]
    public async Task ReadFrom_starts_anywhere_and_sees_records_appended_while_it_runs()
    {
        var payloads = Enumerable.Range(0, 6).Select(h => StoreFiles.Payload(h)).ToList();
        await using var store = BlockStore.Open(_store);
        await store.AppendAsync(payloads.Take(3).Select(p => (ReadOnlyMemory<byte>)p).ToList());

        var seen = new List<(long Height, byte[] Record)>();
        foreach (var item in store.ReadFrom(1))
        {
            seen.Add(item);
            if (store.Count < payloads.Count)
            {
                await store.AppendAsync(payloads[(int)store.Count]);
            }
        }

        Assert.Equal([1L, 2, 3, 4, 5], seen.Select(s => s.Height));
        Assert.Equal(payloads[1..], seen.Select(s => s.Record));
        Assert.Empty(store.ReadFrom(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadFrom(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadFrom(-1));
    }

    [Fact]
    public async Task A_failed_fsync_cuts_the_batch_back_says_it_was_not_stored_and_the_store_goes_on()
    {
        var payloads = Enumerable.Range(0, 4).Select(h => StoreFiles.Payload(h)).ToList();
        await using (var store = BlockStore.Open(_store))
        {
            await store.AppendAsync(payloads[0]);
            var length = new FileInfo(FilePath).Length;
            store.BeforeFlushForTesting = () => throw new IOException("No space left on device");

            var e = await Assert.ThrowsAsync<SwarmException>(async () => await store.AppendAsync([payloads[1], payloads[2]]));

            Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
            Assert.Contains("not stored", e.Message, StringComparison.Ordinal);
            Assert.Contains(FilePath, e.Message, StringComparison.Ordinal);
            Assert.Equal(1, store.Count);
            Assert.Equal(length, new FileInfo(FilePath).Length);

            store.BeforeFlushForTesting = null;
            await store.AppendAsync(payloads[3]);
            StoreFiles.AssertHolds(store, [payloads[0], payloads[3]]);
        }

        await using var reopened = BlockStore.Open(_store);
        Assert.True(reopened.Recovery.IsClean);
        StoreFiles.AssertHolds(reopened, [payloads[0], payloads[3]]);
    }

    [Fact]
    public void A_second_open_of_the_same_directory_is_refused_while_the_first_is_open()
    {
        var first = BlockStore.Open(_store);
        var e = Assert.Throws<SwarmException>(() => BlockStore.Open(_store));
        Assert.Contains("in use by another process", e.Message, StringComparison.Ordinal);
        Assert.Contains(FilePath, e.Message, StringComparison.Ordinal);

        first.Dispose();
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => first.Read(0));
        using var second = BlockStore.Open(_store);
        Assert.Equal(0, second.Count);
    }

    [Fact]
    public async Task DisposeAsync_is_idempotent_and_later_calls_are_refused()
    {
        var store = BlockStore.Open(_store);
        await store.AppendAsync(new byte[] { 1 });
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendAsync(new byte[] { 2 }));
        Assert.Throws<ObjectDisposedException>(() => store.ReadFrom(0));
        Assert.Throws<ObjectDisposedException>(() => store.TruncateFrom(0));
        await using var reopened = BlockStore.Open(_store);
        Assert.Equal(1, reopened.Count);
    }

    [Fact]
    public async Task Reads_running_alongside_appends_see_only_whole_records()
    {
        const int Total = 400;
        await using var store = BlockStore.Open(_store);
        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            var reads = 0;
            while (!done.IsCancellationRequested || reads == 0)
            {
                var count = store.Count;
                if (count == 0)
                {
                    continue;
                }

                var h = random.NextInt64(count);
                Assert.Equal(StoreFiles.Payload(h), store.Read(h));
                reads++;
            }

            return reads;
        })).ToList();

        for (var h = 0; h < Total; h += 4)
        {
            await store.AppendAsync(Enumerable.Range(h, 4).Select(i => (ReadOnlyMemory<byte>)StoreFiles.Payload(i)).ToList());
        }

        await done.CancelAsync();
        var reads = await Task.WhenAll(readers);
        Assert.All(reads, r => Assert.True(r > 0));
        Assert.Equal(Total, store.Count);
    }

    [Fact]
    public async Task Concurrent_appends_are_serialized_into_whole_records()
    {
        await using (var store = BlockStore.Open(_store))
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(i => store.AppendAsync(StoreFiles.Payload(i)).AsTask()));
            Assert.Equal(16, store.Count);
        }

        await using var reopened = BlockStore.Open(_store);
        Assert.True(reopened.Recovery.IsClean);
        var stored = reopened.ReadFrom(0).Select(r => r.Record).ToList();
        Assert.Equal(
            Enumerable.Range(0, 16).Select(i => Convert.ToHexString(StoreFiles.Payload(i))).Order(StringComparer.Ordinal),
            stored.Select(Convert.ToHexString).Order(StringComparer.Ordinal));
    }

    private static byte[] Frame(byte[] payload)
    {
        var frame = new byte[payload.Length + 16];
        StoreFormat.WriteFrame(frame, payload);
        return frame;
    }
}
