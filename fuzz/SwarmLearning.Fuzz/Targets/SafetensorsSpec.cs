using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// A safetensors file as the structure-aware mutations see it: tensor entries and metadata as raw JSON text (so a
/// mutation can put anything there, valid or not), the data section, an optional forced header length and padding.
/// </summary>
internal sealed class SafetensorsSpec
{
    public List<TensorSpec> Tensors { get; } = [];

    /// <summary>Raw <c>"key":value</c> members of <c>__metadata__</c>; null for no metadata object.</summary>
    public List<string>? Metadata { get; set; }

    /// <summary>Raw members added to the header object (unknown keys, a second metadata, nesting).</summary>
    public List<string> ExtraMembers { get; } = [];

    /// <summary>Where the metadata goes among the tensor entries.</summary>
    public int MetadataPosition { get; set; }

    public byte[] Data { get; set; } = [];

    /// <summary>The 8-byte header length to write instead of the true one.</summary>
    public ulong? LengthPrefix { get; set; }

    /// <summary>What follows the JSON object inside the header (the reference writer pads with spaces).</summary>
    public string Padding { get; set; } = "";

    public SafetensorsSpec Clone()
    {
        var copy = new SafetensorsSpec
        {
            Metadata = Metadata is null ? null : [.. Metadata],
            MetadataPosition = MetadataPosition,
            Data = Data,
            LengthPrefix = LengthPrefix,
            Padding = Padding,
        };
        copy.Tensors.AddRange(Tensors.Select(t => t.Clone()));
        copy.ExtraMembers.AddRange(ExtraMembers);
        return copy;
    }

    public static string Quote(string s) => JsonSerializer.Serialize(s);

    public byte[] ToBytes()
    {
        var members = new List<string>(Tensors.Count + 2);
        members.AddRange(Tensors.Select(t => t.ToJson()));
        if (Metadata is not null)
        {
            members.Insert(Math.Clamp(MetadataPosition, 0, members.Count), "\"__metadata__\":{" + string.Join(",", Metadata) + "}");
        }

        members.AddRange(ExtraMembers);
        var header = Encoding.UTF8.GetBytes("{" + string.Join(",", members) + "}" + Padding);
        var bytes = new byte[8 + header.Length + Data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, LengthPrefix ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        Data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }
}

/// <summary>One tensor entry, each field as raw JSON text (null leaves the field out).</summary>
internal sealed class TensorSpec
{
    public required string Name { get; set; }

    public string? DType { get; set; }

    public string? Shape { get; set; }

    public string? Offsets { get; set; }

    /// <summary>Dtype size, for mutations that keep the byte size consistent.</summary>
    public int ElementSize { get; set; }

    public long Begin { get; set; }

    public long End { get; set; }

    public List<string> Extra { get; } = [];

    public TensorSpec Clone()
    {
        var copy = new TensorSpec { Name = Name, DType = DType, Shape = Shape, Offsets = Offsets, ElementSize = ElementSize, Begin = Begin, End = End };
        copy.Extra.AddRange(Extra);
        return copy;
    }

    public string ToJson()
    {
        var fields = new List<string>(3 + Extra.Count);
        if (DType is not null)
        {
            fields.Add("\"dtype\":" + DType);
        }

        if (Shape is not null)
        {
            fields.Add("\"shape\":" + Shape);
        }

        if (Offsets is not null)
        {
            fields.Add("\"data_offsets\":" + Offsets);
        }

        fields.AddRange(Extra);
        return Name + ":{" + string.Join(",", fields) + "}";
    }
}
