using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>
/// The child process of the crash test: the test assembly run as a program with <see cref="Variable"/> set to a
/// store directory. It opens the store, prints <c>open COUNT TORN_BYTES</c>, then appends records (one at a time
/// or in batches) and prints <c>acked HEIGHT</c> after each append completes, until it is killed. Record contents
/// depend on the height alone (<see cref="StoreFiles.Payload"/>), so the parent can check every byte.
/// </summary>
internal static class CrashWriter
{
    public const string Variable = "SWARM_LEDGER_CRASH_WRITER";

    /// <summary>Records up to 256 KiB and batches up to 8 make writes of up to 2 MiB, which a kill can cut.</summary>
    public const int MaxLength = 256 << 10;

    // Bounds so that an orphaned writer stops by itself.
    private const int MaxRecords = 20_000;
    private static readonly TimeSpan MaxTime = TimeSpan.FromMinutes(2);

    public static async Task<int> RunAsync(string directory)
    {
        await using var store = BlockStore.Open(directory);
        await Console.Out.WriteLineAsync($"open {store.Count} {store.Recovery.TornBytesCut}");
        var random = new Random();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (store.Count < MaxRecords && System.Diagnostics.Stopwatch.GetElapsedTime(started) < MaxTime)
        {
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

        return 0;
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
