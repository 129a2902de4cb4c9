using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SwarmLearning.Fuzz.Harness;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// Structure-aware mutations of a JSON document (the transaction payloads): a value replaced by a boundary or
/// wrong-typed value, a member removed, added, renamed or repeated, an array grown, deep nesting. The result is text,
/// so it may be anything the mutation makes, including JSON a serializer would never write.
/// </summary>
internal static class JsonMutator
{
    private const string RawMarker = "\u0001raw";

    private static readonly string[] Values =
    [
        "null", "true", "false", "0", "-1", "1", "1.5", "-0", "1e308", "-1e308", "1e400", "4.9e-324", "2147483647", "2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616", "\"\"", "\"NaN\"", "\"Infinity\"",
        "\"\\u0000\"", "\"\\ud800\"", "[]", "{}", "[null]", "[\"\"]", "[1]", "{\"a\":null}", "\"" + new string('a', 64) + "\"",
        "\"" + new string('A', 64) + "\"", "\"" + new string('0', 64) + "\"", "\"AB:CD\"", "\"====\"", "\"MIIB\"", "\"snapshot\"", "\"inactive\"",
        "\"RUN_SWARM\"", "\"ROOTTASK\"", "\"sn\"", "\"sl\"", "\"swci\"", "\"swop\"", "\"running\"", "\"completed\"", "\"failed\"",
        "\"defaultbb.cqdb.sml.hpe\"", "\"defaulttaskbb.taskdb.sml.hpe\"", "\"mean\"",
    ];

    private static readonly string[] Names =
    [
        "contract", "round", "weight", "minPeers", "makeMeAdmin", "modelHash", "size", "contributors", "mergeMethod", "name", "member",
        "reason", "role", "certificate", "host", "apiPort", "peerPort", "filePort", "runner", "task", "peers", "all", "target", "state",
        "message", "mode", "loss", "metric", "epochsDone", "totalEpochs", "body", "taskType", "author", "prereq", "outcome", "swarm",
        "authorities", "administrators", "orderer", "defaults", "fullQuorumWaitSeconds", "heartbeatIntervalSeconds", "memberTimeoutSeconds",
        "mergeTimeoutSeconds", "defaultContract", "defaultTaskRunner", "Contract", "$type", "$id", "$ref", "__proto__", "",
    ];

    public static byte[] Mutate(byte[] json, FuzzRandom random)
    {
        var raws = new List<string>();
        string text;
        try
        {
            var root = JsonNode.Parse(json);
            var count = random.SmallCount(3);
            for (var i = 0; i < count; i++)
            {
                root = MutateOnce(root, random, raws);
            }

            text = root?.ToJsonString() ?? "null";
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // Not JSON any more, or JSON with a repeated member (an earlier mutation): JsonNode cannot edit it.
            return json;
        }

        for (var i = 0; i < raws.Count; i++)
        {
            text = text.Replace(JsonSerializer.Serialize(RawMarker + i), raws[i], StringComparison.Ordinal);
        }

        return Encoding.UTF8.GetBytes(text);
    }

    private static JsonNode? MutateOnce(JsonNode? root, FuzzRandom random, List<string> raws)
    {
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        if (nodes.Count == 0)
        {
            return JsonNode.Parse(random.Pick(Values));
        }

        var node = random.Pick(nodes);
        switch (random.Next(9))
        {
            case < 3:
                return Replace(root, node, Raw(random.Pick(Values), raws));
            case 3 when node is JsonObject o && o.Count > 0:
                o.Remove(o.ElementAt(random.Next(o.Count)).Key);
                return root;
            case 4 when node is JsonObject o:
                o[random.Pick(Names) + (random.OneIn(4) ? "x" : "")] = Raw(random.Pick(Values), raws);
                return root;
            case 5 when node is JsonObject o && o.Count > 0:
                {
                    // The same member twice: the text keeps both, the deserializer must refuse or pick one.
                    var (key, value) = o.ElementAt(random.Next(o.Count));
                    var repeat = random.OneIn(2) ? value?.ToJsonString() ?? "null" : random.Pick(Values);
                    o.Remove(key);
                    o[key] = Raw((value?.ToJsonString() ?? "null") + "," + JsonSerializer.Serialize(key) + ":" + repeat, raws);
                    return root;
                }

            case 6 when node is JsonArray a:
                {
                    var n = random.Choose(1, 2, 100, 10_000);
                    for (var i = 0; i < n; i++)
                    {
                        a.Add(random.OneIn(2) ? null : Raw(random.Pick(Values), raws));
                    }

                    return root;
                }

            case 7:
                {
                    var depth = random.Choose(31, 32, 33, 64, 1000, 50_000);
                    var nested = random.OneIn(2) ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                    return Replace(root, node, Raw(nested, raws));
                }

            default:
                return Replace(root, node, Raw(JsonSerializer.Serialize(new string(random.Choose('a', 'é', '0', ' '), random.Choose(41, 161, 1025, 65_537, 200_000))), raws));
        }
    }

    private static JsonValue Raw(string text, List<string> raws)
    {
        raws.Add(text);
        return JsonValue.Create(RawMarker + (raws.Count - 1));
    }

    private static JsonNode? Replace(JsonNode? root, JsonNode node, JsonNode replacement)
    {
        switch (node.Parent)
        {
            case null:
                return replacement;
            case JsonObject parent:
                parent[node.GetPropertyName()] = replacement;
                return root;
            case JsonArray parent:
                parent[node.GetElementIndex()] = replacement;
                return root;
            default:
                return root;
        }
    }

    private static void Collect(JsonNode? node, List<JsonNode> nodes)
    {
        if (node is null)
        {
            return;
        }

        nodes.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o.ToList())
                {
                    Collect(child, nodes);
                }

                break;
            case JsonArray a:
                foreach (var child in a.ToList())
                {
                    Collect(child, nodes);
                }

                break;
        }
    }
}
