using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Serialization;

/// <summary>The JSON settings of the SN API, shared by servers and clients: camelCase, enums as strings, fingerprints as hex.</summary>
public static class LedgerJson
{
    /// <summary>The options.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

            // The API answers JSON, never HTML: names and messages stay readable ('sn1', not \u0027sn1\u0027).
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new FingerprintJsonConverter(), new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>Writes a fingerprint as 64 lowercase hex digits, also as a dictionary key.</summary>
public sealed class FingerprintJsonConverter : JsonConverter<Fingerprint>
{
    /// <inheritdoc/>
    public override Fingerprint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Fingerprint.TryParse(reader.GetString(), out var f) ? f : throw new JsonException("a fingerprint is 64 hex digits");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Fingerprint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }

    /// <inheritdoc/>
    public override Fingerprint ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Read(ref reader, typeToConvert, options);

    /// <inheritdoc/>
    public override void WriteAsPropertyName(Utf8JsonWriter writer, Fingerprint value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.ToString());
    }
}
