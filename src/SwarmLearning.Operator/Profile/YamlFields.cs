using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Operator.Profile;

/// <summary>
/// Reads fields out of a YAML document while collecting every problem with the field's path and line
/// (<c>nodes[1].privatedata.src (line 14): required</c>), so a user fixes a profile in one pass.
/// </summary>
internal sealed class YamlFields
{
    private readonly List<string> _errors = [];
    private readonly List<string> _ignored = [];

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Fields HPE defines for containers, which processes have no use for (logged once at start).</summary>
    public IReadOnlyList<string> Ignored => _ignored;

    public static YamlNode? Parse(string text, out string? error)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            error = null;
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            error = $"line {e.Start.Line}: {e.Message}";
            return null;
        }
    }

    public void Error(string path, YamlNode? node, string message) =>
        _errors.Add(node is null ? $"{path}: {message}" : $"{path} (line {node.Start.Line}): {message}");

    public void Ignore(string path) => _ignored.Add(path);

    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode s && s.Style == ScalarStyle.Plain && s.Value is null or "" or "~" or "null");

    /// <summary>The mapping at <paramref name="path"/>, or null (and an error) when it is something else.</summary>
    public YamlMappingNode? Mapping(YamlNode? node, string path, bool required = true)
    {
        if (IsNull(node))
        {
            if (required)
            {
                Error(path, node, "required");
            }

            return null;
        }

        if (node is YamlMappingNode m)
        {
            return m;
        }

        Error(path, node, $"must be a mapping (key: value lines), not {Describe(node!)}");
        return null;
    }

    public static YamlNode? Child(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    /// <summary>Refuses keys outside <paramref name="known"/>; keys in <paramref name="ignored"/> are noted, not refused.</summary>
    public void OnlyKeys(YamlMappingNode? map, string path, IReadOnlyCollection<string> known, IReadOnlyCollection<string>? ignored = null)
    {
        if (map is null)
        {
            return;
        }

        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            var at = path.Length == 0 ? name : $"{path}.{name}";
            if (ignored is not null && ignored.Contains(name))
            {
                Ignore(at);
            }
            else if (!known.Contains(name))
            {
                Error(at, key, $"is not a field here; expected one of {string.Join(", ", known.Concat(ignored ?? []))}");
            }
        }
    }

    public string? Text(YamlMappingNode? map, string key, string path, bool required = true, int max = 4096)
    {
        var node = Child(map, key);
        var at = Join(path, key);
        if (IsNull(node))
        {
            if (required && map is not null)
            {
                Error(at, node ?? map, "required");
            }

            return null;
        }

        if (node is not YamlScalarNode s)
        {
            Error(at, node, $"must be a text value, not {Describe(node!)}");
            return null;
        }

        var value = s.Value ?? string.Empty;
        if (value.Length > max)
        {
            Error(at, node, $"is {value.Length} characters; the limit is {max}");
            return null;
        }

        return value;
    }

    public int? Integer(YamlMappingNode? map, string key, string path, int min, int max, bool required = true)
    {
        var text = Text(map, key, path, required);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(Join(path, key), Child(map, key), $"\"{text}\" is not a whole number from {min} to {max}");
            return null;
        }

        return value;
    }

    /// <summary>
    /// Environment variables, in HPE's form (a list of one-key mappings, <c>- SL_LOG_LEVEL: INFO</c>) or as one mapping;
    /// <c>~</c> is none.
    /// </summary>
    public Dictionary<string, string> EnvVars(YamlMappingNode? map, string key, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var node = Child(map, key);
        var at = Join(path, key);
        if (IsNull(node))
        {
            return result;
        }

        IEnumerable<(YamlNode Key, YamlNode Value, string Path)> pairs = node switch
        {
            YamlMappingNode m => m.Children.Select(p => (p.Key, p.Value, at)),
            YamlSequenceNode seq => seq.Children.SelectMany((item, i) => item is YamlMappingNode m
                ? m.Children.Select(p => (p.Key, p.Value, $"{at}[{i}]"))
                : [(item, item, $"{at}[{i}]")]),
            _ => [(node!, node!, at)],
        };
        foreach (var (k, v, p) in pairs)
        {
            if (ReferenceEquals(k, v))
            {
                Error(p, k, "must be NAME: VALUE");
                continue;
            }

            var name = (k as YamlScalarNode)?.Value;
            if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
            {
                Error(p, k, $"\"{name}\" is not an environment variable name");
                continue;
            }

            if (v is not YamlScalarNode value)
            {
                Error($"{p}.{name}", v, $"must be a text value, not {Describe(v)}");
                continue;
            }

            result[name] = IsNull(v) ? string.Empty : value.Value ?? string.Empty;
        }

        return result;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a text value",
    };
}
