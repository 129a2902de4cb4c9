using System.Buffers.Binary;
using System.Globalization;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// Valid safetensors files built in code: every supported dtype, scalars, empty tensors, high rank, metadata or none,
/// header order unlike data order, escaped and non-ASCII names, padding, many small tensors.
/// </summary>
internal static class SafetensorsCorpus
{
    public static IReadOnlyList<SafetensorsSpec> Build()
    {
        var random = new Random(20240611);
        return
        [
            Make(random, [("weight", "F32", [2, 3])], ["\"format\":\"pt\""]),
            Make(random, [("a", "F16", [4]), ("b", "BF16", [2, 2]), ("c", "F32", []), ("d", "F16", [1, 1, 1])], ["\"format\":\"pt\"", "\"swarm.round\":\"12\"", "\"note\":\"\""]),
            Make(random, [("empty", "F32", [0]), ("also.empty", "BF16", [3, 0]), ("x", "F32", [5]), ("last.empty", "F16", [0, 7])], null),
            Make(random, [], null),
            Make(random, [], []),
            Make(random, [.. Enumerable.Range(0, 40).Select(i => ($"layers.{i}.w\u00e9\"q\\/", i % 3 == 0 ? "F16" : i % 3 == 1 ? "BF16" : "F32", new long[] { 1 + (i % 4), 2 }))], ["\"k\u00fcr\":\"v\\n\\u0041\""], padding: 8),
            Make(random, [("fc.weight", "F32", [64, 64]), ("fc.bias", "F32", [64])], ["\"format\":\"pt\""], padding: 8),
            Make(random, [("conv.weight", "F32", [8, 1, 3, 3]), ("conv.bias", "F16", [8]), ("bn.running_mean", "BF16", [8])], ["\"a\":\"1\"", "\"b\":\"2\""], shuffleHeader: true, metadataPosition: 2),
            Make(random, [("r8", "F32", [1, 2, 1, 2, 1, 2, 1, 2])], null),
        ];
    }

    private static SafetensorsSpec Make(Random random, (string Name, string DType, long[] Shape)[] tensors, string[]? metadata, int padding = 0, bool shuffleHeader = false, int metadataPosition = 0)
    {
        var spec = new SafetensorsSpec { Metadata = metadata is null ? null : [.. metadata], MetadataPosition = metadataPosition };
        var data = new List<byte>();
        Span<byte> bytes = stackalloc byte[4];
        foreach (var (name, dtype, shape) in tensors)
        {
            var size = dtype == "F32" ? 4 : 2;
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var begin = data.Count;
            for (var i = 0; i < count; i++)
            {
                var value = (float)((random.NextDouble() * 4) - 2);
                switch (dtype)
                {
                    case "F32":
                        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                        break;
                    case "F16":
                        BinaryPrimitives.WriteHalfLittleEndian(bytes, (Half)value);
                        break;
                    default:
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                        break;
                }

                data.AddRange(bytes[..size].ToArray());
            }

            spec.Tensors.Add(new TensorSpec
            {
                Name = SafetensorsSpec.Quote(name),
                DType = SafetensorsSpec.Quote(dtype),
                Shape = "[" + string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]",
                Offsets = $"[{begin},{data.Count}]",
                ElementSize = size,
                Begin = begin,
                End = data.Count,
            });
        }

        if (shuffleHeader)
        {
            spec.Tensors.Reverse();
        }

        spec.Data = [.. data];
        if (padding > 0)
        {
            var length = spec.ToBytes().Length - 8 - spec.Data.Length;
            spec.Padding = new string(' ', (padding - (length % padding)) % padding);
        }

        return spec;
    }
}
