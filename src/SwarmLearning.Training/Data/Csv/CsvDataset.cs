namespace SwarmLearning.Training.Data.Csv;

/// <summary>
/// Loads tabular data from CSV: <c>train.csv</c> and <c>test.csv</c> in a directory, or one file. The first row names
/// the columns; the label column (<c>label</c> unless told otherwise, here or by <c>dataset.json</c>) holds the
/// class, every other column is a feature: a finite number in invariant culture. Labels that are all non-negative
/// integers are class numbers (class count: largest + 1, at least 2); otherwise they are names, and the classes are
/// the training file's distinct names in ordinal order, numbered from 0 — a test label the training file lacks is an
/// error. A <c>dataset.json</c> with class names fixes the classes instead. Samples are <see cref="SampleShape.Tabular"/>.
/// </summary>
public static class CsvDataset
{
    /// <summary>The training file's name in a CSV data directory.</summary>
    public const string TrainFile = "train.csv";

    /// <summary>The test file's name in a CSV data directory.</summary>
    public const string TestFile = "test.csv";

    /// <summary>The label column's name unless told otherwise.</summary>
    public const string DefaultLabelColumn = "label";

    /// <summary>Loads <c>train.csv</c> and <c>test.csv</c> of <paramref name="directory"/>.</summary>
    /// <param name="directory">The data directory.</param>
    /// <param name="labelColumn">The label column; default: <c>dataset.json</c>'s, else <c>label</c>.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed, or the files disagree.</exception>
    public static TrainTestData Load(string directory, string? labelColumn = null)
    {
        var source = CsvSource.Open(directory, labelColumn);
        return new TrainTestData(source.ToDataset(source.Train, source.TrainLabels), source.ToDataset(source.Test, source.TestLabels));
    }

    /// <summary>Loads one CSV file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="labelColumn">The label column; default <c>label</c>.</param>
    /// <param name="classNames">The classes by label, when names must map to fixed numbers (as another file's do).</param>
    /// <exception cref="DataFormatException">The file is missing or malformed.</exception>
    public static Dataset LoadFile(string path, string? labelColumn = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, "the file does not exist");
        }

        var table = CsvTable.Read(path, labelColumn ?? DefaultLabelColumn);
        var classes = CsvLabels.Resolve([table], classNames, classSource: "the given class names");
        return new Dataset(table.Features, classes.Labels[0], SampleShape.Tabular(table.FeatureCount), classes.Count, path, classes.Names);
    }
}

/// <summary>A CSV data directory's two tables, checked against each other, with labels numbered.</summary>
internal sealed class CsvSource
{
    private CsvSource(string directory, CsvTable train, CsvTable test, CsvLabels classes, DatasetManifest? manifest)
    {
        Directory = directory;
        Train = train;
        Test = test;
        TrainLabels = classes.Labels[0];
        TestLabels = classes.Labels[1];
        ClassCount = classes.Count;
        ClassNames = classes.Names;
        Manifest = manifest;
    }

    public string Directory { get; }

    public CsvTable Train { get; }

    public CsvTable Test { get; }

    public int[] TrainLabels { get; }

    public int[] TestLabels { get; }

    public int ClassCount { get; }

    public IReadOnlyList<string>? ClassNames { get; }

    public DatasetManifest? Manifest { get; }

    public static CsvSource Open(string directory, string? labelColumn)
    {
        var trainPath = Path.Combine(directory, CsvDataset.TrainFile);
        var testPath = Path.Combine(directory, CsvDataset.TestFile);
        var missing = new[] { trainPath, testPath }.Where(p => !File.Exists(p)).Select(Path.GetFileName).ToList();
        if (missing.Count > 0)
        {
            throw new DataFormatException(directory, $"missing {string.Join(" and ", missing)}; a CSV data directory holds {CsvDataset.TrainFile} and {CsvDataset.TestFile}, each with a header row");
        }

        var manifest = DatasetManifest.ReadFrom(directory);
        var column = labelColumn ?? manifest?.LabelColumn ?? CsvDataset.DefaultLabelColumn;
        var train = CsvTable.Read(trainPath, column);
        var test = CsvTable.Read(testPath, column);
        if (!train.Columns.SequenceEqual(test.Columns, StringComparer.Ordinal))
        {
            throw new DataFormatException(testPath, $"its columns ({string.Join(", ", test.Columns)}) differ from those of {trainPath} ({string.Join(", ", train.Columns)}); both files need the same columns in the same order");
        }

        var classes = CsvLabels.Resolve([train, test], manifest?.ClassNames, classSource: Path.Combine(directory, DatasetManifest.FileName));
        return new CsvSource(directory, train, test, classes, manifest);
    }

