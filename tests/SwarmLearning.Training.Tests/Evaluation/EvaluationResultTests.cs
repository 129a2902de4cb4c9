using SwarmLearning.Training.Evaluation;

namespace SwarmLearning.Training.Tests.Evaluation;

public sealed class EvaluationResultTests
{
    [Fact]
    public void Accuracy_and_macro_F1_follow_their_definitions()
    {
        // Class 0: TP 2, FN 1, FP 0 → F1 = 4/5. Class 1: TP 3, FN 0, FP 1 → F1 = 6/7.
        var result = new EvaluationResult(0.5, new long[,] { { 2, 1 }, { 0, 3 } });
        Assert.Equal(6, result.Samples);
        Assert.Equal(5.0 / 6, result.Accuracy, 12);
        Assert.Equal(((4.0 / 5) + (6.0 / 7)) / 2, result.MacroF1, 12);
        Assert.Equal(0.5, result.Loss);
    }

    [Fact]
    public void A_class_never_seen_nor_predicted_is_left_out_of_macro_F1_but_a_missed_one_counts_zero()
    {
        var absent = new EvaluationResult(0, new long[,] { { 3, 0, 0 }, { 0, 3, 0 }, { 0, 0, 0 } });
        Assert.Equal(1.0, absent.MacroF1);
        var missed = new EvaluationResult(0, new long[,] { { 3, 0, 0 }, { 0, 3, 0 }, { 2, 0, 0 } });
        // Class 0: TP 3, FP 2 → 6/8; class 1: 1; class 2: TP 0 → 0.
        Assert.Equal(((6.0 / 8) + 1 + 0) / 3, missed.MacroF1, 12);
        Assert.Equal(6.0 / 8, missed.Accuracy, 12);
    }

    [Fact]
    public void Trainer_counts_predictions_into_the_confusion_matrix()
    {
        var data = NetworkTests.Blobs(count: 30, features: 4, classes: 3, seed: 1, noise: 0.5f);
        var network = new Network(data.Shape, [new Training.Layers.Dense(3)], seed: 2);
        var result = Trainer.Evaluate(network, data, batchSize: 7);
        long total = 0, diagonal = 0;
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                total += result.Confusion[i, j];
            }

            diagonal += result.Confusion[i, i];
            Assert.Equal(10, Enumerable.Range(0, 3).Sum(j => result.Confusion[i, j]));
        }

        Assert.Equal(30, total);
        Assert.Equal(diagonal / 30.0, result.Accuracy, 12);
        Assert.True(result.Loss > 0);
    }
}
