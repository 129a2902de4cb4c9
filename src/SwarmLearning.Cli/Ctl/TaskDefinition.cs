using System.Text.Json;
using System.Text.Json.Nodes;
using SwarmLearning.Ledger.Transactions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Cli.Ctl;

/// <summary>
/// Reads a task definition in HPE's YAML schema (<c>Name</c>, <c>TaskType</c>, <c>Author</c>, <c>Prereq</c>,
/// <c>Outcome</c>, <c>Body</c>; no other top-level keys) into the ledger's <c>task.create</c> payload. The body keeps
/// its structure; scalars stay strings as HPE stores them, and <c>~</c> (or <c>null</c>, or nothing) is null.
/// The ledger checks the task type and the lengths.
/// </summary>
internal static class TaskDefinition
{
    private static readonly string[] Keys = ["Name", "TaskType", "Author", "Prereq", "Outcome", "Body"];

    public static TaskPayload Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new SwarmException($"task definition {path} does not exist; give the YAML file's path (relative paths start from the current directory, which CD changes)");
        }

        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new SwarmException($"{path}:{e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}", e);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new SwarmException($"{path}: a task definition is one YAML mapping with the keys {string.Join(", ", Keys)}");
        }

        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value) in root.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (!Keys.Contains(name, StringComparer.Ordinal))
            {
                throw new SwarmException($"{path}:{key.Start.Line}: '{name}' is not a key of a task definition; the keys are {string.Join(", ", Keys)}");
            }

            fields[name] = value;
        }

        string Text(string key) => fields.TryGetValue(key, out var node) && node is YamlScalarNode { Value: { Length: > 0 } text }
            ? text
            : throw new SwarmException($"{path}: '{key}' is missing or empty; a task definition needs {string.Join(", ", Keys)}");

        if (!fields.TryGetValue("Body", out var body) || body is not YamlMappingNode)
        {
            throw new SwarmException($"{path}: 'Body' must be a mapping (for RUN_SWARM: Command, Entrypoint, WorkingDir, Envvars, PrivateContent, SharedContent)");
        }

        using var json = JsonDocument.Parse(ToJson(body)!.ToJsonString());
        return new TaskPayload
        {
            Name = Text("Name"),
            TaskType = Text("TaskType"),
            Author = Text("Author"),
            Prereq = Text("Prereq"),
            Outcome = Text("Outcome"),
            Body = json.RootElement.Clone(),
        };
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => throw new SwarmException($"YAML line {node.Start.Line}: aliases and other node kinds are not supported in a task definition"),
    };
}
