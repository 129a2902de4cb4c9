using SwarmLearning.Tensors;
using SwarmLearning.Training.Layers;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Training.Tests;

/// <summary>Two steps of each optimizer against its defining formulas (PyTorch's), on a vector long enough to have a SIMD body and a tail.</summary>
public sealed class OptimizerTests
{
    private const int Length = 37;

    [Theory]
    [InlineData(0f, 0f, false)]
    [InlineData(0.9f, 0f, false)]
    [InlineData(0.9f, 0f, true)]
    [InlineData(0.9f, 0.1f, false)]
    public void Sgd_follows_PyTorchs_update(float momentum, float decay, bool nesterov)
    {
        var p = Parameter(1f);
        var sgd = new Sgd(0.1f, momentum, decay, nesterov);
        double w = 1, v = 0;
        foreach (var (g, step) in new[] { (0.5, 1), (0.25, 2) })
        {
            Array.Fill(p.Gradient, (float)g);
            sgd.Step([p]);
            var gd = g + (decay * w);
            if (momentum != 0)
            {
                v = step == 1 ? gd : (momentum * v) + gd;
                gd = nesterov ? gd + (momentum * v) : v;
            }

            w -= 0.1 * gd;
            Assert.All(p.Values, value => Assert.Equal(w, value, 5));
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.01f)]
    public void Adam_follows_the_bias_corrected_update(float decay)
    {
        var p = Parameter(1f);
        var adam = new Adam(0.1f, weightDecay: decay);
        double w = 1, m = 0, v = 0;
        foreach (var (g, t) in new[] { (0.5, 1), (0.25, 2), (-0.75, 3) })
        {
            Array.Fill(p.Gradient, (float)g);
            adam.Step([p]);
            var gd = g + (decay * w);
            m = (0.9 * m) + (0.1 * gd);
            v = (0.999 * v) + (0.001 * gd * gd);
            w -= 0.1 * (m / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v / (1 - Math.Pow(0.999, t))) + 1e-8);
            Assert.All(p.Values, value => Assert.Equal(w, value, 5));
        }

        Assert.Equal(3, adam.Steps);
        adam.Reset();
        Assert.Equal(0, adam.Steps);
    }

    [Fact]
    public void Nonsense_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0f));
    }

    private static Parameter Parameter(float value)
    {
        var p = new Parameter("w", new TensorShape(Length));
        Array.Fill(p.Values, value);
        return p;
    }
}
