using System.Globalization;
using System.Text.Json;

namespace SwarmLearning.Operator.Tasks;

/// <summary>
/// HPE's SWOP task schema (<c>SWOP-task-schema.yaml</c>): the top-level fields, and one body per task type, with the
/// required fields, types, enumerations, lists' lengths and the 160-character limit of every free string. Errors name
/// the field's path, e.g. <c>Body.SharedContent[1].MType</c>.
/// </summary>
public static class TaskSchema
{
    /// <summary>The longest free string HPE's chain stores.</summary>
    public const int MaxString = 160;

    /// <summary>The task types.</summary>
    public static IReadOnlyList<string> TaskTypes { get; } = ["RUN_SWARM", "MAKE_SWARM_USER_CONTENT", "MAKE_USER_CONTAINER", "PULL_IMAGE"];

    private static readonly string[] TopFields = ["Name", "TaskType", "Author", "Prereq", "Outcome", "Body"];

    /// <summary>Validates a whole task definition (HPE's YAML file, as JSON): the top-level fields and the body.</summary>
    public static IReadOnlyList<string> ValidateDefinition(JsonElement definition)
    {
        var v = new Checker();
        if (definition.ValueKind != JsonValueKind.Object)
        {
            v.Error("(task)", $"must be a mapping of {string.Join(", ", TopFields)}");
            return v.Errors;
        }

        v.Only(definition, "", TopFields);
        v.Text(definition, "Name", "");
        var type = v.Enum(definition, "TaskType", "", TaskTypes);
        v.Text(definition, "Author", "");
        v.Text(definition, "Prereq", "");
        v.Text(definition, "Outcome", "");
        if (!definition.TryGetProperty("Body", out var body))
        {
            v.Error("Body", "required");
        }
        else if (type is not null)
        {
            ValidateBody(v, type, body, "Body");
        }

        return v.Errors;
    }

    /// <summary>Validates the body of a task of <paramref name="taskType"/>; paths start with <c>Body</c>.</summary>
    public static IReadOnlyList<string> ValidateBody(string taskType, JsonElement body)
    {
        ArgumentNullException.ThrowIfNull(taskType);
        var v = new Checker();
        if (!TaskTypes.Contains(taskType))
        {
            v.Error("TaskType", $"\"{taskType}\" is not one of {string.Join(", ", TaskTypes)}");
            return v.Errors;
        }

        ValidateBody(v, taskType, body, "Body");
        return v.Errors;
    }

