using SwarmLearning.Training.Data;
using SwarmLearning.Training.Layers;

namespace SwarmLearning.Training.Tests.Layers;

/// <summary>
/// Every layer's backward pass against central finite differences of its forward pass. The loss is
/// L = Σ output ⊙ R for a fixed random R, so d(L)/d(output) = R and the analytic gradients are what Backward
/// returns for R. Inputs are chosen away from ReLU's kink and from ties in max pooling, where the derivative jumps.
/// </summary>
public sealed class GradientCheckTests
{
    private const float Step = 1e-2f;

    [Fact]
    public void Dense() => Check(new Dense(5), SampleShape.Tabular(7), batch: 3);

    [Theory]
    [InlineData(1, 3, 1, 1, 6, 6)]
    [InlineData(2, 3, 2, 1, 5, 7)]
    [InlineData(3, 2, 1, 0, 4, 5)]
    [InlineData(2, 5, 1, 2, 6, 6)]
    [InlineData(1, 3, 3, 0, 7, 8)]
    public void Conv2d(int inChannels, int kernel, int stride, int padding, int height, int width) =>
        Check(new Conv2d(4, kernel, stride, padding), new SampleShape(inChannels, height, width), batch: 2);

    [Fact]
    public void ReLU() => Check(new ReLU(), new SampleShape(2, 3, 3), batch: 3, awayFromZero: true);

    [Theory]
    [InlineData(2, null)]
    [InlineData(3, 2)]
    public void MaxPool2d(int size, int? stride) => Check(new MaxPool2d(size, stride), new SampleShape(2, 7, 6), batch: 2, distinctValues: true);

    [Fact]
    public void Flatten() => Check(new Flatten(), new SampleShape(2, 3, 4), batch: 2);

    [Fact]
    public void Dropout_passes_gradients_through_the_same_mask_as_the_values()
    {
        var layer = new Dropout(0.4f);
        var shape = SampleShape.Tabular(4000);
        layer.Build(shape, new Xoshiro256StarStar(3));
        var x = Enumerable.Range(0, shape.FeatureCount).Select(i => 1f + (i % 5)).ToArray();
        var y = (float[])layer.Forward(x, 1, training: true).Clone();
        var dy = Enumerable.Repeat(2f, shape.FeatureCount).ToArray();
        var dx = layer.Backward(dy, 1, needInputGradient: true)!;
        var dropped = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var scale = y[i] / x[i];
            Assert.True(scale == 0f || Math.Abs(scale - (1f / 0.6f)) < 1e-6, $"value {i} scaled by {scale}");
            Assert.Equal(scale * 2f, dx[i], 5);
            dropped += scale == 0f ? 1 : 0;
        }

        // 4000 draws at p = 0.4: the standard deviation of the dropped fraction is 0.0077; allow 4 of them.
        Assert.InRange(dropped / 4000.0, 0.4 - 0.031, 0.4 + 0.031);
        Assert.Same(x, layer.Forward(x, 1, training: false));
    }

    [Fact]
    public void Softmax_cross_entropy()
    {
        const int batch = 3, classes = 5;
        var random = new Random(7);
        var logits = Enumerable.Range(0, batch * classes).Select(_ => (float)((random.NextDouble() * 6) - 3)).ToArray();
        int[] labels = [4, 0, 2];
        var gradient = new float[batch * classes];
        var loss = SoftmaxCrossEntropy.Compute(logits, labels, batch, classes, gradient);

        // Against the definition, in double: mean over rows of −log softmax(row)[label].
        var expected = 0.0;
        for (var b = 0; b < batch; b++)
        {
            var row = logits.AsSpan(b * classes, classes).ToArray().Select(v => (double)v).ToArray();
            expected -= Math.Log(Math.Exp(row[labels[b]]) / row.Sum(Math.Exp));
        }

        Assert.Equal(expected / batch, loss, 6);
        for (var i = 0; i < logits.Length; i++)
        {
            var saved = logits[i];
            logits[i] = saved + Step;
            var up = SoftmaxCrossEntropy.Compute(logits, labels, batch, classes);
            logits[i] = saved - Step;
            var down = SoftmaxCrossEntropy.Compute(logits, labels, batch, classes);
            logits[i] = saved;
            Assert.Equal((up - down) / (2 * Step), gradient[i], 3);
        }
    }

    [Fact]
    public void Softmax_cross_entropy_does_not_overflow_on_huge_scores()
    {
        var gradient = new float[2];
        var loss = SoftmaxCrossEntropy.Compute([1000f, -1000f], [1], 1, 2, gradient);
        Assert.Equal(2000.0, loss, 3);
        Assert.Equal([1f, -1f], gradient);
    }

    /// <summary>Builds the layer, runs forward and backward once, and compares every gradient with finite differences.</summary>
    private static void Check(Layer layer, SampleShape shape, int batch, bool awayFromZero = false, bool distinctValues = false)
    {
        layer.Build(shape, new Xoshiro256StarStar(17));
        var random = new Random(23);
        var x = new float[batch * shape.FeatureCount];
        if (distinctValues)
        {
            // A shuffled ladder with rungs 0.1 apart: no two values of a window come within 2·Step of each other.
            var ladder = Enumerable.Range(0, x.Length).Select(i => (i * 0.1f) - (x.Length * 0.05f)).ToArray();
            random.Shuffle(ladder);
            ladder.CopyTo(x, 0);
        }
        else
        {
            for (var i = 0; i < x.Length; i++)
            {
                var v = (float)((random.NextDouble() * 2) - 1);
                x[i] = awayFromZero && Math.Abs(v) < 0.1f ? v + (0.2f * Math.Sign(v + 1e-9f)) : v;
            }
        }

        var outputs = batch * layer.OutputShape.FeatureCount;
        var r = Enumerable.Range(0, outputs).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        layer.Forward(x, batch, training: false);
        var dx = (float[])layer.Backward((float[])r.Clone(), batch, needInputGradient: true)!.Clone();
        var parameterGradients = layer.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();

        double Loss()
        {
            var y = layer.Forward(x, batch, training: false);
            var sum = 0.0;
            for (var i = 0; i < outputs; i++)
            {
                sum += (double)y[i] * r[i];
            }

            return sum;
        }

        void Compare(float[] values, int index, float analytic, string what)
        {
            var saved = values[index];
            values[index] = saved + Step;
            var up = Loss();
            values[index] = saved - Step;
            var down = Loss();
            values[index] = saved;
            var numeric = (up - down) / (2 * Step);
            Assert.True(Math.Abs(numeric - analytic) <= 2e-3 * Math.Max(1, Math.Abs(numeric)), $"{layer.Describe()} d/d{what}: analytic {analytic}, numeric {numeric}");
        }

        for (var i = 0; i < x.Length; i++)
        {
            Compare(x, i, dx[i], $"input[{i}]");
        }

        for (var p = 0; p < layer.Parameters.Count; p++)
        {
            var parameter = layer.Parameters[p];
            for (var i = 0; i < parameter.Values.Length; i++)
            {
                Compare(parameter.Values, i, parameterGradients[p][i], $"{parameter.Name}[{i}]");
            }
        }
    }
}
