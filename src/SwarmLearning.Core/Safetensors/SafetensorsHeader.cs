using System.Text;
using System.Text.Json;
using SwarmLearning.Tensors;

namespace SwarmLearning.Safetensors;

/// <summary>One tensor entry of a safetensors header: its description and its byte range in the data section.</summary>
internal sealed record SafetensorsEntry(TensorInfo Info, long Begin, long End);

/// <summary>
/// Parses and validates a safetensors JSON header. The parse is strict: a well-formed JSON object whose members are
/// <c>__metadata__</c> (string to string) and tensor entries with exactly <c>dtype</c>, <c>shape</c> and
/// <c>data_offsets</c>; no duplicate names; dtypes F32, F16 or BF16; shapes whose byte size equals the range;
/// ranges that, sorted by offset, tile the data section with no gap, overlap or trailing byte.
/// </summary>
internal static class SafetensorsHeader
{
    private static readonly string[] OtherSafetensorsDTypes =
        ["F64", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64"];

    /// <summary>Parses the header; entries come back sorted by data offset.</summary>
    public static (IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> json, long dataLength, string file, SafetensorsLimits limits)
    {
        var entries = new List<SafetensorsEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            AllowTrailingCommas = false,
            CommentHandling = JsonCommentHandling.Disallow,
            MaxDepth = 4,
        });

