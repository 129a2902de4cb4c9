using SwarmLearning.Training.Data.Csv;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Training.Data;

/// <summary>The layouts a data directory can have.</summary>
public enum DataLayout
{
    /// <summary>Four IDX files, as MNIST and Fashion-MNIST ship: see <see cref="IdxDataset"/>.</summary>
    Idx,

    /// <summary><c>train.csv</c> and <c>test.csv</c>: see <see cref="CsvDataset"/>.</summary>
    Csv,
}

/// <summary>
/// The one way to load a node's data directory: it recognises the layout (IDX files or CSV files) and loads the
/// training and test sets. <see cref="FashionMnist.Alias"/> stands for the Debian package's Fashion-MNIST directory.
/// </summary>
public static class DataDirectory
{
    /// <summary>
    /// The directory a user means: <see cref="FashionMnist.DebianDirectory"/> for the alias <c>fashion-mnist</c>
    /// (write <c>./fashion-mnist</c> for a directory of that name), otherwise the path itself.
    /// </summary>
    public static string ResolvePath(string pathOrAlias)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrAlias);
        return string.Equals(pathOrAlias, FashionMnist.Alias, StringComparison.Ordinal) ? FashionMnist.DebianDirectory : pathOrAlias;
    }

    /// <summary>Which layout <paramref name="directory"/> has.</summary>
    /// <exception cref="DataFormatException">It does not exist, is not a directory, or holds neither layout or both.</exception>
    public static DataLayout Detect(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DataFormatException(directory, MissingDirectoryMessage(directory));
        }

        var hasIdx = IdxDataset.FileNames.Any(n => IdxDataset.Find(directory, n) is not null);
        var hasCsv = File.Exists(Path.Combine(directory, CsvDataset.TrainFile)) || File.Exists(Path.Combine(directory, CsvDataset.TestFile));
        return (hasIdx, hasCsv) switch
        {
            (true, false) => DataLayout.Idx,
            (false, true) => DataLayout.Csv,
            (true, true) => throw new DataFormatException(directory, "holds both IDX and CSV data files; a data directory holds one layout, so move one set elsewhere"),
            _ => throw new DataFormatException(
                directory,
                $"holds no data: looked for {Expected}; {(FashionMnist.IsDebianDirectory(directory) ? FashionMnist.InstallHint : "put the data there or give another directory")}"),
        };
    }

    private static string Expected =>
        $"IDX files ({string.Join(", ", IdxDataset.FileNames.Select(n => n + "[.gz]"))}) or CSV files ({CsvDataset.TrainFile}, {CsvDataset.TestFile})";

    /// <summary>What to say when <paramref name="directory"/> does not exist.</summary>
    internal static string MissingDirectoryMessage(string directory)
    {
        if (File.Exists(directory))
        {
            return $"this is a file, not a data directory; give the directory that holds {Expected}";
        }

        var hint = FashionMnist.IsDebianDirectory(directory) ? FashionMnist.InstallHint : $"give a directory that holds {Expected}";
        return $"the data directory does not exist; {hint}";
    }

    /// <summary>What to add when files of an IDX directory are missing.</summary>
    internal static string MissingFilesHint(string directory) => FashionMnist.IsDebianDirectory(directory)
        ? FashionMnist.InstallHint
        : $"an IDX data directory holds {string.Join(", ", IdxDataset.FileNames.Select(n => n + "[.gz]"))}";

    /// <summary>Loads the training and test sets of a data directory of either layout.</summary>
    /// <param name="directory">The data directory, or <c>fashion-mnist</c> (see <see cref="ResolvePath"/>).</param>
    /// <param name="labelColumn">CSV only: the label column (default: <c>dataset.json</c>'s, else <c>label</c>).</param>
    /// <exception cref="DataFormatException">The directory is missing, holds no data, or a file is invalid.</exception>
    public static TrainTestData Load(string directory, string? labelColumn = null)
    {
        var path = ResolvePath(directory);
        return Detect(path) switch
        {
            DataLayout.Idx => IdxDataset.Load(path),
            _ => CsvDataset.Load(path, labelColumn),
        };
    }
}
