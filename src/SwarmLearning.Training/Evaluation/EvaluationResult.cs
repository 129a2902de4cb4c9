namespace SwarmLearning.Training.Evaluation;

/// <summary>
/// How a model did on a labelled set: mean cross-entropy loss, accuracy, macro-averaged F1 and the confusion
/// matrix (rows: true class, columns: predicted class).
/// </summary>
public sealed class EvaluationResult
{
    internal EvaluationResult(double loss, long[,] confusion)
    {
        Loss = loss;
        Confusion = confusion;
        var classes = confusion.GetLength(0);
        long correct = 0, total = 0;
        var f1Sum = 0.0;
        var counted = 0;
        for (var c = 0; c < classes; c++)
        {
            long truePositive = confusion[c, c], actual = 0, predicted = 0;
            for (var o = 0; o < classes; o++)
            {
                actual += confusion[c, o];
                predicted += confusion[o, c];
            }

            correct += truePositive;
            total += actual;
            // A class that never occurs and is never predicted has no F1; it is left out of the average rather than
            // counted as 0 or 1 (scikit-learn would warn and count 0).
            if (actual + predicted > 0)
            {
                f1Sum += 2.0 * truePositive / (actual + predicted);
                counted++;
            }
        }

        Samples = total;
        Accuracy = total == 0 ? 0 : (double)correct / total;
        MacroF1 = counted == 0 ? 0 : f1Sum / counted;
    }

    /// <summary>Number of samples evaluated.</summary>
    public long Samples { get; }

    /// <summary>Mean softmax cross-entropy.</summary>
    public double Loss { get; }

    /// <summary>Fraction of samples whose highest-scoring class is the true one.</summary>
    public double Accuracy { get; }

    /// <summary>The unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), over classes that occur or are predicted.</summary>
    public double MacroF1 { get; }

    /// <summary>Counts by (true class, predicted class).</summary>
    public long[,] Confusion { get; }
}