        try
        {
            Expect(ref reader, JsonTokenType.StartObject, file, null, "the header must be a JSON object");
            var sawMetadata = false;
            while (Next(ref reader, file) != JsonTokenType.EndObject)
            {
                var key = ReadPropertyName(ref reader, file, limits);
                if (key == "__metadata__")
                {
                    if (sawMetadata)
                    {
                        throw new ModelFormatException(file, null, "'__metadata__' appears twice in the header");
                    }

                    sawMetadata = true;
                    ReadMetadata(ref reader, file, metadata, limits);
                    continue;
                }

                if (!names.Add(key))
                {
                    throw new ModelFormatException(file, key, "the name appears twice in the header");
                }

                if (entries.Count >= limits.MaxTensors)
                {
                    throw new ModelFormatException(file, null, $"the header lists more than {limits.MaxTensors} tensors");
                }

                entries.Add(ReadEntry(ref reader, key, dataLength, file, limits));
            }

            if (reader.Read())
            {
                throw new ModelFormatException(file, null, $"unexpected content after the header's JSON object at byte {reader.TokenStartIndex}");
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(file, null, $"the header is not well-formed JSON (byte {e.BytePositionInLine}): {FirstSentence(e.Message)}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new ModelFormatException(file, null, $"the header is not well-formed JSON: {FirstSentence(e.Message)}", e);
        }

        CheckLayout(entries, dataLength, file);
        return (entries, metadata);
    }

    private static SafetensorsEntry ReadEntry(ref Utf8JsonReader reader, string name, long dataLength, string file, SafetensorsLimits limits)
    {
        Expect(ref reader, JsonTokenType.StartObject, file, name, "the tensor entry must be a JSON object");
        string? dtypeName = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (Next(ref reader, file) != JsonTokenType.EndObject)
        {
            var field = reader.GetString()!;
            switch (field)
            {
                case "dtype" when dtypeName is null:
                    Expect(ref reader, JsonTokenType.String, file, name, "'dtype' must be a string");
                    dtypeName = reader.GetString()!;
                    break;
                case "shape" when shape is null:
                    shape = ReadIntegerArray(ref reader, file, name, "shape", limits.MaxRank);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadIntegerArray(ref reader, file, name, "data_offsets", 2);
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw new ModelFormatException(file, name, $"field '{field}' appears twice");
                default:
                    throw new ModelFormatException(file, name, $"unknown field '{field}' (a tensor entry has dtype, shape and data_offsets)");
            }
        }

        if (dtypeName is null || shape is null || offsets is null)
        {
            var missing = dtypeName is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw new ModelFormatException(file, name, $"the entry has no '{missing}'");
        }

        if (!TensorDTypes.TryParseSafetensorsName(dtypeName, out var dtype))
        {
            var problem = Array.IndexOf(OtherSafetensorsDTypes, dtypeName) >= 0
                ? $"dtype {dtypeName} is not supported: SwarmLearning models hold F32, F16 or BF16 tensors"
                : $"unknown dtype '{dtypeName}' (expected F32, F16 or BF16)";
            throw new ModelFormatException(file, name, problem);
        }

        if (offsets.Length != 2)
        {
            throw new ModelFormatException(file, name, $"'data_offsets' must hold exactly two integers [begin, end], not {offsets.Length}");
        }

        var (begin, end) = (offsets[0], offsets[1]);
        var shapeText = "[" + string.Join(", ", shape) + "]";
        if (!TensorShape.TryCountElements(shape, out var count) || count > long.MaxValue / dtype.SizeInBytes())
        {
            throw new ModelFormatException(file, name, $"shape {shapeText} is too large: its byte size overflows a 64-bit integer");
        }

        var byteSize = count * dtype.SizeInBytes();
        if (end < begin)
        {
            throw new ModelFormatException(file, name, $"data_offsets [{begin}, {end}] end before they begin");
        }

        if (end > dataLength)
        {
            throw new ModelFormatException(file, name, $"data_offsets [{begin}, {end}] reach beyond the data section ({dataLength} bytes); the file may be truncated");
        }

        if (end - begin != byteSize)
        {
            throw new ModelFormatException(file, name, $"shape {shapeText} of {dtypeName} needs {byteSize} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }

        return new SafetensorsEntry(new TensorInfo(name, dtype, new TensorShape(shape)), begin, end);
    }

    private static void CheckLayout(List<SafetensorsEntry> entries, long dataLength, string file)
    {
        entries.Sort(static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long position = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < position)
            {
                throw new ModelFormatException(file, e.Info.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Info.Name}' [{previous.Begin}, {previous.End}]");
            }

            if (e.Begin > position)
            {
                throw new ModelFormatException(file, e.Info.Name, $"data_offsets [{e.Begin}, {e.End}] leave {e.Begin - position} unreferenced bytes before the tensor (at offset {position})");
            }

            position = e.End;
            previous = e;
        }

        if (position != dataLength)
        {
            throw new ModelFormatException(file, null, $"{dataLength - position} trailing bytes after the last tensor (data section is {dataLength} bytes, tensors end at {position})");
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string file, Dictionary<string, string> metadata, SafetensorsLimits limits)
    {
        Expect(ref reader, JsonTokenType.StartObject, file, null, "'__metadata__' must be an object of strings");
        while (Next(ref reader, file) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            Expect(ref reader, JsonTokenType.String, file, null, $"'__metadata__' value of '{key}' must be a string");
            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw new ModelFormatException(file, null, $"'__metadata__' key '{key}' appears twice");
            }

            if (metadata.Count > limits.MaxMetadataEntries)
            {
                throw new ModelFormatException(file, null, $"'__metadata__' has more than {limits.MaxMetadataEntries} entries");
            }
        }
    }

    private static long[] ReadIntegerArray(ref Utf8JsonReader reader, string file, string tensor, string field, int maxLength)
    {
        Expect(ref reader, JsonTokenType.StartArray, file, tensor, $"'{field}' must be an array of integers");
        var values = new List<long>();
        while (Next(ref reader, file) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
            {
                throw new ModelFormatException(file, tensor, $"'{field}' must hold non-negative integers, found {Describe(ref reader)}");
            }

            if (values.Count >= maxLength)
            {
                throw new ModelFormatException(file, tensor, $"'{field}' has more than {maxLength} entries");
            }

            values.Add(value);
        }

        return [.. values];
    }

    private static string ReadPropertyName(ref Utf8JsonReader reader, string file, SafetensorsLimits limits)
    {
        var name = reader.GetString()!;
        if (name.Length == 0)
        {
            throw new ModelFormatException(file, null, "a tensor has an empty name");
        }

        if (Encoding.UTF8.GetByteCount(name) > limits.MaxNameBytes)
        {
            throw new ModelFormatException(file, null, $"a tensor name is longer than {limits.MaxNameBytes} bytes: '{name[..Math.Min(40, name.Length)]}…'");
        }

        return name;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader, string file)
    {
        if (!reader.Read())
        {
            throw new ModelFormatException(file, null, "the header's JSON ends early");
        }

        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string file, string? tensor, string problem)
    {
        if (Next(ref reader, file) != type)
        {
            throw new ModelFormatException(file, tensor, $"{problem}, found {Describe(ref reader)}");
        }
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => "number " + Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.String => "a string",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString(),
    };

    private static string FirstSentence(string message)
    {
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot > 0 ? message[..dot] : message.TrimEnd('.');
    }
}
