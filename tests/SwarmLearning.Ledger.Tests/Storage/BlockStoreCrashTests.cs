using System.Diagnostics;
using System.Globalization;
using System.Text;
using SwarmLearning.Ledger.Storage;
using Xunit.Abstractions;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>
/// The crash test: a real process appends to a store and is killed with SIGKILL at a random moment, several times
/// over the same store; every append it reported as complete must be there, intact, when the store is reopened.
/// </summary>
public sealed class BlockStoreCrashTests : IDisposable
{
    private const int Rounds = 5;
    private const int AppendsAhead = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public BlockStoreCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_acknowledged_record_survives_a_SIGKILL_at_a_random_moment()
    {
        var directory = _dir.File("ledger");
        var random = new Random();
        long acknowledged = -1;
        for (var round = 0; round < Rounds; round++)
        {
            var killAfter = random.Next(1, 25);
            using var child = StartWriter(directory);
            var errors = new StringBuilder();
            child.ErrorDataReceived += (_, e) =>
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            };
            child.BeginErrorReadLine();
            try
            {
                var open = (await ReadLineAsync(child, errors)).Split(' ');
                Assert.Equal("open", open[0]);
                var reopenedCount = long.Parse(open[1], CultureInfo.InvariantCulture);
                Assert.True(reopenedCount > acknowledged, $"round {round}: the store reopened with {reopenedCount} records, but height {acknowledged} had been acknowledged");
                _output.WriteLine($"round {round}: reopened with {reopenedCount} records, cut {open[2]} torn bytes; killing after {killAfter} acks");

                // Two appends of credit ahead, one more per acknowledgement read: when the kill comes, the writer
                // is inside one of its next two appends (or has just finished them).
                await GrantAsync(child, AppendsAhead);
                for (var acks = 0; acks < killAfter; acks++)
                {
                    acknowledged = Math.Max(acknowledged, ParseAck(await ReadLineAsync(child, errors)));
                    await GrantAsync(child, 1);
                }

                child.Kill();  // SIGKILL on Unix: no handler runs, no buffer is flushed
                using var timeout = new CancellationTokenSource(Patience);
                var rest = await child.StandardOutput.ReadToEndAsync(timeout.Token);
                var lines = rest.Split('\n');
                foreach (var line in lines[..^1])  // the piece after the last newline is not a whole report
                {
                    acknowledged = Math.Max(acknowledged, ParseAck(line));
                }

                await child.WaitForExitAsync(timeout.Token);
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(128 + 9, child.ExitCode);  // killed by signal 9, not ended some other way
                }
            }
            finally
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }
            }
        }

        await using var store = BlockStore.Open(directory);
        _output.WriteLine($"after {Rounds} kills: {store.Count} records, highest acknowledged height {acknowledged}, last open cut {store.Recovery.TornBytesCut} bytes");
        Assert.True(store.Count > acknowledged, $"{store.Count} records stored, but height {acknowledged} was acknowledged");
        foreach (var (height, record) in store.ReadFrom(0))
        {
            Assert.True(StoreFiles.Payload(height, CrashWriter.MaxLength).AsSpan().SequenceEqual(record), $"record {height} differs from what was appended");
        }
    }

    private static Process StartWriter(string directory)
    {
        // The test host runs under the dotnet host; DOTNET_HOST_PATH names it when the SDK started the run.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host))
        {
            host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        }

        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,  // credits for appends; the writer exits when it closes, should this process die
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(CrashWriter).Assembly.Location);
        start.Environment[CrashWriter.Variable] = directory;
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
    }

    private static async Task GrantAsync(Process child, int appends)
    {
        await child.StandardInput.WriteLineAsync(appends.ToString(CultureInfo.InvariantCulture));
        await child.StandardInput.FlushAsync();
    }

    private static async Task<string> ReadLineAsync(Process child, StringBuilder errors)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var line = await child.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null)
        {
            await child.WaitForExitAsync(timeout.Token);
            string said;
            lock (errors)
            {
                said = errors.ToString();
            }

            Assert.Fail($"the writer ended early (exit code {child.ExitCode}): {said}");
        }

        return line;
    }

    private static long ParseAck(string line)
    {
        Assert.StartsWith("acked ", line, StringComparison.Ordinal);
        return long.Parse(line.AsSpan(6), CultureInfo.InvariantCulture);
    }
}
