using SwarmLearning.Merging;
using SwarmLearning.Merging.Kernels;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// <see cref="StreamingMean"/> takes models one at a time, and must give exactly the engine's <c>mean</c>: a leader
/// that merges as submissions arrive publishes the hash anyone recomputes with <c>swarm merge</c>.
/// </summary>
public sealed class StreamingMeanTests
{
    private static TensorModel Streamed(TensorModel[] models, double[] weights, KernelWidth width)
    {
        var mean = new StreamingMean(weights, width);
        mean.Add(mean.Reference, models[mean.Reference]);
        foreach (var i in mean.Order)
        {
            mean.Add(i, models[i]);
        }

        Assert.True(mean.IsComplete);
        return mean.Result();
    }

    public static TheoryData<int, int> Cases() => new()
    {
        { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 }, { 6, 6 }, { 8, 7 }, { 9, 8 }, { 13, 9 }, { 16, 10 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gives_the_engines_mean_bit_for_bit_at_every_kernel_width(int n, int seed)
    {
        // Close models, as in a swarm, over tensors of awkward sizes (scalar, 7, 129 elements: vector tails everywhere),
        // with uneven weights, ties for the largest and a zero among them.
        var models = TestModels.Cluster(seed, n, TestModels.Layout, noise: 0.01);
        var random = new Random(seed);
        var weights = Enumerable.Range(0, n).Select(_ => (double)random.Next(0, 4)).ToArray();
        weights[random.Next(n)] = 5;
        if (n > 2)
        {
            weights[(Array.IndexOf(weights, 5.0) + 1) % n] = 5; // a tie for the reference: the first one wins
        }

        foreach (var width in new[] { KernelWidth.Scalar, KernelWidth.V128, KernelWidth.V256, KernelWidth.V512, KernelWidth.Auto })
        {
            var (expected, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = MergeMethod.Mean, KernelWidth = width });
            var actual = Streamed(models, weights, width);
            Assert.Equal(TestModels.Layout, actual.Tensors);
            Assert.True(TestModels.Flatten(expected).AsSpan().SequenceEqual(TestModels.Flatten(actual)), $"n = {n}, {width}: the streamed mean differs from the engine's");
        }
    }

    [Fact]
    public void Long_tensors_agree_too()
    {
        // Several engine blocks and windows per tensor.
        var models = TestModels.Cluster(seed: 3, n: 7, TestModels.Vector(1_300_003), noise: 0.05);
        double[] weights = [1, 2, 3, 4, 5, 6, 7];
        var (expected, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = MergeMethod.Mean });
        Assert.True(TestModels.Flatten(expected).AsSpan().SequenceEqual(TestModels.Flatten(Streamed(models, weights, KernelWidth.Auto))));
    }

    [Fact]
    public void A_scratch_allocator_supplies_the_group_sums_which_are_written_before_they_are_read()
    {
        // Nine inputs: the reference, two groups of four. The scratch arrays arrive full of NaN: a sum that read them
        // before writing would poison the result.
        var models = TestModels.Cluster(seed: 4, n: 9, TestModels.Layout, noise: 0.01);
        var weights = Enumerable.Range(1, 9).Select(w => (double)w).ToArray();
        var given = new List<float[]>();
        var mean = new StreamingMean(weights)
        {
            ScratchAllocator = n =>
            {
                var array = new float[n];
                array.AsSpan().Fill(float.NaN);
                given.Add(array);
                return array;
            },
        };
        mean.Add(mean.Reference, models[mean.Reference]);
        foreach (var i in mean.Order)
        {
            mean.Add(i, models[i]);
        }

        var (expected, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = MergeMethod.Mean });
        Assert.True(TestModels.Flatten(expected).AsSpan().SequenceEqual(TestModels.Flatten(mean.Result())));
        Assert.Equal(TestModels.Layout.Count, given.Count); // one group sum per tensor, reused by the second group
        Assert.True(given.SequenceEqual(mean.Scratch, ReferenceEqualityComparer.Instance), "Scratch is not the arrays the allocator gave");

        // Fewer than five inputs that count: no group, no scratch.
        var small = new StreamingMean([1, 1, 1]) { ScratchAllocator = _ => throw new InvalidOperationException("no scratch expected") };
        small.Add(small.Reference, models[small.Reference]);
        foreach (var i in small.Order)
        {
            small.Add(i, models[i]);
        }

        Assert.Empty(small.Scratch);
    }

    [Fact]
    public void A_scratch_allocator_that_gives_the_wrong_length_is_refused()
    {
        var models = TestModels.Cluster(seed: 5, n: 5, TestModels.Layout, noise: 0.01);
        var mean = new StreamingMean([1, 1, 1, 1, 1]) { ScratchAllocator = n => new float[n + 1] };
        mean.Add(mean.Reference, models[mean.Reference]);
        var e = Assert.Throws<InvalidOperationException>(() => mean.Add(mean.Order[0], models[mean.Order[0]]));
        Assert.Contains("scratch allocator", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_reference_is_the_heaviest_input_and_zero_weights_are_left_out()
    {
        var mean = new StreamingMean([1, 0, 3, 3, 2]);
        Assert.Equal(2, mean.Reference);
        Assert.Equal([0, 3, 4], mean.Order);
    }

    [Fact]
    public void Inputs_out_of_order_are_refused()
    {
        var models = TestModels.Independent(seed: 1, n: 3, TestModels.Layout);
        var mean = new StreamingMean([1, 2, 1]);
        Assert.Throws<InvalidOperationException>(() => mean.Add(0, models[0]));
        mean.Add(1, models[1]);
        Assert.Throws<InvalidOperationException>(() => mean.Add(2, models[2]));
        Assert.Throws<InvalidOperationException>(() => mean.Result());
        mean.Add(0, models[0]);
        mean.Add(2, models[2]);
        Assert.Throws<InvalidOperationException>(() => mean.Add(2, models[2]));
    }

    [Fact]
    public void A_model_with_other_tensors_is_refused_naming_the_tensor()
    {
        var mean = new StreamingMean([1, 1]);
        mean.Add(0, TestModels.FromFlat(new float[10], TestModels.Vector(10, "w"), "a"));
        var e = Assert.Throws<MergeException>(() => mean.Add(1, TestModels.FromFlat(new float[10], TestModels.Vector(10, "v"), "b")));
        Assert.Contains("'v'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_overflowing_mean_is_refused_as_the_engine_refuses_it()
    {
        var layout = TestModels.Vector(3);
        TensorModel[] models = [TestModels.FromFlat([3e38f, 0, 0], layout, "a"), TestModels.FromFlat([-3e38f, 0, 0], layout, "b")];
        double[] weights = [1, 1e-3];
        var engine = Assert.Throws<MergeException>(() => ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = MergeMethod.Mean }));
        var mean = new StreamingMean(weights);
        mean.Add(0, models[0]);
        mean.Add(1, models[1]);
        var streamed = Assert.Throws<MergeException>(() => mean.Result());
        Assert.Equal(engine.Message, streamed.Message);
    }

    [Fact]
    public void Bad_weights_are_refused()
    {
        Assert.Throws<MergeException>(() => new StreamingMean([]));
        Assert.Throws<MergeException>(() => new StreamingMean([0, 0]));
        Assert.Throws<MergeException>(() => new StreamingMean([1, double.NaN]));
        Assert.Throws<MergeException>(() => new StreamingMean([1, -1]));
    }
}
