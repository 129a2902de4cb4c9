using System.Numerics;
using SwarmLearning.Training.Layers;

namespace SwarmLearning.Training.Optimizers;

/// <summary>Updates parameters from their gradients. Optimizers keep per-parameter state (momentum, moments).</summary>
public abstract class Optimizer
{
    private readonly Dictionary<Parameter, float[][]> _state = [];

    /// <summary>Creates an optimizer with the given step size.</summary>
    protected Optimizer(float learningRate)
    {
        if (!(learningRate > 0f) || !float.IsFinite(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        }

        LearningRate = learningRate;
    }

    /// <summary>The step size.</summary>
    public float LearningRate { get; set; }

    /// <summary>Number of steps taken since creation or the last <see cref="Reset"/>.</summary>
    public long Steps { get; private set; }

    /// <summary>Applies one update to every parameter from its current gradient.</summary>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Steps++;
        foreach (var p in parameters)
        {
            if (!_state.TryGetValue(p, out var state))
            {
                state = [.. Enumerable.Range(0, StateArrays).Select(_ => new float[p.Values.Length])];
                _state[p] = state;
            }

            Update(p.Values, p.Gradient, state);
        }
    }

    /// <summary>Forgets all state (momentum, moments, step count), as if newly created.</summary>
    public void Reset()
    {
        _state.Clear();
        Steps = 0;
    }

    /// <summary>How many arrays of state, each the size of the parameter, the optimizer keeps per parameter.</summary>
    private protected abstract int StateArrays { get; }

    private protected abstract void Update(Span<float> values, ReadOnlySpan<float> gradient, float[][] state);

    /// <summary>Number of lanes of <see cref="Vector{T}"/> when vectorised, else 1 (the scalar tail does everything).</summary>
    private protected static int VectorWidth => Vector.IsHardwareAccelerated ? Vector<float>.Count : int.MaxValue;
}

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, with PyTorch's
/// semantics: g ← g + λ·w; v ← μ·v + g; w ← w − η·(Nesterov ? g + μ·v : v).
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Sgd(float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(learningRate)
    {
        if (!(momentum >= 0f && momentum < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        }

        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be zero or positive.");
        }

        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>μ, the momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>λ, the L2 penalty.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    private protected override int StateArrays => 1;

    private protected override void Update(Span<float> values, ReadOnlySpan<float> gradient, float[][] state)
    {
        var velocity = state[0].AsSpan();
        var (lr, mu, decay) = (LearningRate, Momentum, WeightDecay);
        var first = Steps == 1;
        for (var i = 0; i < values.Length; i++)
        {
            var g = gradient[i] + (decay * values[i]);
            if (mu != 0f)
            {
                // PyTorch starts the momentum buffer at the first gradient rather than decaying from zero.
                velocity[i] = first ? g : (mu * velocity[i]) + g;
                g = Nesterov ? g + (mu * velocity[i]) : velocity[i];
            }

            values[i] -= lr * g;
        }
    }
}

/// <summary>
/// Adam (Kingma and Ba, 2015) with bias correction and optional L2 weight decay, as PyTorch's <c>Adam</c>:
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − η·m̂ / (√v̂ + ε).
/// </summary>
public sealed class Adam : Optimizer
{
    /// <summary>Creates the optimizer with PyTorch's defaults.</summary>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : base(learningRate)
    {
        if (!(beta1 >= 0f && beta1 < 1f) || !(beta2 >= 0f && beta2 < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), $"β₁ and β₂ must be in [0, 1) (got {beta1}, {beta2}).");
        }

        if (!(epsilon > 0f) || !(weightDecay >= 0f) || !float.IsFinite(weightDecay))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), "ε must be positive and weight decay zero or positive.");
        }

        (Beta1, Beta2, Epsilon, WeightDecay) = (beta1, beta2, epsilon, weightDecay);
    }

    /// <summary>β₁, the decay of the first moment.</summary>
    public float Beta1 { get; }

    /// <summary>β₂, the decay of the second moment.</summary>
    public float Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>λ, the L2 penalty.</summary>
    public float WeightDecay { get; }

    private protected override int StateArrays => 2;

    private protected override void Update(Span<float> values, ReadOnlySpan<float> gradient, float[][] state)
    {
        Span<float> m = state[0], v = state[1];
        var (b1, b2, eps, decay) = (Beta1, Beta2, Epsilon, WeightDecay);
        var correction1 = 1.0 - Math.Pow(b1, Steps);
        var correction2 = 1.0 - Math.Pow(b2, Steps);
        var stepSize = (float)(LearningRate / correction1);
        var rootCorrection2 = (float)Math.Sqrt(correction2);
        var i = 0;
        var width = VectorWidth;
        if (decay == 0f)
        {
            for (; i + width <= values.Length; i += width)
            {
                var g = new Vector<float>(gradient[i..]);
                var mi = (new Vector<float>(b1) * new Vector<float>(m[i..])) + (new Vector<float>(1f - b1) * g);
                var vi = (new Vector<float>(b2) * new Vector<float>(v[i..])) + (new Vector<float>(1f - b2) * g * g);
                mi.CopyTo(m[i..]);
                vi.CopyTo(v[i..]);
                var denominator = (Vector.SquareRoot(vi) / new Vector<float>(rootCorrection2)) + new Vector<float>(eps);
                (new Vector<float>(values[i..]) - (new Vector<float>(stepSize) * mi / denominator)).CopyTo(values[i..]);
            }
        }

        for (; i < values.Length; i++)
        {
            var g = gradient[i] + (decay * values[i]);
            m[i] = (b1 * m[i]) + ((1f - b1) * g);
            v[i] = (b2 * v[i]) + ((1f - b2) * g * g);
            values[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / rootCorrection2) + eps);
        }
    }
}
