using SwarmLearning.Tensors;

namespace SwarmLearning.Client.Tests;

/// <summary>Small models and an adapter that records what the callback does with it.</summary>
internal static class TestModels
{
    /// <summary>A two-tensor model ("fc1.weight" [2, 3], "fc1.bias" [2]) with values start, start + 1, ….</summary>
    public static TensorModel Make(float start, string name = "model") =>
        new(
            [
                new NamedTensor("fc1.weight", TensorDType.F32, new TensorShape([2, 3]), [.. Enumerable.Range(0, 6).Select(i => start + i)]),
                new NamedTensor("fc1.bias", TensorDType.F32, new TensorShape([2]), [start + 10, start + 11]),
            ],
            name: name);

    public static float[] Flat(IModelSource model)
    {
        var values = new List<float>();
        for (var t = 0; t < model.Tensors.Count; t++)
        {
            var buffer = new float[model.Tensors[t].ElementCount];
            model.ReadF32(t, 0, buffer);
            values.AddRange(buffer);
        }

        return [.. values];
    }

    /// <summary>The element-wise mean of two models with the same tensors.</summary>
    public static TensorModel Mean(IModelSource a, IModelSource b)
    {
        var tensors = new List<NamedTensor>();
        for (var t = 0; t < a.Tensors.Count; t++)
        {
            var info = a.Tensors[t];
            var x = new float[info.ElementCount];
            var y = new float[info.ElementCount];
            a.ReadF32(t, 0, x);
            b.ReadF32(b.IndexOf(info.Name), 0, y);
            tensors.Add(new NamedTensor(info.Name, TensorDType.F32, info.Shape, [.. x.Zip(y, (p, q) => (p + q) / 2)]));
        }

        return new TensorModel(tensors, name: "mean");
    }
}

/// <summary>A model held as a <see cref="TensorModel"/>; counts and records every get and set.</summary>
internal sealed class RecordingAdapter(TensorModel initial) : IModelAdapter
{
    public TensorModel Current { get; private set; } = initial;

    public int Gets { get; private set; }

    public List<float[]> Sets { get; } = [];

    public TensorModel GetWeights()
    {
        Gets++;
        return Current;
    }

    public void SetWeights(IModelSource model)
    {
        var values = TestModels.Flat(model);
        Sets.Add(values);
        var tensors = new List<NamedTensor>();
        var offset = 0;
        foreach (var info in model.Tensors)
        {
            var n = (int)info.ElementCount;
            tensors.Add(new NamedTensor(info.Name, TensorDType.F32, info.Shape, values[offset..(offset + n)]));
            offset += n;
        }

        Current = new TensorModel(tensors, name: "current");
    }

    /// <summary>Simulates a training step: every weight moves by <paramref name="delta"/>.</summary>
    public void Step(float delta)
    {
        foreach (var tensor in Current.NamedTensors)
        {
            for (var i = 0; i < tensor.Values.Length; i++)
            {
                tensor.Values[i] += delta;
            }
        }
    }
}
