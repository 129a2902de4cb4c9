namespace SwarmLearning.Safetensors;

/// <summary>
/// Bounds applied to untrusted safetensors headers so that a hostile file cannot make a reader allocate or loop
/// without limit. The defaults fit any real model.
/// </summary>
public sealed record SafetensorsLimits
{
    /// <summary>The defaults.</summary>
    public static SafetensorsLimits Default { get; } = new();

    /// <summary>Largest JSON header accepted, in bytes (the reference implementation's limit: 100 MB).</summary>
    public long MaxHeaderBytes { get; init; } = 100_000_000;

    /// <summary>Largest number of tensors in one file.</summary>
    public int MaxTensors { get; init; } = 1_000_000;

    /// <summary>Largest tensor rank.</summary>
    public int MaxRank { get; init; } = 32;

    /// <summary>Longest tensor name, in UTF-8 bytes.</summary>
    public int MaxNameBytes { get; init; } = 4096;

    /// <summary>Most metadata entries.</summary>
    public int MaxMetadataEntries { get; init; } = 10_000;
}