    public Dataset ToDataset(CsvTable table, int[] labels) =>
        new(table.Features, labels, SampleShape.Tabular(table.FeatureCount), ClassCount, table.Source, ClassNames);
}

/// <summary>Numbers the labels of one or more tables consistently (see <see cref="CsvDataset"/> for the rules).</summary>
internal sealed class CsvLabels
{
    private CsvLabels(int[][] labels, int count, IReadOnlyList<string>? names)
    {
        Labels = labels;
        Count = count;
        Names = names;
    }

    /// <summary>The labels of each table, in the order given.</summary>
    public int[][] Labels { get; }

    public int Count { get; }

    public IReadOnlyList<string>? Names { get; }

    /// <summary>
    /// Numbers the labels. With class names given: labels that are all names map by name, labels that are all class
    /// numbers map by number. Without: class numbers as they are, else the first table's distinct names in ordinal order.
    /// </summary>
    public static CsvLabels Resolve(CsvTable[] tables, IReadOnlyList<string>? classNames, string classSource)
    {
        var allNumbers = tables.All(t => t.LabelTexts.All(IsClassNumber));
        if (classNames is not null)
        {
            var byName = Index(classNames);
            if (tables.All(t => t.LabelTexts.All(byName.ContainsKey)) || !allNumbers)
            {
                return ByName(tables, classNames, byName, classSource, given: true);
            }
        }

        if (allNumbers)
        {
            var numbers = tables.Select(t => t.LabelTexts.Select(s => int.TryParse(s, out var v) && v < Idx.IdxDataset.MaxClasses ? v : -1).ToArray()).ToArray();
            for (var t = 0; t < tables.Length; t++)
            {
                var bad = Array.FindIndex(numbers[t], v => v < 0 || (classNames is not null && v >= classNames.Count));
                if (bad >= 0)
                {
                    throw tables[t].LabelError(bad, classNames is null
                        ? $"label {tables[t].LabelTexts[bad]} in column '{tables[t].LabelColumn}' is too large; class numbers go up to {Idx.IdxDataset.MaxClasses - 1}"
                        : $"label {tables[t].LabelTexts[bad]} in column '{tables[t].LabelColumn}' is not a class: {classSource} names {classNames.Count} classes (0 to {classNames.Count - 1})");
                }
            }

            var count = classNames?.Count ?? Math.Max(2, numbers.Max(n => n.Max()) + 1);
            return new CsvLabels(numbers, count, classNames);
        }

        IReadOnlyList<string> names = [.. tables[0].LabelTexts.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        if (names.Count < 2)
        {
            throw new DataFormatException(tables[0].Source, $"every row has the label '{names[0]}' (column '{tables[0].LabelColumn}'); a classifier needs at least two classes");
        }

        return ByName(tables, names, Index(names), classSource, given: false);
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> names)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < names.Count; c++)
        {
            index[names[c]] = c;
        }

        return index;
    }

    private static CsvLabels ByName(CsvTable[] tables, IReadOnlyList<string> names, Dictionary<string, int> index, string classSource, bool given)
    {
        var labels = new int[tables.Length][];
        for (var t = 0; t < tables.Length; t++)
        {
            labels[t] = new int[tables[t].Count];
            for (var i = 0; i < labels[t].Length; i++)
            {
                if (!index.TryGetValue(tables[t].LabelTexts[i], out labels[t][i]))
                {
                    var known = string.Join(", ", names.Take(20).Select(n => $"'{n}'")) + (names.Count > 20 ? ", …" : string.Empty);
                    throw tables[t].LabelError(i, given
                        ? $"label '{tables[t].LabelTexts[i]}' in column '{tables[t].LabelColumn}' is not one of the classes {classSource} names: {known}"
                        : $"label '{tables[t].LabelTexts[i]}' in column '{tables[t].LabelColumn}' does not occur in {tables[0].Source}, whose classes are {known}; every class must appear in the training data");
                }
            }
        }

        return new CsvLabels(labels, names.Count, names);
    }

    private static bool IsClassNumber(string text) => text.Length is > 0 and <= 9 && text.All(char.IsAsciiDigit);
}
