using System.Text.Json.Nodes;
using SwarmLearning.Operator.Profile;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Operator.Tasks;

/// <summary>
/// Reads a task definition written as HPE's YAML task file into the JSON the ledger stores: mappings, lists and text;
/// <c>~</c> (or an empty value) is null. Every scalar stays text, as HPE's schema types every leaf as a string.
/// </summary>
public static class TaskYaml
{
    /// <summary>The YAML document as JSON.</summary>
    /// <exception cref="SwarmException">It is not YAML.</exception>
    public static JsonNode? ToJson(string yaml)
    {
        var root = YamlFields.Parse(yaml, out var error);
        return error is not null ? throw new SwarmException($"the task definition is not YAML: {error}") : Convert(root);
    }

    private static JsonNode? Convert(YamlNode? node) => node switch
    {
        _ when YamlFields.IsNull(node) => null,
        YamlMappingNode m => new JsonObject(m.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value ?? string.Empty, Convert(p.Value)))),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(Convert)]),
        YamlScalarNode s => JsonValue.Create(s.Value ?? string.Empty),
        _ => null,
    };
}
