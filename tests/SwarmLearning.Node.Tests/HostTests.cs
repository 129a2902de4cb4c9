using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>Starting an SL host: what it refuses, and what it cleans up.</summary>
public sealed class HostTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_identity_that_is_not_an_SL_identity_is_refused()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var e = await Assert.ThrowsAsync<SwarmException>(() =>
            SwarmLearningHost.StartAsync(swarm.Options("sn0"), swarm.Net.Identity("sn0"), swarm.Trust));
        Assert.Contains("needs one issued with --role sl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Temporary_files_a_crashed_run_left_are_deleted_at_start()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var options = swarm.Options("sl1");
        Directory.CreateDirectory(options.ModelDirectory);
        string[] names = [".put-1.tmp", ".receive-2.tmp", ".channel-3.tmp", "final.safetensors.tmp"];
        var leftovers = names.Select(n => Path.Combine(options.ModelDirectory, n)).ToList();
        var kept = Path.Combine(options.ModelDirectory, new string('c', 64) + ".safetensors");
        foreach (var path in leftovers.Append(kept))
        {
            await File.WriteAllTextAsync(path, "x");
        }

        await swarm.StartSlAsync("sl1", options, waitForRegistration: false);

        Assert.All(leftovers, path => Assert.False(File.Exists(path), $"{path} is still there"));
        Assert.True(File.Exists(kept));
    }

    [Fact]
    public async Task A_second_node_on_the_same_directory_is_refused_and_leaves_the_first_nodes_files_alone()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var first = swarm.Options("sl1");
        await swarm.StartSlAsync("sl1", first);
        var inFlight = Path.Combine(first.ModelDirectory, ".receive-inflight.tmp");
        await File.WriteAllTextAsync(inFlight, "x");

        var second = swarm.Options("sl1");
        second.SocketPath = swarm.Net.Directory.File("other.sock");
        var e = await Assert.ThrowsAsync<SwarmException>(() => swarm.StartSlAsync("sl1", second, waitForRegistration: false));

        Assert.Contains("in use by another process", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(inFlight));
    }
}
