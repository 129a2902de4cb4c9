using System.Buffers.Binary;

namespace SwarmLearning.Fuzz.Harness;

/// <summary>
/// Format-blind mutations of a byte string, as AFL and libFuzzer make them: bit flips, bytes and little-endian integers
/// set to boundary values, ranges inserted, deleted or duplicated, truncation, extension, and splicing with another
/// input. Lengths are kept below <see cref="MaxLength"/>.
/// </summary>
internal static class ByteMutator
{
    public const int MaxLength = 1 << 20;

    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0x20, (byte)'{', (byte)'}', (byte)'[', (byte)'"', (byte)'\\', (byte)'0', (byte)'9', (byte)'-', (byte)',', (byte)':', 0xC0, 0xED];

    private static readonly ulong[] InterestingIntegers =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 1 << 20, (1 << 20) + 1, 32 << 20,
        8192, 8193, 64, 65, 100_000_000, 100_000_001,
    ];

    /// <summary>Applies <paramref name="count"/> random mutations to a copy of <paramref name="input"/>.</summary>
    public static byte[] Mutate(byte[] input, FuzzRandom random, int count, IReadOnlyList<byte[]>? others = null)
    {
        var data = new List<byte>(input);
        for (var i = 0; i < count; i++)
        {
            MutateOnce(data, random, others);
        }

        if (data.Count > MaxLength)
        {
            data.RemoveRange(MaxLength, data.Count - MaxLength);
        }

        return [.. data];
    }

    private static void MutateOnce(List<byte> data, FuzzRandom random, IReadOnlyList<byte[]>? others)
    {
        switch (random.Next(12))
        {
            case 0 when data.Count > 0:
                data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[random.Next(data.Count)] = random.Pick(InterestingBytes);
                break;
            case 2 when data.Count > 0:
                data[random.Next(data.Count)] = (byte)random.NextU64();
                break;
            case 3:
                SetInteger(data, random);
                break;
            case 4:
                {
                    // Insert random bytes (or a run of one byte).
                    var at = random.Next(data.Count + 1);
                    var bytes = new byte[random.SmallCount(8) * random.Next(1, 16)];
                    if (random.OneIn(2))
                    {
                        random.NextBytes(bytes);
                    }
                    else
                    {
                        Array.Fill(bytes, random.Pick(InterestingBytes));
                    }

                    data.InsertRange(at, bytes);
                    break;
                }

            case 5 when data.Count > 0:
                {
                    var at = random.Next(data.Count);
                    data.RemoveRange(at, Math.Min(data.Count - at, random.Next(1, 1 + (random.OneIn(4) ? 256 : 16))));
                    break;
                }

            case 6 when data.Count > 0:
                {
                    // Duplicate a range somewhere else (repeated fields, repeated entries).
                    var from = random.Next(data.Count);
                    var length = Math.Min(data.Count - from, random.Next(1, 128));
                    var copy = data.GetRange(from, length);
                    var times = random.OneIn(8) ? random.Next(2, 64) : 1;
                    var at = random.Next(data.Count + 1);
                    for (var t = 0; t < times && data.Count < MaxLength; t++)
                    {
                        data.InsertRange(at, copy);
                    }

                    break;
                }

            case 7 when data.Count > 0:
                {
                    var keep = random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                }

            case 8:
                {
                    var extra = new byte[random.OneIn(4) ? random.Next(1, 4096) : random.Next(1, 16)];
                    if (!random.OneIn(3))
                    {
                        random.NextBytes(extra);
                    }

                    data.AddRange(extra);
                    break;
                }

            case 9 when others is { Count: > 0 }:
                {
                    // Splice: a prefix of this input and a suffix of another.
                    var other = random.Pick(others);
                    var cut = random.Next(data.Count + 1);
                    var from = random.Next(other.Length + 1);
                    data.RemoveRange(cut, data.Count - cut);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }

            case 10 when data.Count > 0:
                {
                    // ASCII digits: change one, or add digits after it, so JSON numbers grow or change.
                    var start = random.Next(data.Count);
                    for (var i = 0; i < data.Count; i++)
                    {
                        var at = (start + i) % data.Count;
                        if (data[at] is >= (byte)'0' and <= (byte)'9')
                        {
                            if (random.OneIn(2))
                            {
                                data[at] = (byte)('0' + random.Next(10));
                            }
                            else
                            {
                                var digits = new byte[random.Next(1, 24)];
                                for (var d = 0; d < digits.Length; d++)
                                {
                                    digits[d] = (byte)('0' + random.Next(10));
                                }

                                data.InsertRange(at, digits);
                            }

                            break;
                        }
                    }

                    break;
                }

            default:
                if (data.Count > 1)
                {
                    // Swap two bytes.
                    var a = random.Next(data.Count);
                    var b = random.Next(data.Count);
                    (data[a], data[b]) = (data[b], data[a]);
                }

                break;
        }
    }

    private static void SetInteger(List<byte> data, FuzzRandom random)
    {
        var width = random.Pick(Widths);
        if (data.Count < width)
        {
            return;
        }

        var value = random.Pick(InterestingIntegers);
        if (random.OneIn(4))
        {
            value += (ulong)(random.Next(3) - 1);
        }

        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        var at = random.Next(data.Count - width + 1);
        for (var i = 0; i < width; i++)
        {
            data[at + i] = bytes[i];
        }
    }

    private static readonly int[] Widths = [1, 2, 4, 8];
}
