namespace SwarmLearning.Training;

/// <summary>
/// How many threads the training kernels use. The default is every core; a process that shares the machine with
/// other training processes (several swarm nodes on one host) should lower it, since oversubscribed cores make
/// parallel loops wait for each other far longer than the work takes. Results do not depend on this setting.
/// </summary>
public static class Parallelism
{
    private static int _maxThreads = Environment.ProcessorCount;

    /// <summary>Threads per parallel loop, at least 1 (1 runs every loop on the calling thread).</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxThreads = value;
        }
    }

    /// <summary>Runs <paramref name="body"/> for each i in [<paramref name="from"/>, <paramref name="to"/>), on up to <see cref="MaxThreads"/> threads.</summary>
    internal static void For(int from, int to, Action<int> body)
    {
        var threads = _maxThreads;
        if (threads <= 1 || to - from <= 1)
        {
            for (var i = from; i < to; i++)
            {
                body(i);
            }

            return;
        }

        Parallel.For(from, to, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }
}
