namespace SwarmLearning.Training.Data.Partitioning;

/// <summary>The result of <see cref="Partitioner.Partition"/>: which samples each node gets, and each node's class histogram.</summary>
public sealed class DataPartition
{
    internal DataPartition(int[][] nodes, ReadOnlySpan<int> labels, int classCount, PartitionOptions options, int[][]? favouredClasses)
    {
        Nodes = nodes;
        ClassCount = classCount;
        Options = options;
        FavouredClasses = favouredClasses;
        var histograms = new int[nodes.Length][];
        for (var k = 0; k < nodes.Length; k++)
        {
            histograms[k] = new int[classCount];
            foreach (var i in nodes[k])
            {
                histograms[k][labels[i]]++;
            }
        }

        Histograms = histograms;
    }

    /// <summary>The sample indices of each node (node k at index k − 1 of node-k), ascending.</summary>
    public IReadOnlyList<int[]> Nodes { get; }

    /// <summary>Each node's samples per class.</summary>
    public IReadOnlyList<int[]> Histograms { get; }

    /// <summary><see cref="PartitionMethod.Biased"/> only: the classes each node favours, ascending; otherwise null.</summary>
    public IReadOnlyList<int[]>? FavouredClasses { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>The method, α and seed used.</summary>
    public PartitionOptions Options { get; }
}
