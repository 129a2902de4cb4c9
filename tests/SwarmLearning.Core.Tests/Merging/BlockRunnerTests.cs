using SwarmLearning.Merging;
using SwarmLearning.Merging.Engine;

namespace SwarmLearning.Tests.Merging;

public sealed class BlockRunnerTests
{
    [Fact]
    public void Reduce_adds_block_partials_in_block_order_while_several_cores_work()
    {
        // Block 0 contributes 1e20 and every other block 5,000, less than half an ulp of 1e20: summed in block order
        // each 5,000 is lost; a core that added several 5,000s of its own first would carry them over. Each block
        // spins long enough that both workers take part whatever the scheduler does.
        // The test runner keeps the thread pool's few threads busy and the pool adds more only slowly, so make room
        // for the second worker up front.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        var models = TestModels.Cluster(seed: 3, n: 2, TestModels.Vector(400_000), noise: 0.1);
        var plan = ModelMerger.Plan(TestModels.Inputs(models), new MergeOptions { MaxDegreeOfParallelism = 2 });
        var runner = new BlockRunner(plan, BlockLayout.CacheResident, progress: null, CancellationToken.None);
        var blockStarts = new System.Collections.Concurrent.ConcurrentBag<long>();
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();

        var sum = runner.Reduce("test", (block, tensor, start, length, partial) =>
        {
            threads[Environment.CurrentManagedThreadId] = true;
            blockStarts.Add(start);
            Thread.SpinWait(200_000);
            partial[0] += start == 0 ? 1e20 : 5000;
        });

        var expected = 0.0;
        foreach (var start in blockStarts.Order())
        {
            expected += start == 0 ? 1e20 : 5000;
        }

        Assert.True(threads.Count >= 2, "the test needs two workers to mean anything");
        Assert.True(blockStarts.Count > 4);
        Assert.Equal(expected, sum[0]);
        Assert.Equal(1e20, sum[0]);
    }
}
