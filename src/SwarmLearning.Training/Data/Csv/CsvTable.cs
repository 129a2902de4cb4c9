using System.Globalization;
using System.Text;

namespace SwarmLearning.Training.Data.Csv;

/// <summary>
/// One CSV file parsed and checked: a header of unique column names, one of them the label column; every other
/// column a finite number in every row; every row as many fields as the header. Keeps the file's bytes and each
/// record's byte range, so a subset of rows can be written again exactly as they were.
/// </summary>
internal sealed class CsvTable
{
    private CsvTable(string source, byte[] bytes, string[] columns, int labelIndex, int headerEnd, string lineEnding, CsvRecord[] records, float[] features, string[] labelTexts, CsvField[] labelFields, CsvParser parser)
    {
        Source = source;
        Bytes = bytes;
        Columns = columns;
        LabelIndex = labelIndex;
        HeaderEnd = headerEnd;
        LineEnding = lineEnding;
        Records = records;
        Features = features;
        LabelTexts = labelTexts;
        LabelFields = labelFields;
        Parser = parser;
    }

    public string Source { get; }

    /// <summary>The file's bytes.</summary>
    public byte[] Bytes { get; }

    public string[] Columns { get; }

    public int LabelIndex { get; }

    public string LabelColumn => Columns[LabelIndex];

    public int FeatureCount => Columns.Length - 1;

    /// <summary>Where the header line ends (its line ending excluded); bytes [0, HeaderEnd) are the header, byte-order mark included.</summary>
    public int HeaderEnd { get; }

    /// <summary>The header's line ending, used after every record written from this table.</summary>
    public string LineEnding { get; }

    public CsvRecord[] Records { get; }

    public int Count => Records.Length;

    /// <summary>Row-major features: every column but the label, in header order.</summary>
    public float[] Features { get; }

    /// <summary>Each row's label as written (unquoted, trimmed).</summary>
    public string[] LabelTexts { get; }

    public CsvField[] LabelFields { get; }

    private CsvParser Parser { get; }

    /// <summary>Reads and checks a CSV file.</summary>
    /// <exception cref="DataFormatException">The file is missing, empty or malformed.</exception>
    public static CsvTable Read(string path, string labelColumn)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot read the file: {e.Message}", e);
        }

        return Parse(bytes, path, labelColumn);
    }

    public static CsvTable Parse(byte[] bytes, string source, string labelColumn)
    {
        var parser = new CsvParser(bytes, source);
        var fields = new List<CsvField>();
        if (parser.AtEndIgnoringBlankLines() || !parser.Next(fields, out var header))
        {
            throw new DataFormatException(source, $"the file is empty; a CSV data file has a header row naming the columns (one of them '{labelColumn}') and one row per sample");
        }

        var columns = fields.Select(f => parser.Text(f).Trim()).ToArray();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < columns.Length; j++)
        {
            if (columns[j].Length == 0)
            {
                throw new DataFormatException(source, 1, parser.ColumnOf(fields[j].LineStart, fields[j].Offset), $"column {j + 1} of the header has no name; the first row must name every column");
            }

            if (!seen.TryAdd(columns[j], j))
            {
                throw new DataFormatException(source, 1, parser.ColumnOf(fields[j].LineStart, fields[j].Offset), $"columns {seen[columns[j]] + 1} and {j + 1} are both named '{columns[j]}'; column names must be unique");
            }
        }

        if (!seen.TryGetValue(labelColumn, out var labelIndex))
        {
            throw new DataFormatException(source, $"the header has no column named '{labelColumn}' (its columns: {string.Join(", ", columns)}); name the label column '{labelColumn}' or say which column holds the labels (--label-column)");
        }

        if (columns.Length < 2)
        {
            throw new DataFormatException(source, $"the header names only the label column '{labelColumn}'; a data file needs at least one feature column besides it");
        }

        var records = new List<CsvRecord>();
        var labelTexts = new List<string>();
        var labelFields = new List<CsvField>();
        var featureCount = columns.Length - 1;
        var features = new List<float>(Math.Max(16, bytes.Length / 4));
        while (parser.Next(fields, out var record))
        {
            if (record.Start == record.End)
            {
                if (parser.AtEndIgnoringBlankLines())
                {
                    break;
                }

                throw new DataFormatException(source, record.Line, 1, "an empty line between rows; remove it (only empty lines at the end of the file are allowed)");
            }

            if (fields.Count != columns.Length)
            {
                throw new DataFormatException(source, record.Line, 1, $"the row has {fields.Count} field(s), but the header has {columns.Length} columns; every row needs one value per column (quote a value that holds a comma)");
            }

            for (var j = 0; j < fields.Count; j++)
            {
                if (j == labelIndex)
                {
                    labelTexts.Add(parser.Text(fields[j]).Trim());
                    labelFields.Add(fields[j]);
                    continue;
                }

                features.Add(ParseFeature(parser, source, fields[j], columns[j], j));
            }

            records.Add(record);
        }

        if (records.Count == 0)
        {
            throw new DataFormatException(source, "the file has a header but no rows; add one row per sample");
        }

        return new CsvTable(
            source, bytes, columns, labelIndex, header.End, parser.FirstLineEnding, [.. records], [.. features], [.. labelTexts], [.. labelFields], parser);
    }

    /// <summary>Where a row's label is, for messages: the file, line and column.</summary>
    public DataFormatException LabelError(int row, string problem)
    {
        var f = LabelFields[row];
        return new DataFormatException(Source, f.Line, Parser.ColumnOf(f.LineStart, f.Offset), problem);
    }

    private static float ParseFeature(CsvParser parser, string source, CsvField field, string column, int index)
    {
        var span = parser.Bytes.AsSpan(field.Start, field.End - field.Start);
        if (!double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            var text = parser.Text(field);
            var problem = text.Trim().Length == 0
                ? $"column '{column}' (field {index + 1}) is empty; every feature needs a number"
                : $"column '{column}' (field {index + 1}): '{Shorten(text)}' is not a number; write numbers with '.' as the decimal point and no thousands separators";
            throw new DataFormatException(source, field.Line, parser.ColumnOf(field.LineStart, field.Offset), problem);
        }

        var single = (float)value;
        if (!float.IsFinite(single))
        {
            var problem = double.IsFinite(value)
                ? $"column '{column}' (field {index + 1}): {Encoding.UTF8.GetString(span).Trim()} is outside the range of a 32-bit float"
                : $"column '{column}' (field {index + 1}) is {Encoding.UTF8.GetString(span).Trim()}; features must be finite numbers";
            throw new DataFormatException(source, field.Line, parser.ColumnOf(field.LineStart, field.Offset), problem);
        }

        return single;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");
}
