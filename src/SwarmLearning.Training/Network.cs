using System.Globalization;
using System.Text;
using SwarmLearning.Tensors;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Layers;

namespace SwarmLearning.Training;

/// <summary>
/// A feed-forward network: layers applied in order to a batch of samples, with a softmax cross-entropy head.
/// Parameters are named as PyTorch names them (<c>conv1.weight</c>, <c>fc2.bias</c>, numbered per layer kind), and
/// the whole parameter set converts to and from the safetensors model format of <see cref="SwarmLearning.Tensors"/>.
/// </summary>
public sealed class Network
{
    private readonly Layer[] _layers;
    private readonly Parameter[] _parameters;

    // Layers before the first one with parameters need no gradient of their input: nothing upstream learns.
    private readonly int _firstTrainable;

    /// <summary>Builds the network for samples of <paramref name="input"/> and initialises its weights from <paramref name="seed"/>.</summary>
    public Network(SampleShape input, IEnumerable<Layer> layers, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(layers);
        _layers = [.. layers];
        if (_layers.Length == 0)
        {
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        }

        InputShape = input;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var random = Xoshiro256StarStar.For(seed, "init");
        var shape = input;
        foreach (var layer in _layers)
        {
            if (layer.NamePrefix is { } prefix)
            {
                counts[prefix] = counts.GetValueOrDefault(prefix) + 1;
                layer.Name = prefix + counts[prefix].ToString(CultureInfo.InvariantCulture);
            }

            layer.Build(shape, random);
            shape = layer.OutputShape;
        }

        if (shape.Channels != 1 || shape.Height != 1 || shape.Width < 2)
        {
            throw new SwarmException($"The last layer must produce one score per class (at least 2, flat) but produces {shape}.");
        }

        _parameters = [.. _layers.SelectMany(l => l.Parameters)];
        _firstTrainable = Array.FindIndex(_layers, l => l.Parameters.Count > 0);
        Seed = seed;
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>The shape of one input sample.</summary>
    public SampleShape InputShape { get; }

    /// <summary>Number of classes (outputs of the last layer).</summary>
    public int ClassCount => _layers[^1].OutputShape.Width;

    /// <summary>The seed the weights and dropout masks were drawn from.</summary>
    public ulong Seed { get; }

    /// <summary>All trainable tensors, in layer order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Total number of trainable values.</summary>
    public long ParameterCount => _parameters.Sum(p => (long)p.Values.Length);

    /// <summary>
    /// The parameters as a model, without copying: the model's tensors are the live parameter arrays, so write or
    /// merge it before training goes on (or copy it) if a snapshot is wanted.
    /// </summary>
    public TensorModel ToModel(IReadOnlyDictionary<string, string>? metadata = null, string name = "network") =>
        new(_parameters.Select(p => new NamedTensor(p.Name, TensorDType.F32, p.Shape, p.Values)), metadata, name);

    /// <summary>
    /// Copies the values of <paramref name="model"/> into the parameters (one copy, straight into place). The
    /// model must hold exactly this network's tensors with the same shapes, and every value must be finite;
    /// otherwise nothing is changed and the error names the tensor.
    /// </summary>
    public void Load(IModelSource model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var indices = new int[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            indices[i] = model.IndexOf(p.Name);
            if (indices[i] < 0)
            {
                throw new SwarmException($"Model '{model.Name}' has no tensor '{p.Name}' (shape {p.Shape}); it was not made for this network ({Describe()}).");
            }

            var info = model.Tensors[indices[i]];
            if (info.Shape != p.Shape)
            {
                throw new SwarmException($"Tensor '{p.Name}' of model '{model.Name}' has shape {info.Shape}, but this network needs {p.Shape}.");
            }
        }

        if (model.Tensors.Count != _parameters.Length)
        {
            var extra = model.Tensors.Select(t => t.Name).Except(_parameters.Select(p => p.Name), StringComparer.Ordinal).First();
            throw new SwarmException($"Model '{model.Name}' has tensor '{extra}', which this network ({Describe()}) does not have.");
        }

        // Read everything into scratch first, so a bad value leaves the network as it was.
        var scratch = new float[_parameters.Length][];
        for (var i = 0; i < _parameters.Length; i++)
        {
            scratch[i] = GC.AllocateUninitializedArray<float>(_parameters[i].Values.Length);
            model.ReadF32(indices[i], 0, scratch[i]);
            if (!FloatConversions.AllFinite(scratch[i]))
            {
                throw new SwarmException($"Tensor '{_parameters[i].Name}' of model '{model.Name}' holds NaN or infinite values; refusing to load it.");
            }
        }

        for (var i = 0; i < _parameters.Length; i++)
        {
            scratch[i].CopyTo(_parameters[i].Values, 0);
        }
    }

    /// <summary>One line per layer with its output shape and parameter count.</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"input {InputShape}");
        foreach (var layer in _layers)
        {
            var count = layer.Parameters.Sum(p => (long)p.Values.Length);
            var name = layer.Name.Length > 0 ? layer.Name + " " : "";
            text.AppendLine(CultureInfo.InvariantCulture, $"{name}{layer.Describe()} → {layer.OutputShape}{(count > 0 ? $"  ({count:N0} parameters)" : "")}");
        }

        text.Append(CultureInfo.InvariantCulture, $"{ParameterCount:N0} parameters");
        return text.ToString();
    }

    /// <summary>The layers in one line, e.g. <c>Flatten → Dense(784 → 256) → ReLU → …</c>.</summary>
    public string Describe() => string.Join(" → ", _layers.Select(l => l.Describe()));

    /// <summary>The class scores (logits) of <paramref name="batch"/> samples, batch × classes.</summary>
    internal float[] Forward(float[] input, int batch, bool training)
    {
        var x = input;
        foreach (var layer in _layers)
        {
            x = layer.Forward(x, batch, training);
        }

        return x;
    }

    /// <summary>Back-propagates d(loss)/d(logits) of the last forward batch, setting every parameter's gradient.</summary>
    internal void Backward(float[] logitGradient, int batch)
    {
        var gradient = logitGradient;
        for (var i = _layers.Length - 1; i >= 0; i--)
        {
            // The first layer's input gradient would be d(loss)/d(data): nobody needs it.
            var needInput = i > _firstTrainable && _firstTrainable >= 0;
            gradient = _layers[i].Backward(gradient!, batch, needInput);
            if (gradient is null)
            {
                break;
            }
        }
    }
}
