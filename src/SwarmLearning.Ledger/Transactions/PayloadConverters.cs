using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Transactions;

// Converters for payload fields whose JSON form is valid but whose content the contracts could not use. Each refuses
// with a JsonException, which the contracts report as a malformed payload naming the field's path; without them, a
// hostile payload reached the contracts as a null, an undecodable certificate or an unprintable string and failed
// there with an exception that was not a refusal (found by fuzzing, docs/fuzzing.md).

/// <summary>A list of strings with no null in it (fingerprints, administrators, contributors).</summary>
internal sealed class StringListConverter : JsonConverter<IReadOnlyList<string>>
{
    /// <summary>The most entries a list field may hold; far above any swarm's membership.</summary>
    public const int MaxEntries = 10_000;

    /// <inheritdoc/>
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"must be an array of strings, not {Describe(reader.TokenType)}");
        }

        var values = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"entry {values.Count} must be a string, not {Describe(reader.TokenType)}");
            }

            if (values.Count >= MaxEntries)
            {
                throw new JsonException($"has more than {MaxEntries} entries");
            }

            values.Add(reader.GetString()!);
        }

        return values;
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var s in value)
        {
            writer.WriteStringValue(s);
        }

        writer.WriteEndArray();
    }

    internal static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.Null => "null",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        _ => token.ToString(),
    };
}

/// <summary>A list of base64 DER certificates (a genesis block's CAs), each of which must decode.</summary>
internal sealed class CertificateListConverter : JsonConverter<IReadOnlyList<string>>
{
    private readonly StringListConverter _strings = new();

    /// <inheritdoc/>
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var values = _strings.Read(ref reader, typeToConvert, options);
        for (var i = 0; i < values.Count; i++)
        {
            CertificateConverter.Check(values[i], $"entry {i}: ");
        }

        return values;
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options) => _strings.Write(writer, value, options);
}

/// <summary>
/// A base64 DER X.509 certificate that decodes: its validity, names (each relative name), swarm role, extensions and
/// public key can all be read, so the contracts' checks (fingerprint, chain, role, key) answer with a verdict instead
/// of a decoding exception.
/// </summary>
internal sealed class CertificateConverter : JsonConverter<string>
{
    /// <inheritdoc/>
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"must be a base64 DER certificate (a string), not {StringListConverter.Describe(reader.TokenType)}");
        }

        var text = reader.GetString()!;
        Check(text, "");
        return text;
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }

    internal static void Check(string base64, string prefix)
    {
        byte[] der;
        try
        {
            der = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new JsonException($"{prefix}a certificate is base64 DER; this is not valid base64", e);
        }

        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            CertificateDecoding.DecodeAll(certificate);
        }
        catch (CryptographicException e)
        {
            throw new JsonException($"{prefix}the certificate does not decode as DER X.509: {e.Message.TrimEnd('.')}", e);
        }
    }
}

/// <summary>A JSON value kept as it is (the task body), whose every string and name can be read back as text.</summary>
internal sealed class JsonBodyConverter : JsonConverter<JsonElement>
{
    /// <inheritdoc/>
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var element = JsonElement.ParseValue(ref reader);
        try
        {
            CheckStrings(element);
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException($"holds a string that is not valid text (an unpaired surrogate escape): {e.Message.TrimEnd('.')}", e);
        }

        return element;
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        value.WriteTo(writer);
    }

    private static void CheckStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    CheckStrings(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    CheckStrings(item);
                }

                break;
        }
    }
}
