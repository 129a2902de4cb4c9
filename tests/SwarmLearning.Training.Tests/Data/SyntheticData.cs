using System.Globalization;
using System.IO.Compression;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Training.Tests;

/// <summary>Small datasets written to disk for the loader and splitter tests.</summary>
internal static class SyntheticData
{
    /// <summary>
    /// Writes the four IDX files of an image dataset: sample i of a set has label (i * 7 + salt) % classes and pixel
    /// j = (i * 31 + j * 7 + label) % 256, so every record is distinct and checkable.
    /// </summary>
    public static void WriteIdx(string directory, int train, int test, int classes, int height = 4, int width = 3, bool gzip = true)
    {
        Directory.CreateDirectory(directory);
        var suffix = gzip ? ".gz" : string.Empty;
        IdxWriter.Write(Path.Combine(directory, IdxDataset.TrainImagesFile + suffix), Images(train, classes, height, width, salt: 0), gzip);
        IdxWriter.Write(Path.Combine(directory, IdxDataset.TrainLabelsFile + suffix), Labels(train, classes, salt: 0), gzip);
        IdxWriter.Write(Path.Combine(directory, IdxDataset.TestImagesFile + suffix), Images(test, classes, height, width, salt: 1), gzip);
        IdxWriter.Write(Path.Combine(directory, IdxDataset.TestLabelsFile + suffix), Labels(test, classes, salt: 1), gzip);
    }

    public static int Label(int i, int classes, int salt) => ((i * 7) + salt) % classes;

    public static IdxArray Labels(int count, int classes, int salt) =>
        new(IdxElementType.U8, [count], [.. Enumerable.Range(0, count).Select(i => (byte)Label(i, classes, salt))], "labels");

    public static IdxArray Images(int count, int classes, int height, int width, int salt)
    {
        var data = new byte[count * height * width];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < height * width; j++)
            {
                data[(i * height * width) + j] = (byte)(((i * 31) + (j * 7) + Label(i, classes, salt)) % 256);
            }
        }

        return new IdxArray(IdxElementType.U8, [count, height, width], data, "images");
    }

    /// <summary>Writes train.csv and test.csv with two features and string labels; <paramref name="classes"/> names cycle.</summary>
    public static void WriteCsv(string directory, int train, int test, string[] classes, string newline = "\n")
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "train.csv"), CsvText(train, classes, newline, 0));
        File.WriteAllText(Path.Combine(directory, "test.csv"), CsvText(test, classes, newline, 1));
    }

    public static string CsvText(int rows, string[] classes, string newline, int salt)
    {
        var lines = new List<string> { "x,label,\"y, quoted\"" };
        for (var i = 0; i < rows; i++)
        {
            var label = classes[Label(i, classes.Length, salt)];
            var quoted = label.Contains(',', StringComparison.Ordinal) ? $"\"{label}\"" : label;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i * 0.5},{quoted},\"{-i}\""));
        }

        return string.Join(newline, lines) + newline;
    }

    /// <summary>The decompressed bytes of a (possibly gzip'ed) file.</summary>
    public static byte[] Decompressed(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes is not [0x1f, 0x8b, ..])
        {
            return bytes;
        }

        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}
