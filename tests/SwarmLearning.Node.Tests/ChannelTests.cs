using System.Net;
using System.Net.Sockets;
using System.Text;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>One SN and one SL host shared by the channel tests that only read or open and close sessions.</summary>
public sealed class ChannelFixture : IAsyncLifetime
{
    internal TestSwarm Swarm { get; private set; } = null!;

    internal RunningLearningNode Node { get; private set; } = null!;

    internal ChannelClient Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Swarm = await TestSwarm.StartAsync(null);
        Node = await Swarm.StartSlAsync("sl1");
        Channel = Swarm.Channel(Node);
    }

    public async Task DisposeAsync() => await Swarm.DisposeAsync();
}

/// <summary>
/// The local channel's refusals (docs/local-channel.md): HPE-style messages naming the bad parameter, the API version,
/// one session at a time and one call at a time, unknown sessions and contracts, bodies that are not models.
/// </summary>
public sealed class ChannelTests(ChannelFixture fixture, ITestOutputHelper output) : IClassFixture<ChannelFixture>
{
    private ChannelClient Channel => fixture.Channel;

    [Theory]
    [InlineData("""{"minPeers": 2}""", "syncFrequency is required: it must be an integer greater than 0")]
    [InlineData("""{"syncFrequency": 0, "minPeers": 2}""", "syncFrequency must be an integer greater than 0, not 0")]
    [InlineData("""{"syncFrequency": "abc", "minPeers": 2}""", "syncFrequency must be an integer greater than 0, not \"abc\"")]
    [InlineData("""{"syncFrequency": 1.5, "minPeers": 2}""", "syncFrequency must be an integer greater than 0, not 1.5")]
    [InlineData("""{"syncFrequency": 8, "minPeers": -1}""", "minPeers must be an integer greater than 0, not -1")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "nodeWeightage": 101}""", "nodeWeightage must be an integer from 1 to 100, not 101")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "mergeMethod": "avg"}""", "mergeMethod must be one of mean, coordmedian, geomedian, trimmedmean, krum, not \"avg\"")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "mergeMomentum": 1}""", "mergeMomentum must be at least 0 and below 1, not 1")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "mergeMomentum": "0.5"}""", "mergeMomentum must be a number at least 0 and below 1, not \"0.5\"")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "checkinModelOnTrainEnd": "later"}""", "checkinModelOnTrainEnd must be snapshot, active or inactive, not \"later\"")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "useAdaptiveSync": 1}""", "useAdaptiveSync must be true or false, not 1")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "totalEpochs": -1}""", "totalEpochs must be 0 (unknown) or more, not -1")]
    [InlineData("""{"syncFrequency": 8, "minPeers": 2, "trainingContract": ""}""", "trainingContract must name a training contract")]
    [InlineData("""{"syncFreq": 8, "minPeers": 2}""", "unknown parameter 'syncFreq'; the parameters are syncFrequency, minPeers")]
    [InlineData("""{"SyncFrequency": 8, "minPeers": 2}""", "unknown parameter 'SyncFrequency'; did you mean 'syncFrequency'?")]
    [InlineData("""[8, 2]""", "the body must be a JSON object of swarm parameters")]
    [InlineData("""{"syncFrequency": 8,""", "the body is not valid JSON")]
    public async Task Opening_a_session_with_bad_parameters_is_refused_with_a_message_naming_the_parameter(string body, string expected)
    {
        var (status, error) = await Channel.PostJsonAsync("/v1/sessions", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid", error.GetProperty("error").GetString());
        Assert.Contains(expected, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Null(fixture.Node.Node.Sessions.Open);
    }

    [Fact]
    public void The_merge_momentum_a_program_asks_for_reaches_its_session_and_is_zero_when_not_asked()
    {
        using var asked = System.Text.Json.JsonDocument.Parse("""{"syncFrequency": 8, "minPeers": 2, "mergeMomentum": 0.5}""");
        using var silent = System.Text.Json.JsonDocument.Parse("""{"syncFrequency": 8, "minPeers": 2}""");
        Assert.Equal(0.5, Node.Channel.ChannelRequests.ParseSession(asked.RootElement).Options!.MergeMomentum);
        Assert.Equal(0, Node.Channel.ChannelRequests.ParseSession(silent.RootElement).Options!.MergeMomentum);
    }

    [Fact]
    public async Task Every_problem_is_listed_at_once()
    {
        var (_, error) = await Channel.PostJsonAsync("/v1/sessions", """{"syncFrequency": 0, "minPeers": 0, "mergeMethod": "avg"}""");
        var message = error.GetProperty("message").GetString()!;
        Assert.StartsWith("invalid swarm parameters: ", message, StringComparison.Ordinal);
        Assert.Contains("syncFrequency", message, StringComparison.Ordinal);
        Assert.Contains("minPeers", message, StringComparison.Ordinal);
        Assert.Contains("mergeMethod", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("3", "3")]
    [InlineData("\"2\"", "\"2\"")]
    public async Task A_program_of_another_API_version_is_refused_with_HPEs_message(string version, string shown)
    {
        var (status, error) = await Channel.PostJsonAsync("/v1/sessions", $$"""{"syncFrequency": 8, "minPeers": 2, "apiVersion": {{version}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"Mismatch in the Swarm API version between the ML program ({shown}) and the SL node (2)", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Info_names_the_node_its_SN_and_the_open_session()
    {
        var (status, info) = await Channel.GetAsync("/v1/info");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, info.GetProperty("apiVersion").GetInt32());
        Assert.Equal("sl1", info.GetProperty("node").GetString());
        Assert.Equal(fixture.Node.Node.Identity.Fingerprint.ToString(), info.GetProperty("fingerprint").GetString());
        Assert.Equal($"https://localhost:{fixture.Swarm.Sentinel.Node.Options.ApiPort}", info.GetProperty("sn").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, info.GetProperty("session").ValueKind);
    }

    [Fact]
    public async Task One_session_at_a_time_a_second_is_409_until_the_first_is_deleted()
    {
        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        try
        {
            var (_, info) = await Channel.GetAsync("/v1/info");
            Assert.Equal(id, info.GetProperty("session").GetString());

            var (status, error) = await Channel.PostJsonAsync("/v1/sessions", """{"syncFrequency": 8, "minPeers": 2}""");
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal("conflict", error.GetProperty("error").GetString());
            Assert.Contains($"DELETE /v1/sessions/{id}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.NoContent, await Channel.DeleteAsync($"/v1/sessions/{id}"));
        }

        Assert.Equal(HttpStatusCode.NoContent, await Channel.DeleteAsync($"/v1/sessions/{id}")); // saying goodbye twice is fine
        var again = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        Assert.NotEqual(id, again);
        Assert.Equal(HttpStatusCode.NoContent, await Channel.DeleteAsync($"/v1/sessions/{again}"));
    }

    [Fact]
    public async Task Unknown_sessions_are_404()
    {
        var sync = await Channel.PostModelAsync("/v1/sessions/0123456789abcdef/sync", Models.Tiny(1));
        Assert.Equal(HttpStatusCode.NotFound, sync.Status);
        Assert.Equal("notFound", sync.ErrorKind);
        Assert.Contains("POST /v1/sessions", sync.ErrorMessage, StringComparison.Ordinal);

        var (status, _) = await Channel.PostJsonAsync("/v1/sessions/0123456789abcdef/progress", """{"loss": 1, "metric": 0, "epochsDone": 1}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(HttpStatusCode.NotFound, await Channel.DeleteAsync("/v1/sessions/0123456789abcdef"));
    }

    [Fact]
    public async Task An_unknown_training_contract_is_404_and_says_how_to_create_one()
    {
        var (status, error) = await Channel.PostJsonAsync("/v1/sessions", """{"syncFrequency": 8, "minPeers": 2, "trainingContract": "mnist.contract"}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("notFound", error.GetProperty("error").GetString());
        Assert.Contains("training contract 'mnist.contract' does not exist on the ledger", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_safetensors_or_a_bad_progress_report_is_400()
    {
        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        try
        {
            var begin = await Channel.PostBytesAsync($"/v1/sessions/{id}/begin", Encoding.UTF8.GetBytes("not a model"));
            Assert.Equal(HttpStatusCode.BadRequest, begin.Status);
            Assert.Contains("is not a valid safetensors model: the request body:", begin.ErrorMessage, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(fixture.Node.Node.Store.Directory, "*.tmp"));

            var (status, error) = await Channel.PostJsonAsync($"/v1/sessions/{id}/progress", """{"loss": "low", "metric": 0.5}""");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            var message = error.GetProperty("message").GetString()!;
            Assert.Contains("loss must be a finite number, not \"low\"", message, StringComparison.Ordinal);
            Assert.Contains("epochsDone is required", message, StringComparison.Ordinal);
        }
        finally
        {
            await Channel.DeleteAsync($"/v1/sessions/{id}");
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_socket_is_private_to_its_user_and_serves_no_models()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fixture.Node.SocketPath));
        var (status, _) = await Channel.GetAsync("/v1/models/" + new string('a', 64));
        Assert.Equal(HttpStatusCode.NotFound, status);
        output.WriteLine($"socket {fixture.Node.SocketPath}");
    }
}

/// <summary>Channel behaviour that needs a swarm of its own: calls that block, a stopped SN, socket files.</summary>
public sealed class ChannelSessionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_second_call_while_one_runs_is_409_and_deleting_the_session_ends_the_running_call()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");

        // minPeers 2 and no other node: begin waits for a peer.
        var begin = channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        await TestSwarm.WaitUntilAsync(sl1, s => s.Contracts[LedgerDefaults.HpeDefaultContract].Round.Ready.ContainsKey(sl1.Node.Identity.Fingerprint), "sl1 ready for round 1");
        var second = await channel.PostModelAsync($"/v1/sessions/{id}/sync", Models.Tiny(1));
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Contains("running its begin call", second.ErrorMessage, StringComparison.Ordinal);
        var (progressStatus, _) = await channel.PostJsonAsync($"/v1/sessions/{id}/progress", """{"loss": 1, "metric": 0, "epochsDone": 0}""");
        Assert.Equal(HttpStatusCode.Conflict, progressStatus);

        Assert.Equal(HttpStatusCode.NoContent, await channel.DeleteAsync($"/v1/sessions/{id}"));
        var ended = await begin.WaitAsync(Network.Tests.TestNetwork.Patience);
        Assert.Equal(HttpStatusCode.Conflict, ended.Status);
        Assert.Contains("was closed", ended.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(sl1.Node.Sessions.Open);
    }

    [Fact]
    public async Task A_call_made_as_soon_as_the_last_answer_is_read_is_never_refused_as_overlapping()
    {
        // An ML program that has read a whole answer makes its next call at once (PyTorch's did, and once got a 409:
        // the node left the call only after sending the answer, and the last bytes can arrive first). Back to back,
        // many times: none may be refused.
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 1, "minPeers": 1}""");
        var begin = await channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        Assert.Equal(HttpStatusCode.OK, begin.Status);
        for (var i = 0; i < 30; i++)
        {
            var sync = await channel.PostModelAsync($"/v1/sessions/{id}/sync", Models.Tiny(i + 2));
            Assert.True(sync.Status == HttpStatusCode.OK, $"sync {i + 1} answered {(int)sync.Status}: {sync.ErrorMessage}");
        }
    }

    [Fact]
    public async Task A_call_waiting_for_peers_when_the_node_stops_ends_with_a_reason()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        var begin = channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        await TestSwarm.WaitUntilAsync(sl1, s => s.Contracts[LedgerDefaults.HpeDefaultContract].Round.Ready.ContainsKey(sl1.Node.Identity.Fingerprint), "sl1 ready for round 1");

        var stopping = swarm.StopAsync(sl1);
        var ended = await begin.WaitAsync(Network.Tests.TestNetwork.Patience);
        await stopping.WaitAsync(Network.Tests.TestNetwork.Patience);

        Assert.Equal(HttpStatusCode.Conflict, ended.Status);
        Assert.Contains("the SL node is stopping", ended.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sync_whose_tensors_differ_from_the_swarms_model_is_refused_before_any_round()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 1}""");
        var begin = await channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        Assert.True(begin.Status == HttpStatusCode.OK, begin.ErrorMessage);
        var round = sl1.Node.Ledger.State.Contracts[LedgerDefaults.HpeDefaultContract].Round.Number;

        var reshaped = new Tensors.TensorModel(
        [
            new Tensors.NamedTensor("fc.weight", Tensors.TensorDType.F32, new Tensors.TensorShape(3, 2), [1, 2, 3, 4, 5, 6]),
            new Tensors.NamedTensor("head.bias", Tensors.TensorDType.F32, new Tensors.TensorShape(2), [0, 0]),
        ]);
        var sync = await channel.PostModelAsync($"/v1/sessions/{id}/sync", reshaped);

        Assert.Equal(HttpStatusCode.BadRequest, sync.Status);
        Assert.Contains("tensor 'fc.weight' is F32 [3, 2] but F32 [2, 3] in the swarm's model", sync.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("tensor 'head.bias' is not in the swarm's model", sync.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("tensor 'fc.bias' is missing", sync.ErrorMessage, StringComparison.Ordinal);
        Assert.False(sl1.Node.Ledger.State.Contracts[LedgerDefaults.HpeDefaultContract].Round.Ready.ContainsKey(sl1.Node.Identity.Fingerprint));
        Assert.Equal(round, sl1.Node.Ledger.State.Contracts[LedgerDefaults.HpeDefaultContract].Round.Number);

        var good = await channel.PostModelAsync($"/v1/sessions/{id}/sync", begin.Model!);
        Assert.True(good.Status == HttpStatusCode.OK, good.ErrorMessage);
    }

    [Fact]
    public async Task A_sync_while_the_SN_is_unreachable_is_503_naming_the_SN()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 1}""");
        var begin = await channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        Assert.True(begin.Status == HttpStatusCode.OK, begin.ErrorMessage);

        await swarm.Net.StopAsync(swarm.Sentinel);
        var sync = await channel.PostModelAsync($"/v1/sessions/{id}/sync", begin.Model!);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, sync.Status);
        Assert.Equal("unavailable", sync.ErrorKind);
        Assert.Contains($"https://localhost:{swarm.Sentinel.Node.Options.ApiPort}", sync.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opening_a_session_before_the_node_is_on_the_ledger_is_503()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var options = swarm.Options("sl1");
        options.SwarmNetwork = $"localhost:{Network.Tests.TestNetwork.FreePort()}"; // nobody there
        var sl1 = await swarm.StartSlAsync("sl1", options, waitForRegistration: false);
        sl1.Node.RegistrationWait = TimeSpan.FromMilliseconds(200);

        var (status, error) = await swarm.Channel(sl1).PostJsonAsync("/v1/sessions", """{"syncFrequency": 8, "minPeers": 1}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("is not on the ledger yet", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await swarm.Log.WaitForLineAsync("Waiting for the block stream of the SN");
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_and_a_live_socket_or_a_plain_file_is_refused()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var options = swarm.Options("sl1");
        Directory.CreateDirectory(options.DataDirectory);
        var path = options.EffectiveSocketPath;

        // A plain file where the socket goes is the user's: never deleted.
        await File.WriteAllTextAsync(path, "notes");
        var e = await Assert.ThrowsAsync<SwarmException>(() => swarm.StartSlAsync("sl1", options, waitForRegistration: false));
        Assert.Contains("is not a socket", e.Message, StringComparison.Ordinal);
        Assert.Equal("notes", await File.ReadAllTextAsync(path));
        File.Delete(path);

        // A socket left behind by a process that is gone. (.NET unlinks the sockets it bound when it closes them, so
        // the test moves the socket file away from under it first, as a crashed process would have left it.)
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            File.Move(path + ".bound", path);
        }

        Assert.True(File.Exists(path));
        var sl1 = await swarm.StartSlAsync("sl1", options);
        var (status, _) = await swarm.Channel(sl1).GetAsync("/v1/info");
        Assert.Equal(HttpStatusCode.OK, status);

        // A second node on the same socket while the first serves it.
        var second = swarm.Options("sl2");
        second.SocketPath = path;
        e = await Assert.ThrowsAsync<SwarmException>(() => swarm.StartSlAsync("sl2", second, waitForRegistration: false));
        Assert.Contains("another process", e.Message, StringComparison.Ordinal);
    }
}
