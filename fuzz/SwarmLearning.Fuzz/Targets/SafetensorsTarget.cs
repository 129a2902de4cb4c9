using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using SwarmLearning.Fuzz.Harness;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// The safetensors reader as a node uses it on a model from outside (<c>ModelStore.ReceiveAsync</c>, the local
/// channel's <c>ChannelModels.ReadAsync</c>, <c>swarm merge</c>/<c>model inspect</c>): the bytes are written to a file,
/// then <see cref="SafetensorsFile.Open"/> (length prefix, header JSON, dtypes, shapes, ranges), the header's views,
/// <see cref="SafetensorsFile.LoadModel"/>, <see cref="SafetensorsFile.VerifyValues"/> and ranged
/// <see cref="SafetensorsFile.ReadF32"/> calls. The one documented refusal is <see cref="ModelFormatException"/>.
/// </summary>
internal sealed class SafetensorsTarget : IFuzzTarget, IDisposable
{
    private static readonly string[] ShapeBombs =
    [
        "[4294967296,4294967296]", "[9223372036854775807,2]", "[3037000500,3037000500]", "[4611686018427387904,2]",
        "[2305843009213693952]", "[2305843009213693951]", "[9223372036854775807]", "[0,9223372036854775807]",
        "[9223372036854775807,0]", "[65536,65536,65536,65536]", "[" + string.Join(",", Enumerable.Repeat("4", 32)) + "]",
        "[" + string.Join(",", Enumerable.Repeat("2", 63)) + "]", "[1099511627776]", "[268435456]", "[536870912,2]",
    ];

    private static readonly string[] OddIntegers =
    [
        "-1", "-0", "0", "1.5", "1e3", "1E+2", "2.0", "\"2\"", "null", "true", "[]", "{}", "18446744073709551616",
        "9223372036854775808", "9223372036854775807", "-9223372036854775808", "00", "01", "1" + new string('0', 400),
    ];

    private static readonly string[] OddDTypes =
    [
        "\"F64\"", "\"I8\"", "\"BOOL\"", "\"U8\"", "\"F8_E4M3\"", "\"f32\"", "\"\"", "\"F32 \"", "\"F\\u0033\\u0032\"", "1",
        "null", "{}", "[\"F32\"]", "\"" + new string('F', 5000) + "\"",
    ];

    private static readonly ulong[] LengthPrefixes =
    [
        ulong.MaxValue, ulong.MaxValue - 7, 1UL << 63, (1UL << 63) - 1, 1UL << 32, (1UL << 31) - 1, 100_000_000, 100_000_001, 0, 1, 2,
    ];

    private readonly IReadOnlyList<SafetensorsSpec> _specs;
    private readonly string _scratch;
    private readonly ConcurrentDictionary<int, string> _files = new();

    public SafetensorsTarget(string? scratchDirectory = null)
    {
        _specs = SafetensorsCorpus.Build();
        Corpus = [.. _specs.Select(s => s.ToBytes())];
        _scratch = scratchDirectory ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
    }

    public string Name => "safetensors";

    public IReadOnlyList<byte[]> Corpus { get; }

    public byte[] Generate(FuzzRandom random)
    {
        switch (random.Next(20))
        {
            case < 9:
                return ByteMutator.Mutate(random.Pick(Corpus), random, random.SmallCount(8), Corpus);
            case < 17:
                return MutateStructure(random).ToBytes();
            default:
                return ByteMutator.Mutate(MutateStructure(random).ToBytes(), random, random.SmallCount(4), Corpus);
        }
    }

    public void Execute(byte[] input)
    {
        // One scratch file per thread: a worker left behind on a hang must not share a file with its successor.
        var path = _files.GetOrAdd(Environment.CurrentManagedThreadId, id => Path.Combine(_scratch, $"swarm-fuzz-{Environment.ProcessId}-{id}.safetensors"));
        File.WriteAllBytes(path, input);
        using var file = SafetensorsFile.Open(path);
        _ = file.Tensors.Count + file.Metadata.Count + file.HeaderLength + file.ParameterCount;
        var model = file.LoadModel();
        if (model.Tensors.Count != file.Tensors.Count)
        {
            throw new InvalidOperationException("LoadModel returned a different number of tensors than the header lists");
        }

        file.VerifyValues();
        Span<float> window = stackalloc float[3];
        for (var t = 0; t < file.Tensors.Count; t++)
        {
            // Ranged reads as the merge engine makes them: the last few elements of each tensor.
            var count = (int)Math.Min(window.Length, file.Tensors[t].ElementCount);
            file.ReadF32(t, file.Tensors[t].ElementCount - count, window[..count]);
        }
    }

