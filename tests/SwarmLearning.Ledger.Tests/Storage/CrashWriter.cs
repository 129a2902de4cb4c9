using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>
/// The child process of the crash test: the test assembly run as a program with <see cref="Variable"/> set to a
/// store directory. It opens the store, prints <c>open COUNT TORN_BYTES</c>, then appends records (one at a time
/// or in batches) and prints <c>acked HEIGHT</c> after each append completes, until it is killed. Record contents
/// depend on the height alone (<see cref="StoreFiles.Payload"/>), so the parent can check every byte.
/// </summary>
/// <remarks>
/// Each append needs a credit, one per line the parent writes to standard input (a number of credits). The parent
/// keeps the writer a couple of appends ahead of the acknowledgements it has read, so that the kill lands in the
/// middle of the writer's work and not thousands of records after the moment the parent chose; and end of input
/// (the parent is gone) ends the writer, so it never runs on alone.
/// </remarks>
internal static class CrashWriter
{
    public const string Variable = "SWARM_LEDGER_CRASH_WRITER";

    /// <summary>
    /// Records up to 64 KiB in batches up to 8 make writes of up to half a MiB, long enough for a kill to land inside
    /// one now and then.
    /// </summary>
    public const int MaxLength = 64 << 10;

    public static async Task<int> RunAsync(string directory)
    {
        using var credits = new SemaphoreSlim(0);
        _ = Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                credits.Release(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture));
            }

            Environment.Exit(3);
        });

        await using var store = BlockStore.Open(directory);
        await Console.Out.WriteLineAsync($"open {store.Count} {store.Recovery.TornBytesCut}");
        var random = new Random();
        while (true)
        {
            await credits.WaitAsync();
            var first = store.Count;
            var n = random.Next(1, 9);
            if (n == 1)
            {
                await store.AppendAsync(StoreFiles.Payload(first, MaxLength));
            }
            else
            {
                await store.AppendAsync(Enumerable.Range(0, n).Select(i => (ReadOnlyMemory<byte>)StoreFiles.Payload(first + i, MaxLength)).ToList());
            }

            await Console.Out.WriteLineAsync($"acked {first + n - 1}");
        }
    }
}

/// <summary>
/// The test assembly's entry point (Microsoft.NET.Test.Sdk's generated one is turned off in the project): the test
/// host never calls it; the crash test runs the assembly as a program to get a child process it can kill.
/// </summary>
internal static class Program
{
    public static async Task<int> Main()
    {
        var directory = Environment.GetEnvironmentVariable(CrashWriter.Variable);
        if (string.IsNullOrEmpty(directory))
        {
            await Console.Error.WriteLineAsync($"This is a test assembly; run it with dotnet test. Set {CrashWriter.Variable} to a directory to run the crash test's writer.");
            return 2;
        }

        return await CrashWriter.RunAsync(directory);
    }
}
