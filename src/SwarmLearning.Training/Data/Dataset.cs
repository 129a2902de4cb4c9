namespace SwarmLearning.Training.Data;

/// <summary>The shape of one sample: channels × height × width. Tabular rows are 1 × 1 × features.</summary>
/// <param name="Channels">Channels per sample (1 for grey images and tables).</param>
/// <param name="Height">Rows of an image; 1 for a table.</param>
/// <param name="Width">Columns of an image; the feature count for a table.</param>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
public readonly record struct SampleShape(int Channels, int Height, int Width)
{
    /// <summary>Features per sample: channels × height × width.</summary>
    public int FeatureCount => checked(Channels * Height * Width);

    /// <summary>True for image data (height above 1), which convolutional models need.</summary>
    public bool IsImage => Height > 1;

    /// <summary>A table row of <paramref name="features"/> values.</summary>
    public static SampleShape Tabular(int features) => new(1, 1, features);

    /// <inheritdoc/>
    public override string ToString() => IsImage ? $"{Channels}×{Height}×{Width}" : $"{Width} features";
}

/// <summary>
/// A labelled dataset held in memory: <see cref="Count"/> samples of <see cref="SampleShape.FeatureCount"/> f32
/// features each, row-major in one array, and one class label in [0, <see cref="ClassCount"/>) per sample.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset over the given arrays (not copied) after checking they agree.</summary>
    /// <param name="features">Row-major features, <paramref name="labels"/>.Length × shape.FeatureCount values.</param>
    /// <param name="labels">One class label per sample, each in [0, <paramref name="classCount"/>).</param>
    /// <param name="shape">The shape of one sample.</param>
    /// <param name="classCount">Number of classes (2 or more).</param>
    /// <param name="source">Where the data came from, for messages (a file or directory path).</param>
    /// <param name="classNames">Optional class names, one per class.</param>
    public Dataset(float[] features, int[] labels, SampleShape shape, int classCount, string source, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (shape.Channels < 1 || shape.Height < 1 || shape.Width < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Every dimension of a sample must be at least 1.");
        }

        if ((long)labels.Length * shape.FeatureCount != features.Length)
        {
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} samples of {shape.FeatureCount}.", nameof(features));
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentException($"Sample {i} has label {labels[i]}, outside [0, {classCount}).", nameof(labels));
            }
        }

        if (classNames is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for {classCount} classes.", nameof(classNames));
        }

        Features = features;
        Labels = labels;
        Shape = shape;
        ClassCount = classCount;
        Source = source;
        ClassNames = classNames ?? [.. Enumerable.Range(0, classCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>All features, row-major: sample i is <c>[i × FeatureCount, (i + 1) × FeatureCount)</c>.</summary>
    public float[] Features { get; }

    /// <summary>The class label of each sample.</summary>
    public int[] Labels { get; }

    /// <summary>The shape of one sample.</summary>
    public SampleShape Shape { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Features per sample.</summary>
    public int FeatureCount => Shape.FeatureCount;

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>One name per class (the class index as text when the source names none).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where the data came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index) => Features.AsSpan(checked(index * FeatureCount), FeatureCount);

    /// <summary>How many samples each class has.</summary>
    public int[] ClassHistogram()
    {
        var counts = new int[ClassCount];
        foreach (var label in Labels)
        {
            counts[label]++;
        }

        return counts;
    }

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (features copied).</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        var features = GC.AllocateUninitializedArray<float>(checked(indices.Length * FeatureCount));
        var labels = new int[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            Sample(indices[i]).CopyTo(features.AsSpan(i * FeatureCount, FeatureCount));
            labels[i] = Labels[indices[i]];
        }

        return new Dataset(features, labels, Shape, ClassCount, Source, ClassNames);
    }
}

/// <summary>A training set and the test set that goes with it, as one node's data directory holds them.</summary>
/// <param name="Train">The samples to train on.</param>
/// <param name="Test">The samples to evaluate on; same shape and classes as <paramref name="Train"/>.</param>
public sealed record TrainTestData(Dataset Train, Dataset Test);
