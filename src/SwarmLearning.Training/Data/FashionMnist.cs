namespace SwarmLearning.Training.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 training and 10,000 test grey images of 28×28 pixels in ten
/// classes of clothing, in IDX files. Debian ships it in the package <c>dataset-fashion-mnist</c>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package <see cref="DebianPackage"/> installs the four IDX files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Debian package that holds the dataset.</summary>
    public const string DebianPackage = "dataset-fashion-mnist";

    /// <summary>The name that stands for <see cref="DebianDirectory"/> wherever a data directory is asked for.</summary>
    public const string Alias = "fashion-mnist";

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>What to tell a user whose copy of the dataset is missing.</summary>
    internal static string InstallHint => $"install the Debian package {DebianPackage} (apt-get install {DebianPackage}) or pass --data <dir>";

    /// <summary>True when <paramref name="directory"/> is the Debian package's directory.</summary>
    internal static bool IsDebianDirectory(string directory) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)), DebianDirectory, StringComparison.Ordinal);

    /// <summary>
    /// Whether an IDX directory without a <c>dataset.json</c> is taken to be Fashion-MNIST and given its class names:
    /// ten classes of 1×28×28 images, in the Debian directory or a directory whose name contains "fashion". (MNIST's
    /// digits have the same shape, so shape alone would name digits "Trouser".)
    /// </summary>
    internal static bool Matches(string directory, SampleShape shape, int classCount) =>
        classCount == 10 && shape == new SampleShape(1, 28, 28)
        && (IsDebianDirectory(directory)
            || Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))).Contains("fashion", StringComparison.OrdinalIgnoreCase));
}
