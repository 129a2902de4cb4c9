using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Training.Data.Partitioning;

/// <summary>
/// <c>partition.json</c>: how a node's data directory was cut from its source, written last into every node
/// directory by <see cref="DataSplitter"/>.
/// </summary>
public sealed record PartitionManifest
{
    /// <summary>The manifest's file name in a node directory.</summary>
    public const string FileName = "partition.json";

    /// <summary>The current <see cref="Version"/>.</summary>
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The manifest format's version.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The source data directory, as a full path.</summary>
    public required string Source { get; init; }

    /// <summary>The layout of the source and of this directory.</summary>
    public required DataLayout Layout { get; init; }

    /// <summary>The partition method's name: <c>iid</c>, <c>dirichlet</c> or <c>biased</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The method's parameters.</summary>
    public required PartitionParameters Parameters { get; init; }

    /// <summary>The seed.</summary>
    public required ulong Seed { get; init; }

    /// <summary>This node's number, from 1.</summary>
    public required int Node { get; init; }

    /// <summary>How many nodes the source was split among.</summary>
    public required int Nodes { get; init; }

    /// <summary>Training samples in this directory.</summary>
    public required int Samples { get; init; }

    /// <summary>The class names by label.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>This node's training samples per class.</summary>
    public required IReadOnlyList<int> ClassHistogram { get; init; }

    /// <summary>Test samples: the source's whole test set, the same on every node.</summary>
    public required int TestSamples { get; init; }

    /// <summary>Reads <c>partition.json</c> from a node directory, or returns null when there is none.</summary>
    /// <exception cref="DataFormatException">The file is not valid.</exception>
    public static PartitionManifest? ReadFrom(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<PartitionManifest>(File.ReadAllBytes(path), Json)
                ?? throw new DataFormatException(path, "holds null; expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"not a valid partition manifest: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot read the file: {e.Message}", e);
        }
    }

    /// <summary>Writes this manifest as <c>partition.json</c> in <paramref name="directory"/>.</summary>
    public void WriteTo(string directory) =>
        File.WriteAllBytes(Path.Combine(directory, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));
}

/// <summary>A partition method's parameters; those the method does not use are null.</summary>
public sealed record PartitionParameters
{
    /// <summary><c>dirichlet</c>: the concentration α.</summary>
    public double? Alpha { get; init; }

    /// <summary><c>biased</c>: how much larger a node's share of a favoured class is (3).</summary>
    public int? BiasFactor { get; init; }

    /// <summary><c>biased</c>: the classes this node favours.</summary>
    public IReadOnlyList<int>? FavouredClasses { get; init; }
}
