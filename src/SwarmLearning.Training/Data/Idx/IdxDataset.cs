using System.Numerics.Tensors;

namespace SwarmLearning.Training.Data.Idx;

/// <summary>
/// Loads a directory of IDX files in the MNIST / Fashion-MNIST layout: <c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c> and <c>t10k-labels-idx1-ubyte</c>, each gzip'ed
/// (<c>.gz</c>, preferred when both forms exist) or plain. Images of N×H×W become samples of 1×H×W (N×C×H×W:
/// C×H×W; N×F: F features); unsigned-byte pixels are scaled to [0, 1] as <c>byte / 255f</c>, other element types
/// are taken as they are and must be finite. Labels are integers ≥ 0; the class count is the length of
/// <c>dataset.json</c>'s class names, or else the largest label + 1 (at least 2).
/// </summary>
public static class IdxDataset
{
    /// <summary>The training images' file name (without <c>.gz</c>).</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>The training labels' file name (without <c>.gz</c>).</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>The test images' file name (without <c>.gz</c>).</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>The test labels' file name (without <c>.gz</c>).</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>The largest number of classes a label file may imply.</summary>
    public const int MaxClasses = 1 << 16;

    internal static readonly string[] FileNames = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>Loads and validates the four files of <paramref name="directory"/>.</summary>
    /// <exception cref="DataFormatException">A file is missing or invalid, or the files disagree.</exception>
    public static TrainTestData Load(string directory)
    {
        var raw = IdxSource.Open(directory);
        return new TrainTestData(
            ToDataset(raw.TrainImages, raw.TrainLabels, raw),
            ToDataset(raw.TestImages, raw.TestLabels, raw));
    }

    /// <summary>The path of <paramref name="name"/> in <paramref name="directory"/>: the <c>.gz</c> form if present, else the plain one, else null.</summary>
    internal static string? Find(string directory, string name)
    {
        var gz = Path.Combine(directory, name + ".gz");
        if (File.Exists(gz))
        {
            return gz;
        }

        var plain = Path.Combine(directory, name);
        return File.Exists(plain) ? plain : null;
    }

    private static Dataset ToDataset(IdxArray images, int[] labels, IdxSource raw)
    {
        var features = GC.AllocateUninitializedArray<float>(images.Data.Length / images.ElementType.SizeInBytes());
        images.ConvertToSingle(features);
        if (images.ElementType == IdxElementType.U8)
        {
            TensorPrimitives.Divide(features, 255f, features);
        }
        else if (images.ElementType is IdxElementType.F32 or IdxElementType.F64)
        {
            for (var i = 0; i < features.Length; i++)
            {
                if (!float.IsFinite(features[i]))
                {
                    throw new DataFormatException(images.Source, $"element {i:N0} (record {i / images.RecordElements:N0}) is {features[i]} as f32; every value must be finite");
                }
            }
        }

        return new Dataset(features, labels, raw.Shape, raw.ClassCount, raw.Directory, raw.ClassNames);
    }
}

/// <summary>The four IDX arrays of a data directory, validated against each other, with labels and classes worked out.</summary>
internal sealed class IdxSource
{
    private IdxSource(string directory, IdxArray trainImages, IdxArray trainLabels, IdxArray testImages, IdxArray testLabels)
    {
        Directory = directory;
        TrainImages = trainImages;
        TestImages = testImages;
        TrainLabelArray = trainLabels;
        TestLabelArray = testLabels;
        Shape = ShapeOf(trainImages);
        if (ShapeOf(testImages) != Shape)
        {
            throw new DataFormatException(testImages.Source, $"its samples are {ShapeOf(testImages)}, but those of {trainImages.Source} are {Shape}; training and test images must have one shape");
        }

        TrainLabels = Labels(trainLabels, trainImages);
        TestLabels = Labels(testLabels, testImages);
        Manifest = DatasetManifest.ReadFrom(directory);
        var largest = Math.Max(TrainLabels.Max(), TestLabels.Max());
        if (Manifest?.ClassNames is { } names)
        {
            ClassCount = names.Count;
            ClassNames = names;
            CheckBelow(trainLabels, TrainLabels, names.Count);
            CheckBelow(testLabels, TestLabels, names.Count);
        }
        else
        {
            ClassCount = Math.Max(2, largest + 1);
            ClassNames = FashionMnist.Matches(directory, Shape, ClassCount) ? FashionMnist.ClassNames : null;
        }
    }

    public string Directory { get; }

    public IdxArray TrainImages { get; }

    public IdxArray TrainLabelArray { get; }

    public IdxArray TestImages { get; }

    public IdxArray TestLabelArray { get; }

    public int[] TrainLabels { get; }

    public int[] TestLabels { get; }

    public SampleShape Shape { get; }

    public int ClassCount { get; }

    public IReadOnlyList<string>? ClassNames { get; }

    public DatasetManifest? Manifest { get; }

    public static IdxSource Open(string directory)
    {
        var paths = IdxDataset.FileNames.Select(n => IdxDataset.Find(directory, n)).ToArray();
        var missing = IdxDataset.FileNames.Where((_, i) => paths[i] is null).ToList();
        if (missing.Count > 0)
        {
            throw new DataFormatException(directory, $"missing {string.Join(", ", missing.Select(n => n + "[.gz]"))}; {DataDirectory.MissingFilesHint(directory)}");
        }

        var arrays = paths.Select(p => IdxReader.Read(p!)).ToArray();
        return new IdxSource(directory, arrays[0], arrays[1], arrays[2], arrays[3]);
    }

    private static SampleShape ShapeOf(IdxArray images) => images.Dimensions.Count switch
    {
        2 => SampleShape.Tabular(images.Dimensions[1]),
        3 => new SampleShape(1, images.Dimensions[1], images.Dimensions[2]),
        4 => new SampleShape(images.Dimensions[1], images.Dimensions[2], images.Dimensions[3]),
        _ => throw new DataFormatException(images.Source, $"has {images.Dimensions.Count} dimension(s) ({string.Join('×', images.Dimensions)}); sample files have 2 (N×features), 3 (N×height×width) or 4 (N×channels×height×width)"),
    };

    private static int[] Labels(IdxArray labels, IdxArray images)
    {
        if (labels.Dimensions.Count != 1 || !labels.ElementType.IsInteger())
        {
            throw new DataFormatException(labels.Source, $"holds {string.Join('×', labels.Dimensions)} {labels.ElementType.Describe()} elements; a label file holds one dimension of integers");
        }

        if (labels.RecordCount != images.RecordCount)
        {
            throw new DataFormatException(labels.Source, $"holds {labels.RecordCount:N0} labels, but {images.Source} holds {images.RecordCount:N0} samples; the two files must describe the same samples, one label each");
        }

        var values = labels.ToInt32();
        for (var i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= IdxDataset.MaxClasses)
            {
                throw new DataFormatException(labels.Source, $"label {i:N0} is {values[i]}; labels are class numbers from 0 to {IdxDataset.MaxClasses - 1}");
            }
        }

        return values;
    }

    private void CheckBelow(IdxArray labels, int[] values, int classCount)
    {
        var i = Array.FindIndex(values, v => v >= classCount);
        if (i >= 0)
        {
            throw new DataFormatException(labels.Source, $"label {i:N0} is {values[i]}, but {Path.Combine(Directory, DatasetManifest.FileName)} names {classCount} classes (labels 0 to {classCount - 1})");
        }
    }
}
