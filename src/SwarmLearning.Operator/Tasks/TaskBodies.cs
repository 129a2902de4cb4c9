using System.Globalization;
using System.Text.Json;

namespace SwarmLearning.Operator.Tasks;

/// <summary>A RUN_SWARM body (validated by <see cref="TaskSchema"/> first).</summary>
internal sealed record RunSwarmBody(
    string Command,
    string? Entrypoint,
    string WorkingDir,
    IReadOnlyDictionary<string, string> EnvVars,
    string? PrivateContent,
    IReadOnlyList<SharedContent> SharedContent)
{
    public static RunSwarmBody Parse(JsonElement body) => new(
        body.GetProperty(nameof(Command)).GetString()!,
        OptionalString(body, "Entrypoint"),
        body.GetProperty(nameof(WorkingDir)).GetString()!,
        EnvVarsOf(body.GetProperty("Envvars")),
        OptionalString(body, "PrivateContent"),
        body.GetProperty(nameof(SharedContent)) is { ValueKind: JsonValueKind.Array } shared
            ? [.. shared.EnumerateArray().Select(s => new SharedContent(s.GetProperty("Src").GetString()!, s.GetProperty("Tgt").GetString()!, s.GetProperty("MType").GetString()!))]
            : []);

    /// <summary>HPE's Envvars (a list of one-key mappings, or one mapping) as a dictionary; later entries win.</summary>
    public static Dictionary<string, string> EnvVarsOf(JsonElement e)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        IEnumerable<JsonElement> objects = e.ValueKind switch
        {
            JsonValueKind.Object => [e],
            JsonValueKind.Array => e.EnumerateArray(),
            _ => [],
        };
        foreach (var p in objects.SelectMany(o => o.EnumerateObject()))
        {
            result[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Null => string.Empty,
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => p.Value.GetRawText(),
            };
        }

        return result;
    }

    internal static string? OptionalString(JsonElement o, string name) =>
        o.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
}

/// <summary>One SharedContent entry: a host path (BIND) or an operator volume (VOLUME) seen by the ML program at Tgt.</summary>
internal sealed record SharedContent(string Src, string Tgt, string MType);

/// <summary>A MAKE_SWARM_USER_CONTENT body.</summary>
internal sealed record UserContentBody(string ContentType, IReadOnlyList<ContentOperation> Operations)
{
    public static UserContentBody Parse(JsonElement body) => new(
        body.GetProperty(nameof(ContentType)).GetString()!,
        [.. body.GetProperty("OpsList").EnumerateArray().Select((op, k) => new ContentOperation(
            k,
            op.GetProperty("Operation").GetString()!,
            op.GetProperty("Target").GetString()!,
            op.TryGetProperty("Options", out var options) && options.ValueKind == JsonValueKind.Array
                ? options.EnumerateArray().Select(o => o.GetProperty("Out").GetString()!).FirstOrDefault()
                : null))]);
}

/// <summary>One OpsList entry: DOWNLOAD or EXTRACT <see cref="Target"/>, to <see cref="Out"/> when given.</summary>
internal sealed record ContentOperation(int Index, string Operation, string Target, string? Out)
{
    public string Path => string.Create(CultureInfo.InvariantCulture, $"Body.OpsList[{Index}]");
}
