using SwarmLearning.Node.Simulation;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Simulation;

public sealed class SimulatedAttackTests
{
    private static TensorModel Model() => new([
        new NamedTensor("w", TensorDType.F32, new TensorShape(2, 500), [.. Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i) * 0.05f)]),
        new NamedTensor("b", TensorDType.F32, new TensorShape(2), [0.5f, -0.25f]),
    ]);

    [Fact]
    public void Scaling_multiplies_every_value_without_touching_the_nodes_own_model()
    {
        var poison = SimulatedAttacks.Create(SimulatedAttack.Scale, 100, seed: 1)!;
        var model = Model();
        var scaled = poison(model);
        Assert.NotSame(model, scaled);
        Assert.Equal([50f, -25f], scaled["b"].Values);
        Assert.Equal(model["w"].Values.Select(v => v * 100), scaled["w"].Values);
        Assert.Equal(0.5f, model["b"].Values[0]); // the node trains on, unpoisoned
    }

    [Fact]
    public void Noise_has_the_spread_of_the_weights_it_replaces_and_differs_every_round()
    {
        var poison = SimulatedAttacks.Create(SimulatedAttack.Noise, 100, seed: 2)!;
        var model = Model();
        var first = poison(model)["w"].Values;
        var second = poison(model)["w"].Values;
        static double Std(float[] v) => Math.Sqrt(v.Average(x => (double)x * x) - Math.Pow(v.Average(x => (double)x), 2));
        Assert.InRange(Std(first) / Std(model["w"].Values), 0.85, 1.15);
        Assert.NotEqual(first, second);
        Assert.NotEqual(model["w"].Values, first);
    }

    [Fact]
    public void None_is_no_poisoning_and_names_parse_ignoring_case()
    {
        Assert.Null(SimulatedAttacks.Create(SimulatedAttack.None, 100, seed: 3));
        Assert.True(SimulatedAttacks.TryParse("NOISE", out var attack));
        Assert.Equal(SimulatedAttack.Noise, attack);
        Assert.False(SimulatedAttacks.TryParse("flood", out _));
    }
}