    private static void ValidateBody(Checker v, string taskType, JsonElement body, string path)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            v.Error(path, $"must be a mapping, not {Kind(body)}");
            return;
        }

        switch (taskType)
        {
            case "RUN_SWARM":
                v.Only(body, path, ["Command", "Entrypoint", "WorkingDir", "Envvars", "PrivateContent", "SharedContent"]);
                v.Text(body, "Command", path);
                v.Text(body, "Entrypoint", path, nullable: true);
                v.Text(body, "WorkingDir", path);
                v.EnvVars(body, "Envvars", path);
                v.Text(body, "PrivateContent", path, nullable: true);
                v.List(body, "SharedContent", path, 1, 10, nullable: true, (item, at) =>
                {
                    v.Object(item, at, ["Src", "Tgt", "MType"], o =>
                    {
                        v.Text(o, "Src", at);
                        v.Text(o, "Tgt", at);
                        v.Enum(o, "MType", at, ["BIND", "VOLUME"]);
                    });
                });
                break;
            case "MAKE_SWARM_USER_CONTENT":
                v.Only(body, path, ["ContentType", "OpsList"]);
                v.Enum(body, "ContentType", path, ["BUILDCONTENT", "SWARMCONTENT"]);
                v.List(body, "OpsList", path, 1, 20, nullable: false, (item, at) =>
                {
                    v.Object(item, at, ["Operation", "Target", "Options"], o =>
                    {
                        v.Enum(o, "Operation", at, ["DOWNLOAD", "EXTRACT"]);
                        v.Text(o, "Target", at);
                        v.List(o, "Options", at, 1, 10, nullable: true, (option, oat) =>
                            v.Object(option, oat, ["Out"], oo => v.Text(oo, "Out", oat)), required: false);
                    });
                });
                break;
            case "MAKE_USER_CONTAINER":
                v.Only(body, path, ["BuildContext", "BuildSteps", "BuildType"]);
                v.Text(body, "BuildContext", path, nullable: true);
                v.List(body, "BuildSteps", path, 1, 80, nullable: false, (item, at) => v.Scalar(item, at));
                v.Enum(body, "BuildType", path, ["INLINE", "REMOTE"]);
                break;
            default: // PULL_IMAGE
                v.Only(body, path, ["Tag", "RepoName", "OrgAndReg", "Auth"]);
                v.Text(body, "Tag", path);
                v.Text(body, "RepoName", path);
                v.Text(body, "OrgAndReg", path);
                if (body.TryGetProperty("Auth", out var auth) && auth.ValueKind == JsonValueKind.Object)
                {
                    v.Object(auth, $"{path}.Auth", ["Username", "Password"], a =>
                    {
                        v.Text(a, "Username", $"{path}.Auth");
                        v.Text(a, "Password", $"{path}.Auth");
                    });
                }
                else
                {
                    v.Text(body, "Auth", path, nullable: true);
                }

                break;
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "a mapping",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null (~)",
    };

    /// <summary>Collects errors, each with its field path.</summary>
    private sealed class Checker
    {
        public List<string> Errors { get; } = [];

        public void Error(string path, string message) => Errors.Add($"{path}: {message}");

        public void Only(JsonElement o, string path, IReadOnlyCollection<string> fields)
        {
            foreach (var p in o.EnumerateObject().Where(p => !fields.Contains(p.Name)))
            {
                Error(Join(path, p.Name), $"is not a field here; expected {string.Join(", ", fields)}");
            }
        }

        public void Object(JsonElement e, string path, IReadOnlyCollection<string> fields, Action<JsonElement> check)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"must be a mapping of {string.Join(", ", fields)}, not {Kind(e)}");
                return;
            }

            Only(e, path, fields);
            check(e);
        }

        public void Text(JsonElement o, string field, string path, bool nullable = false)
        {
            var at = Join(path, field);
            if (!o.TryGetProperty(field, out var e))
            {
                Error(at, nullable ? "required (~ for none)" : "required");
            }
            else if (e.ValueKind == JsonValueKind.Null)
            {
                if (!nullable)
                {
                    Error(at, "must not be null (~)");
                }
            }
            else
            {
                Scalar(e, at);
            }
        }

        /// <summary>A free string: at most 160 characters.</summary>
        public void Scalar(JsonElement e, string at)
        {
            if (e.ValueKind != JsonValueKind.String)
            {
                Error(at, $"must be a string, not {Kind(e)}");
            }
            else if (e.GetString()!.Length > MaxString)
            {
                Error(at, string.Create(CultureInfo.InvariantCulture, $"is {e.GetString()!.Length} characters; the limit is {MaxString}"));
            }
        }

        public string? Enum(JsonElement o, string field, string path, IReadOnlyCollection<string> values)
        {
            var at = Join(path, field);
            if (!o.TryGetProperty(field, out var e))
            {
                Error(at, $"required: one of {string.Join(", ", values)}");
                return null;
            }

            if (e.ValueKind != JsonValueKind.String || !values.Contains(e.GetString()))
            {
                Error(at, $"{(e.ValueKind == JsonValueKind.String ? $"\"{e.GetString()}\"" : Kind(e))} is not one of {string.Join(", ", values)}");
                return null;
            }

            return e.GetString();
        }

        public void List(JsonElement o, string field, string path, int min, int max, bool nullable, Action<JsonElement, string> item, bool required = true)
        {
            var at = Join(path, field);
            if (!o.TryGetProperty(field, out var e))
            {
                if (required)
                {
                    Error(at, nullable ? "required (~ for none)" : "required");
                }

                return;
            }

            if (e.ValueKind == JsonValueKind.Null && nullable)
            {
                return;
            }

            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(at, $"must be a list, not {Kind(e)}");
                return;
            }

            var count = e.GetArrayLength();
            if (count < min || count > max)
            {
                Error(at, string.Create(CultureInfo.InvariantCulture, $"has {count} entries; HPE's schema allows {min} to {max}"));
            }

            var k = 0;
            foreach (var x in e.EnumerateArray())
            {
                item(x, string.Create(CultureInfo.InvariantCulture, $"{at}[{k++}]"));
            }
        }

        /// <summary>HPE's <c>Envvars</c>: ~, a list of one-key mappings (<c>- NAME: value</c>) or one mapping; values are scalars.</summary>
        public void EnvVars(JsonElement o, string field, string path)
        {
            var at = Join(path, field);
            if (!o.TryGetProperty(field, out var e))
            {
                Error(at, "required (~ for none)");
                return;
            }

            switch (e.ValueKind)
            {
                case JsonValueKind.Null:
                    return;
                case JsonValueKind.Object:
                    Pairs(e, at);
                    return;
                case JsonValueKind.Array:
                    var k = 0;
                    foreach (var x in e.EnumerateArray())
                    {
                        var xat = string.Create(CultureInfo.InvariantCulture, $"{at}[{k++}]");
                        if (x.ValueKind != JsonValueKind.Object)
                        {
                            Error(xat, $"must be NAME: value, not {Kind(x)}");
                        }
                        else
                        {
                            Pairs(x, xat);
                        }
                    }

                    return;
                default:
                    Error(at, $"must be a list of NAME: value, not {Kind(e)}");
                    return;
            }
        }

        private void Pairs(JsonElement o, string at)
        {
            foreach (var p in o.EnumerateObject())
            {
                if (p.Name.Length == 0 || p.Name.Contains('=', StringComparison.Ordinal) || p.Name.Any(char.IsWhiteSpace))
                {
                    Error(at, $"\"{p.Name}\" is not an environment variable name");
                }
                else if (p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                {
                    Error(Join(at, p.Name), $"must be a scalar value, not {Kind(p.Value)}");
                }
                else if (p.Value.ValueKind == JsonValueKind.String)
                {
                    Scalar(p.Value, Join(at, p.Name));
                }
            }
        }

        private static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";
    }
}
