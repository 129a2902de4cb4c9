namespace SwarmLearning.Training;

/// <summary>Softmax cross-entropy over class scores, averaged over the batch, and its gradient.</summary>
internal static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Returns the mean loss of <paramref name="batch"/> rows of <paramref name="logits"/> (batch × classes) against
    /// <paramref name="labels"/>, and, when <paramref name="gradient"/> is given, writes d(mean loss)/d(logits)
    /// = (softmax − one-hot) / batch into it. Uses log-sum-exp with the row maximum subtracted, so large scores do
    /// not overflow.
    /// </summary>
    public static double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int batch, int classes, Span<float> gradient = default)
    {
        var total = 0.0;
        var scale = 1f / batch;
        for (var b = 0; b < batch; b++)
        {
            var row = logits.Slice(b * classes, classes);
            var max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            var sum = 0.0;
            for (var c = 0; c < classes; c++)
            {
                sum += Math.Exp(row[c] - max);
            }

            var logSum = max + Math.Log(sum);
            total += logSum - row[labels[b]];
            if (!gradient.IsEmpty)
            {
                var g = gradient.Slice(b * classes, classes);
                for (var c = 0; c < classes; c++)
                {
                    g[c] = (float)Math.Exp(row[c] - logSum) * scale;
                }

                g[labels[b]] -= scale;
            }
        }

        return total / batch;
    }
}
