using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>
/// A validated merge: every input has the same tensor names, shapes and dtypes; weights are finite and
/// non-negative with a positive total; the method's parameters fit the number of participating inputs.
/// Made by <see cref="ModelMerger.Plan"/> before any value is read, so a bad input is refused before work starts.
/// </summary>
public sealed class MergePlan
{
    private MergePlan(
        IReadOnlyList<MergeInput> inputs,
        MergeOptions options,
        TensorInfo[] outputTensors,
        int[] participants,
        int[][] tensorIndex,
        bool[] frozen)
    {
        Inputs = inputs;
        Options = options;
        OutputTensors = outputTensors;
        Participants = participants;
        Sources = [.. participants.Select(i => inputs[i].Model)];
        Weights = [.. participants.Select(i => inputs[i].Weight)];
        TensorIndex = tensorIndex;
        Frozen = frozen;
        MergedElements = outputTensors.Where((_, t) => !frozen[t]).Sum(t => t.ElementCount);
    }

    /// <summary>The inputs as given.</summary>
    public IReadOnlyList<MergeInput> Inputs { get; }

    /// <summary>The options.</summary>
    public MergeOptions Options { get; }

    /// <summary>The output's tensors, in the first input's order.</summary>
    public IReadOnlyList<TensorInfo> OutputTensors { get; }

    /// <summary>Indices of the inputs with positive weight: the models that take part.</summary>
    public IReadOnlyList<int> Participants { get; }

    /// <summary>Elements merged per model (frozen tensors excluded).</summary>
    public long MergedElements { get; }

    /// <summary>The participating models.</summary>
    internal IModelSource[] Sources { get; }

    /// <summary>The participating models' weights.</summary>
    internal double[] Weights { get; }

    /// <summary>For output tensor t and input i (all inputs, not only participants): the tensor's index in that input.</summary>
    internal int[][] TensorIndex { get; }

    /// <summary>Whether output tensor t passes through unmerged.</summary>
    internal bool[] Frozen { get; }

    /// <summary>Index of output tensor t in participant p.</summary>
    internal int SourceTensor(int t, int p) => TensorIndex[t][Participants[p]];

    internal static MergePlan Create(IReadOnlyList<MergeInput> inputs, MergeOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        if (inputs.Count == 0)
        {
            throw new MergeException("no models to merge: give at least one");
        }

        foreach (var input in inputs)
        {
            if (!double.IsFinite(input.Weight) || input.Weight < 0)
            {
                throw new MergeException($"{input.Model.Name}: weight {input.Weight} is not a finite non-negative number");
            }
        }

        var first = inputs[0].Model;
        var outputTensors = first.Tensors.ToArray();
        var tensorIndex = new int[outputTensors.Length][];
        for (var t = 0; t < outputTensors.Length; t++)
        {
            tensorIndex[t] = new int[inputs.Count];
            tensorIndex[t][0] = t;
        }

        for (var i = 1; i < inputs.Count; i++)
        {
            var model = inputs[i].Model;
            for (var t = 0; t < outputTensors.Length; t++)
            {
                var expected = outputTensors[t];
                var k = model.IndexOf(expected.Name);
                if (k < 0)
                {
                    throw new MergeException($"{model.Name}: has no tensor '{expected.Name}', which {first.Name} has; all models must have the same tensors");
                }

                var actual = model.Tensors[k];
                if (actual.Shape != expected.Shape)
                {
                    throw new MergeException($"{model.Name}: tensor '{expected.Name}' has shape {actual.Shape} but {first.Name} has {expected.Shape}");
                }

                if (actual.DType != expected.DType)
                {
                    throw new MergeException($"{model.Name}: tensor '{expected.Name}' is {actual.DType.ToSafetensorsName()} but {first.Name} has {expected.DType.ToSafetensorsName()}");
                }

                tensorIndex[t][i] = k;
            }

            if (model.Tensors.Count != outputTensors.Length)
            {
                var extra = model.Tensors.First(x => first.IndexOf(x.Name) < 0);
                throw new MergeException($"{model.Name}: has tensor '{extra.Name}', which {first.Name} lacks; all models must have the same tensors");
            }
        }

        var frozen = outputTensors.Select(t => options.FrozenTensors.Contains(t.Name)).ToArray();
        foreach (var name in options.FrozenTensors)
        {
            if (first.IndexOf(name) < 0)
            {
                throw new MergeException($"frozen tensor '{name}' is not in the models ({first.Name} has no such tensor)");
            }
        }

        if (!double.IsFinite(inputs.Sum(i => i.Weight)))
        {
            throw new MergeException("the weights' total overflows; use smaller weights (only their ratios matter)");
        }

        int[] participants = [.. Enumerable.Range(0, inputs.Count).Where(i => inputs[i].Weight > 0)];
        if (participants.Length == 0)
        {
            throw new MergeException("all weights are zero: at least one model must have a positive weight");
        }

        CheckMethodParameters(options, participants.Length);
        if (options.MaxDegreeOfParallelism < 1 || options.WindowElements < 1)
        {
            throw new MergeException("MaxDegreeOfParallelism and WindowElements must be at least 1");
        }

        return new MergePlan(inputs, options, outputTensors, participants, tensorIndex, frozen);
    }

    /// <summary>The f that Krum uses for n models.</summary>
    internal static int ByzantineFor(MergeOptions options, int n) => options.ByzantineCount ?? MergeOptions.DefaultByzantineCount(n);

    private static void CheckMethodParameters(MergeOptions options, int n)
    {
        switch (options.Method)
        {
            case MergeMethod.TrimmedMean when !(options.TrimFraction >= 0 && options.TrimFraction < 0.5):
                throw new MergeException($"trimmedmean: the trim fraction must be in [0, 0.5), not {options.TrimFraction}");
            case MergeMethod.GeoMedian when options.GeoMedianMaxIterations < 1:
                throw new MergeException($"geomedian: the iteration cap must be at least 1, not {options.GeoMedianMaxIterations}");
            case MergeMethod.GeoMedian when !(options.GeoMedianTolerance > 0):
                throw new MergeException($"geomedian: the tolerance must be positive, not {options.GeoMedianTolerance}");
            case MergeMethod.Krum:
                var f = ByzantineFor(options, n);
                if (f < 0)
                {
                    throw new MergeException($"krum: the number of Byzantine models f must be at least 0, not {f}");
                }

                if (n < f + 3)
                {
                    throw new MergeException($"krum: with f = {f} it needs at least {f + 3} models with positive weight, got {n}");
                }

                if (options.KrumSelect < 1 || options.KrumSelect > n)
                {
                    throw new MergeException($"krum: --select must be from 1 to the number of models ({n}), not {options.KrumSelect}");
                }

                break;
        }
    }
}
