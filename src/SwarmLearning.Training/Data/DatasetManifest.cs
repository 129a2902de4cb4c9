using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Training.Data;

/// <summary>
/// The optional <c>dataset.json</c> of a data directory: the dataset's name, its class names (which fix the number
/// and order of classes, so every node of a swarm numbers them alike even when its own share lacks a class) and, for
/// CSV, the label column. <c>swarm data split</c> writes one into every node directory.
/// </summary>
public sealed record DatasetManifest
{
    /// <summary>The manifest's file name in a data directory.</summary>
    public const string FileName = "dataset.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>A short name of the dataset, such as <c>fashion-mnist</c>.</summary>
    public string? Name { get; init; }

    /// <summary>The class names by label; their count is the class count.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>CSV only: the label column's name (default <c>label</c>).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Reads <c>dataset.json</c> from <paramref name="directory"/>, or returns null when there is none.</summary>
    /// <exception cref="DataFormatException">The file is not valid.</exception>
    public static DatasetManifest? ReadFrom(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        DatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<DatasetManifest>(File.ReadAllBytes(path), Json);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}: " : string.Empty;
            throw new DataFormatException(path, $"{where}not a valid dataset manifest ({e.Message}); expected {{\"name\": …, \"classNames\": [\"…\", …], \"labelColumn\": …}}", e);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot read the file: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new DataFormatException(path, "holds null; expected a JSON object");
        }

        if (manifest.ClassNames is { } names)
        {
            if (names.Count < 2)
            {
                throw new DataFormatException(path, $"classNames lists {names.Count} class(es); a dataset has at least two");
            }

            var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (names.Any(string.IsNullOrEmpty) || duplicate is not null)
            {
                throw new DataFormatException(path, duplicate is null ? "classNames has an empty name" : $"classNames lists '{duplicate.Key}' twice; class names must be unique");
            }
        }

        if (manifest.LabelColumn is { Length: 0 })
        {
            throw new DataFormatException(path, "labelColumn is empty; name the label column or leave the field out");
        }

        return manifest;
    }

    /// <summary>Writes this manifest as <c>dataset.json</c> in <paramref name="directory"/>.</summary>
    public void WriteTo(string directory) =>
        File.WriteAllBytes(Path.Combine(directory, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));
}