    public bool IsExpected(Exception exception) => exception is ModelFormatException;

    public void Dispose()
    {
        foreach (var path in _files.Values)
        {
            File.Delete(path);
        }
    }

    private SafetensorsSpec MutateStructure(FuzzRandom random)
    {
        var spec = random.Pick(_specs).Clone();
        var count = random.SmallCount(4);
        for (var i = 0; i < count; i++)
        {
            MutateOnce(spec, random);
        }

        return spec;
    }

    private static void MutateOnce(SafetensorsSpec spec, FuzzRandom random)
    {
        var tensor = spec.Tensors.Count > 0 ? random.Pick(spec.Tensors) : null;
        switch (random.Next(16))
        {
            case 0 when tensor is not null:
                // Shape bombs: element counts or byte sizes that overflow 64 bits, or that are huge but fit.
                tensor.Shape = random.Pick(ShapeBombs);
                if (random.OneIn(2))
                {
                    tensor.Offsets = random.Next(3) switch
                    {
                        0 => $"[{tensor.Begin},{unchecked(tensor.Begin + (long)ShapeBytes(tensor))}]",
                        1 => $"[0,{long.MaxValue}]",
                        _ => $"[{tensor.Begin},{tensor.Begin + (long)Math.Min(ShapeBytes(tensor), (ulong)(long.MaxValue - tensor.Begin))}]",
                    };
                }

                break;
            case 1 when tensor is not null:
                // Shapes of odd form: too many dimensions, non-integers, nesting.
                tensor.Shape = random.Next(5) switch
                {
                    0 => "[" + string.Join(",", Enumerable.Repeat("1", random.Choose(32, 33, 1000, 20000))) + "]",
                    1 => "[" + random.Pick(OddIntegers) + "]",
                    2 => "[2," + random.Pick(OddIntegers) + "]",
                    3 => "[[2],[3]]",
                    _ => random.Pick(OddIntegers),
                };
                break;
            case 2 when tensor is not null:
                {
                    // Offsets: reversed, overlapping the previous tensor, past the data, near 2^63, odd numbers.
                    var (b, e) = (tensor.Begin, tensor.End);
                    tensor.Offsets = random.Next(9) switch
                    {
                        0 => $"[{e},{b}]",
                        1 => $"[{Math.Max(0, b - random.Next(1, 8))},{e}]",
                        2 => $"[{b},{e + random.Next(1, 8)}]",
                        3 => $"[{b + spec.Data.Length},{e + spec.Data.Length}]",
                        4 => $"[{long.MaxValue - random.Next(0, 8)},{long.MaxValue}]",
                        5 => $"[{b}]",
                        6 => $"[{b},{e},{e}]",
                        7 => $"[{random.Pick(OddIntegers)},{e}]",
                        _ => $"[{b},{random.Pick(OddIntegers)}]",
                    };
                    break;
                }

            case 3 when tensor is not null:
                tensor.DType = random.OneIn(3) ? SafetensorsSpec.Quote(random.Choose("F32", "F16", "BF16")) : random.Pick(OddDTypes);
                break;
            case 4 when tensor is not null:
                // Names: empty, the metadata key, another tensor's, too long, escapes and lone surrogates.
                tensor.Name = random.Next(7) switch
                {
                    0 => "\"\"",
                    1 => "\"__metadata__\"",
                    2 => random.Pick(spec.Tensors).Name,
                    3 => SafetensorsSpec.Quote(new string('n', random.Choose(4096, 4097, 100_000))),
                    4 => "\"\\ud800x\"",
                    5 => "\"a\\u0000b\"",
                    _ => SafetensorsSpec.Quote(new string('\u00e9', 2049)),
                };
                break;
            case 5 when tensor is not null:
                // Fields missing, unknown or repeated.
                switch (random.Next(5))
                {
                    case 0: tensor.DType = null; break;
                    case 1: tensor.Shape = null; break;
                    case 2: tensor.Offsets = null; break;
                    case 3: tensor.Extra.Add("\"dtype\":\"F32\""); break;
                    default: tensor.Extra.Add("\"extra\":" + random.Pick(OddIntegers)); break;
                }

                break;
            case 6:
                // Metadata: values that are not strings, repeats, nesting, too many entries, long values.
                spec.Metadata ??= [];
                switch (random.Next(6))
                {
                    case 0: spec.Metadata.Add("\"k\":" + random.Pick(OddIntegers)); break;
                    case 1: spec.Metadata.Add("\"dup\":\"1\""); spec.Metadata.Add("\"dup\":\"2\""); break;
                    case 2: spec.Metadata.Add("\"n\":{\"a\":\"b\"}"); break;
                    case 3: spec.Metadata.AddRange(Enumerable.Range(0, random.Choose(10_000, 10_001)).Select(i => $"\"m{i}\":\"\"")); break;
                    case 4: spec.Metadata.Add("\"long\":" + SafetensorsSpec.Quote(new string('v', random.Next(1, 200_000)))); break;
                    default: spec.ExtraMembers.Add("\"__metadata__\":{}"); break;
                }

                break;
            case 7:
                {
                    // Deep nesting where a value belongs.
                    var depth = random.Choose(3, 5, 64, 1000, 100_000);
                    var nested = random.OneIn(2) ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                    if (tensor is not null && random.OneIn(2))
                    {
                        tensor.Shape = nested;
                    }
                    else
                    {
                        spec.ExtraMembers.Add("\"deep\":" + nested);
                    }

                    break;
                }

            case 8:
                spec.LengthPrefix = random.OneIn(2) ? random.Pick(LengthPrefixes) : (ulong)(spec.ToBytes().Length - 8 - spec.Data.Length + random.Next(-3, 4));
                break;
            case 9:
                spec.Padding = random.Choose("        ", "\t\n\r ", "x", "{}", "\0", ",", "\u00a0");
                break;
            case 10 when spec.Data.Length > 0:
                spec.Data = spec.Data[..random.Next(spec.Data.Length)];
                break;
            case 11:
                spec.Data = [.. spec.Data, .. new byte[random.Next(1, 64)]];
                break;
            case 12 when tensor is not null && tensor.End > tensor.Begin && tensor.End <= spec.Data.Length:
                {
                    // A value that is not finite in the tensor's dtype.
                    var data = spec.Data.ToArray();
                    var at = (int)tensor.Begin + (random.Next((int)((tensor.End - tensor.Begin) / tensor.ElementSize)) * tensor.ElementSize);
                    if (tensor.ElementSize == 4)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(at), random.Choose(float.NaN, float.PositiveInfinity, float.NegativeInfinity));
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at), random.Choose<ushort>(0x7C00, 0xFC00, 0x7E00, 0x7F80, 0xFF80, 0x7FC0, 0xFFFF));
                    }

                    spec.Data = data;
                    break;
                }

            case 13:
                {
                    // Many small valid tensors appended: the limits and the layout check at scale.
                    var n = random.Choose(100, 1000, 5000);
                    var data = new List<byte>(spec.Data);
                    for (var i = 0; i < n; i++)
                    {
                        spec.Tensors.Add(new TensorSpec
                        {
                            Name = SafetensorsSpec.Quote($"many.{i}"),
                            DType = "\"F16\"",
                            Shape = "[1]",
                            Offsets = $"[{data.Count},{data.Count + 2}]",
                            ElementSize = 2,
                            Begin = data.Count,
                            End = data.Count + 2,
                        });
                        data.AddRange([0x00, 0x3C]);
                    }

                    spec.Data = [.. data];
                    break;
                }

            case 14 when spec.Tensors.Count > 1:
                {
                    // Two tensors' ranges swapped or made equal: overlaps, gaps, a layout that no longer tiles.
                    var other = random.Pick(spec.Tensors);
                    if (random.OneIn(2))
                    {
                        (tensor!.Offsets, other.Offsets) = (other.Offsets, tensor.Offsets);
                    }
                    else
                    {
                        tensor!.Offsets = other.Offsets;
                    }

                    break;
                }

            default:
                // The top level: not an object, or a tensor entry that is not an object.
                if (tensor is not null && random.OneIn(2))
                {
                    tensor.Extra.Clear();
                    tensor.DType = random.Pick(OddIntegers);
                }
                else
                {
                    spec.ExtraMembers.Add(random.Choose("\"t\":[]", "\"t\":1", "\"t\":null", "\"t\":\"F32\"", "1", "\"t\""));
                }

                break;
        }
    }

    private static ulong ShapeBytes(TensorSpec tensor)
    {
        // The shape's byte size with 64-bit wrap-around, as a careless reader would compute it.
        ulong product = 1;
        foreach (var part in (tensor.Shape ?? "[]").Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            product = unchecked(product * (ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : 1));
        }

        return unchecked(product * (ulong)Math.Max(1, tensor.ElementSize));
    }
}
