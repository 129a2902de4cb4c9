using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Cli.Ctl;

/// <summary>The JSON of ctl's results, the same for <c>--json</c> (<see cref="CliIo.WriteJson"/>), script JSON lines and REST: camelCase, enums as strings, nulls left out.</summary>
internal static class CtlJson
{
    public static JsonSerializerOptions Compact { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
