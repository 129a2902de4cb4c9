using SwarmLearning.Merging;

namespace SwarmLearning.Tests.Merging;

/// <summary><see cref="MergeMomentum"/>: the merge plus β times the swarm's last step, FedAvgM's server momentum.</summary>
public sealed class MergeMomentumTests
{
    [Fact]
    public void Adds_beta_times_the_last_step_to_every_value_and_leaves_its_inputs_alone()
    {
        var merged = TestModels.FromFlat([1.0, -2.0, 0.5, 4.0, 10.0, 0.0, 3.0], TestModels.Vector(7), "merged");
        var latest = TestModels.FromFlat([2.0, 2.0, -1.0, 4.0, 6.0, 0.25, 0.0], TestModels.Vector(7), "x1");
        var before = TestModels.FromFlat([1.0, 4.0, -1.0, 0.0, 2.0, 0.75, 0.0], TestModels.Vector(7), "x2");
        var copies = new[] { merged, latest, before }.Select(TestModels.Flatten).ToList();

        var stepped = MergeMomentum.Apply(merged, latest, before, 0.5f);

        // 1 + 0.5 (2 − 1), −2 + 0.5 (2 − 4), … : exact in binary floating point.
        Assert.Equal([1.5f, -3f, 0.5f, 6f, 12f, -0.25f, 3f], TestModels.Flatten(stepped));
        Assert.Equal(merged.Tensors, stepped.Tensors);
        Assert.Equal(copies, new[] { merged, latest, before }.Select(TestModels.Flatten).ToList());
    }

    [Fact]
    public void Beta_zero_gives_the_merge_itself_over_a_layout_of_several_tensors()
    {
        var models = TestModels.Cluster(3, 3, TestModels.Layout, noise: 0.1);
        var stepped = MergeMomentum.Apply(models[0], models[1], models[2], 0f);
        Assert.Equal(TestModels.Flatten(models[0]), TestModels.Flatten(stepped));
        Assert.NotSame(models[0].NamedTensors[0].Values, stepped.NamedTensors[0].Values);
    }

    [Fact]
    public void Refuses_models_whose_tensors_differ_and_a_beta_outside_zero_to_one()
    {
        var a = TestModels.FromFlat([1.0, 2.0], TestModels.Vector(2), "a");
        var longer = TestModels.FromFlat([1.0, 2.0, 3.0], TestModels.Vector(3), "b");
        var renamed = TestModels.FromFlat([1.0, 2.0], TestModels.Vector(2, "v"), "c");

        Assert.Contains("the last merged model has no tensor 'w'", Assert.Throws<MergeException>(() => MergeMomentum.Apply(a, longer, a, 0.5f)).Message, StringComparison.Ordinal);
        Assert.Contains("the merged model before it has no tensor 'w'", Assert.Throws<MergeException>(() => MergeMomentum.Apply(a, a, renamed, 0.5f)).Message, StringComparison.Ordinal);
        foreach (var beta in new[] { 1f, -0.5f, float.NaN })
        {
            Assert.Contains("at least 0 and below 1", Assert.Throws<MergeException>(() => MergeMomentum.Apply(a, a, a, beta)).Message, StringComparison.Ordinal);
        }
    }
}
