using System.Text.Json;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Sessions;

namespace SwarmLearning.Node.Channel;

/// <summary>
/// Reads the channel's JSON requests strictly: HPE's parameter names, each value checked for its type and range, every
/// problem named in the words of <see cref="SessionOptions.Validate"/>, unknown names refused (a typo must not pass).
/// </summary>
internal static class ChannelRequests
{
    /// <summary>The channel protocol version this node speaks.</summary>
    public const int ApiVersion = 2;

    private static readonly string[] Parameters =
    [
        "syncFrequency", "minPeers", "trainingContract", "useAdaptiveSync", "checkinModelOnTrainEnd", "nodeWeightage",
        "mergeMethod", "totalEpochs", "mergeMomentum", "apiVersion",
    ];

    private static readonly string[] ProgressFields = ["loss", "metric", "epochsDone", "totalEpochs"];

    /// <summary>Parses <c>POST /v1/sessions</c>'s body: the options, or every problem with them.</summary>
    public static (SessionOptions? Options, IReadOnlyList<string> Errors) ParseSession(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, [$"the body must be a JSON object of swarm parameters, for example {{\"syncFrequency\": 128, \"minPeers\": 2}}, not {Kind(body)}"]);
        }

        // A version mismatch says nothing else: the other names may mean something different in that version.
        if (body.TryGetProperty("apiVersion", out var version) && version.ValueKind != JsonValueKind.Null)
        {
            var shown = version.ValueKind == JsonValueKind.Number ? version.GetRawText() : Raw(version);
            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != ApiVersion)
            {
                return (null, [$"Mismatch in the Swarm API version between the ML program ({shown}) and the SL node ({ApiVersion})"]);
            }
        }

        var errors = new List<string>();
        RefuseUnknown(body, Parameters, "parameter", errors);
        var options = new SessionOptions
        {
            SyncFrequency = Int(body, "syncFrequency", "an integer greater than 0", errors, required: true) ?? 0,
            MinPeers = Int(body, "minPeers", "an integer greater than 0", errors, required: true) ?? 0,
        };

        if (Present(body, "trainingContract", out var contract))
        {
            if (contract.ValueKind == JsonValueKind.String)
            {
                options = options with { TrainingContract = contract.GetString()! };
            }
            else
            {
                errors.Add($"trainingContract must name a training contract (HPE's default is {LedgerDefaults.HpeDefaultContract}), not {Raw(contract)}");
            }
        }

        if (Present(body, "useAdaptiveSync", out var adaptive))
        {
            if (adaptive.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                options = options with { UseAdaptiveSync = adaptive.GetBoolean() };
            }
            else
            {
                errors.Add($"useAdaptiveSync must be true or false, not {Raw(adaptive)}");
            }
        }

        if (Present(body, "checkinModelOnTrainEnd", out var checkin))
        {
            CheckinMode? mode = checkin.ValueKind != JsonValueKind.String ? null : checkin.GetString()!.Trim().ToLowerInvariant() switch
            {
                "snapshot" => CheckinMode.Snapshot,
                "active" => CheckinMode.Active,
                "inactive" => CheckinMode.Inactive,
                _ => null,
            };
            if (mode is { } m)
            {
                options = options with { CheckinModelOnTrainEnd = m };
            }
            else
            {
                errors.Add($"checkinModelOnTrainEnd must be snapshot, active or inactive, not {Raw(checkin)}");
            }
        }

        if (Int(body, "nodeWeightage", "an integer from 1 to 100", errors, required: false) is { } weightage)
        {
            options = options with { NodeWeightage = weightage };
        }

        if (Present(body, "mergeMethod", out var method))
        {
            if (method.ValueKind == JsonValueKind.String && MergeMethods.TryParse(method.GetString(), out var merge))
            {
                options = options with { MergeMethod = merge };
            }
            else
            {
                errors.Add($"mergeMethod must be one of {string.Join(", ", MergeMethods.All.Select(x => x.Name))}, not {Raw(method)}");
            }
        }

        if (Int(body, "totalEpochs", "0 (unknown) or more", errors, required: false) is { } epochs)
        {
            options = options with { TotalEpochs = epochs };
        }

        if (Present(body, "mergeMomentum", out var momentum))
        {
            if (momentum.ValueKind == JsonValueKind.Number && momentum.TryGetDouble(out var beta) && double.IsFinite(beta))
            {
                options = options with { MergeMomentum = beta };
            }
            else
            {
                errors.Add($"mergeMomentum must be a number at least 0 and below 1, not {Raw(momentum)}");
            }
        }

        // Range checks in SessionOptions' own words, for the values that had the right type.
        foreach (var problem in options.Validate())
        {
            var name = problem.Split(' ', 2)[0];
            if (!errors.Any(e => e.StartsWith(name + " ", StringComparison.Ordinal)))
            {
                errors.Add(problem);
            }
        }

        // In the order of HPE's signature, unknown names first, whatever order the checks found them in.
        errors = [.. errors.OrderBy(e => Array.IndexOf(Parameters, e.Split(' ', 2)[0]))];
        return errors.Count > 0 ? (null, errors) : (options, errors);
    }

    /// <summary>Parses <c>POST /v1/sessions/{id}/progress</c>'s body.</summary>
    public static (TrainingProgress? Progress, IReadOnlyList<string> Errors) ParseProgress(JsonElement body, int defaultTotalEpochs)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, [$"the body must be a JSON object, for example {{\"loss\": 0.41, \"metric\": 0.87, \"epochsDone\": 3, \"totalEpochs\": 10}}, not {Kind(body)}"]);
        }

        var errors = new List<string>();
        RefuseUnknown(body, ProgressFields, "field", errors);
        var loss = Number(body, "loss", errors);
        var metric = Number(body, "metric", errors);
        var done = Int(body, "epochsDone", "0 or more", errors, required: true);
        var total = Int(body, "totalEpochs", "0 (unknown) or more", errors, required: false) ?? defaultTotalEpochs;
        if (done is < 0)
        {
            errors.Add($"epochsDone must be 0 or more, not {done}");
        }

        if (total < 0)
        {
            errors.Add($"totalEpochs must be 0 (unknown) or more, not {total}");
        }

        return errors.Count > 0 ? (null, errors) : (new TrainingProgress(loss!.Value, metric!.Value, done!.Value, total), errors);
    }

    private static void RefuseUnknown(JsonElement body, string[] known, string what, List<string> errors)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                var near = known.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase));
                errors.Add(near is not null
                    ? $"unknown {what} '{property.Name}'; did you mean '{near}'?"
                    : $"unknown {what} '{property.Name}'; the {what}s are {string.Join(", ", known)}");
            }
        }
    }

    private static bool Present(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static int? Int(JsonElement body, string name, string expected, List<string> errors, bool required)
    {
        if (!Present(body, name, out var value))
        {
            if (required)
            {
                errors.Add($"{name} is required: it must be {expected}");
            }

            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i))
        {
            return i;
        }

        errors.Add($"{name} must be {expected}, not {Raw(value)}");
        return null;
    }

    private static double? Number(JsonElement body, string name, List<string> errors)
    {
        if (!Present(body, name, out var value))
        {
            errors.Add($"{name} is required: it must be a number");
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d))
        {
            return d;
        }

        errors.Add($"{name} must be a finite number, not {Raw(value)}");
        return null;
    }

    private static string Raw(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 60 ? text : text[..60] + "…";
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
