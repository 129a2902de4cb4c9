using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// <c>swarm demo</c>: the real thing as processes (a sentinel SN, SL nodes and ML programs on loopback, on a slice of
/// Debian's Fashion-MNIST), interrupted, and refused before anything starts.
/// </summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Three_nodes_train_as_processes_and_end_with_the_same_model()
    {
        var dir = Path.Combine(_harness.Directory, "demo");
        var (code, output, error) = await CliHarness.RunProcessAsync(
            TimeSpan.FromMinutes(3), "demo", "--nodes", "3", "--epochs", "1", "--limit", "600", "--merge-momentum", "0.5", "--dir", dir, "--json");
        Assert.True(code == 0, $"exit code {code}: {error}");
        Assert.Equal(string.Empty, error.Trim()); // --json: the summary is the only output

        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(3, nodes.Count);
        var hashes = nodes.Select(n => n.GetProperty("finalModelSha256").GetString()).ToList();
        Assert.Single(hashes.Distinct());
        Assert.Matches("^[0-9a-f]{64}$", hashes[0]);
        Assert.True(root.GetProperty("identical").GetBoolean());
        Assert.True(root.GetProperty("rounds").GetInt64() >= 2, "the initial sync and at least one merge");
        foreach (var node in nodes)
        {
            Assert.Equal(600, node.GetProperty("samples").GetInt32());
            // Far above chance (10 %) after one epoch on 600 samples per node (about 0.47 here), and no more than everything.
            Assert.InRange(node.GetProperty("swarmAccuracy").GetDouble(), 0.3, 1.0);
            Assert.InRange(node.GetProperty("localAccuracy").GetDouble(), 0.1, 1.0);
        }

        Assert.True(root.GetProperty("seconds").GetDouble() > 0);

        // A directory given with --dir is kept, with a log per process and the summary.
        foreach (var log in new[] { "sn0", "sl1", "sl2", "sl3", "ml1", "ml2", "ml3", "local1", "local2", "local3" })
        {
            Assert.True(File.Exists(Path.Combine(dir, "logs", $"{log}.log")), $"{log}.log is missing");
        }

        Assert.True(File.Exists(Path.Combine(dir, "summary.json")));

        // finalModelSha256 is what sha256sum prints for each node's final model file, and finalModelHash the model
        // hash the ledger records, of the same bytes.
        foreach (var node in nodes)
        {
            var final = Path.Combine(dir, node.GetProperty("name").GetString()!, "models", "final.safetensors");
            var bytes = await File.ReadAllBytesAsync(final);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), node.GetProperty("finalModelSha256").GetString());
            Assert.Equal(ModelHash.Of(bytes), node.GetProperty("finalModelHash").GetString());
        }
        Assert.Empty(ProcessesUsing(dir));

        // --merge-momentum reaches every ML program's session: from the third merge on, leaders add the last step.
        Assert.Equal(0.5, root.GetProperty("mergeMomentum").GetDouble());
        var slLogs = string.Concat(Enumerable.Range(1, 3).Select(n => File.ReadAllText(Path.Combine(dir, "logs", $"sl{n}.log"))));
        Assert.Contains("momentum 0.5", slLogs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interrupt_stops_every_process_the_demo_started()
    {
        var dir = Path.Combine(_harness.Directory, "interrupted");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "swarm.dll"), "demo", "--nodes", "2", "--epochs", "50", "--dir", dir })
        {
            info.ArgumentList.Add(a);
        }

        using var demo = Process.Start(info)!;
        var output = demo.StandardOutput.ReadToEndAsync();
        var lines = new List<string>();
        var training = false;
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            // Not a terminal: the demo prints its events as lines. Wait until the ML programs train.
            while (!training && await demo.StandardError.ReadLineAsync(limit.Token) is { } line)
            {
                lines.Add(line);
                training = line.Contains("training:", StringComparison.Ordinal);
            }
        }

        Assert.True(training, "the demo never started training:\n" + string.Join('\n', lines));
        Assert.NotEmpty(ProcessesUsing(dir));

        // SIGINT to the demo alone (a terminal's Ctrl+C would reach the children too): it must stop them itself.
        using (var kill = Process.Start("kill", ["-INT", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var rest = demo.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await demo.WaitForExitAsync(limit.Token);
        }

        var error = string.Join('\n', lines) + "\n" + await rest;
        Assert.True(demo.ExitCode == 130, $"exit code {demo.ExitCode}: {error}");
        Assert.Contains(Path.Combine(dir, "logs"), error, StringComparison.Ordinal);
        Assert.Empty(ProcessesUsing(dir));
        Assert.Equal(string.Empty, (await output).Trim());
    }

    [Theory]
    [InlineData("--nodes", "1", "--nodes must be from 2 to 16")]
    [InlineData("--nodes", "17", "--nodes must be from 2 to 16")]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--merge-method", "average", "--merge-method must be one of mean, coordmedian, geomedian, trimmedmean, krum, not 'average'")]
    [InlineData("--model", "rnn", "rnn")]
    [InlineData("--sync-frequency", "0", "--sync-frequency must be at least 1")]
    [InlineData("--limit", "0", "--limit must be at least 1")]
    public async Task Bad_options_are_usage_errors_that_name_the_option(string option, string value, string expected)
    {
        var (code, _, error) = await CliHarness.RunAsync("demo", option, value, "--dir", Path.Combine(_harness.Directory, "never"));
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_harness.Directory, "never")), "nothing is made for a refused command line");
    }

    [Fact]
    public async Task Krum_needs_three_nodes()
    {
        var (code, _, error) = await CliHarness.RunAsync("demo", "--merge-method", "KRUM", "--nodes", "2");
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains("krum needs at least 3 nodes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_that_is_not_empty_is_refused_before_anything_starts()
    {
        var dir = Path.Combine(_harness.Directory, "used");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "notes.txt"), "mine");
        var (code, _, error) = await CliHarness.RunAsync("demo", "--dir", dir);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("--dir", error, StringComparison.Ordinal);
        Assert.Contains("not empty", error, StringComparison.Ordinal);
        Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_file_given_as_the_directory_is_refused()
    {
        var file = Path.Combine(_harness.Directory, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var (code, _, error) = await CliHarness.RunAsync("demo", "--dir", file);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("is a file", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_options_and_the_merge_round()
    {
        var (code, output, _) = await CliHarness.RunAsync("demo", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--nodes", "--epochs", "--merge-method", "--model", "--sync-frequency", "--dir", "--limit", "--json", "--keep", "merge-round" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    /// <summary>Processes whose command line mentions <paramref name="directory"/>: the demo's children (and the demo).</summary>
    private static List<int> ProcessesUsing(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(directory, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // It exited meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's: not ours.
            }
        }

        return found;
    }
}
