using System.Buffers.Binary;
using System.Net;
using System.Text;
using SwarmLearning.Network.Tests;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// The SL node under hostile input (issue 6 §3, docs/security.md): models on the local channel that are bombs, overlap,
/// end early or hold NaN; bodies of the wrong type or size; hashes on the file server that try to be paths; a peer over
/// its request limit. Each is a 4xx saying what was wrong and where, a warning in the node's log, and the node goes on.
/// </summary>
public sealed class HostileModelTests(ChannelFixture fixture) : IClassFixture<ChannelFixture>
{
    private ChannelClient Channel => fixture.Channel;

    /// <summary>A safetensors body built by hand: the 8-byte header length (the true one unless told), the header, the data.</summary>
    private static byte[] Raw(string header, byte[] data, ulong? claimedHeaderLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedHeaderLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    private const string TinyHeader = """{"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}""";

    public static TheoryData<string, string> Cases => new()
    {
        { "header bomb", "the header length 8589934592 exceeds the limit of 100000000 bytes" },
        { "header longer than the body", "the header length 50000000 exceeds the file" },
        { "shape product overflows", "tensor 'w': shape" },
        { "shape larger than its data", "tensor 'w': shape [1000000] of F32 needs 4000000 bytes but data_offsets [0, 8] span 8" },
        { "overlapping ranges", "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]" },
        { "a gap between ranges", "tensor 'b': data_offsets [8, 16] leave 4 unreferenced bytes before the tensor (at offset 4)" },
        { "truncated data", "tensor 'fc.bias': data_offsets [24, 32] reach beyond the data section (28 bytes)" },
        { "NaN weight", "tensor 'fc.weight': element 4 is NaN; models must hold finite values" },
        { "infinite bias", "tensor 'fc.bias': element 1 is +Infinity; models must hold finite values" },
    };

    private static byte[] Body(string name) => name switch
    {
        "header bomb" => Raw("{}", [], claimedHeaderLength: 8UL << 30),
        "header longer than the body" => Raw("{}", [], claimedHeaderLength: 50_000_000),
        "shape product overflows" => Raw("""{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}""", new byte[16]),
        "shape larger than its data" => Raw("""{"w":{"dtype":"F32","shape":[1000000],"data_offsets":[0,8]}}""", new byte[8]),
        "overlapping ranges" => Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]),
        "a gap between ranges" => Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", new byte[16]),
        "truncated data" => Raw(TinyHeader, Floats(1, 2, 3, 4, 5, 6, 7, 8))[..^4],
        "NaN weight" => Raw(TinyHeader, Floats(1, 2, 3, 4, float.NaN, 6, 7, 8)),
        "infinite bias" => Raw(TinyHeader, Floats(1, 2, 3, 4, 5, 6, 7, float.PositiveInfinity)),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_model_on_the_channel_is_400_saying_what_and_where_and_the_node_goes_on(string name, string expected)
    {
        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        try
        {
            var answer = await Channel.PostBytesAsync($"/v1/sessions/{id}/begin", Body(name));

            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Equal("invalid", answer.ErrorKind);
            Assert.Contains("the model sent to begin is not a valid safetensors model: the request body: " + expected, answer.ErrorMessage, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(fixture.Node.Node.Store.Directory, "*.tmp"));
            Assert.Contains(fixture.Swarm.Log.Lines, l => l.Contains($"Refused POST /v1/sessions/{id}/begin from the local channel: 400", StringComparison.Ordinal) && l.Contains(expected, StringComparison.Ordinal));

            // Nothing reached the ledger, and the session takes the next call.
            Assert.DoesNotContain(fixture.Node.Node.Identity.Fingerprint, fixture.Node.Node.Ledger.State.Contracts[Ledger.Transactions.LedgerDefaults.HpeDefaultContract].Round.Ready.Keys);
            var (status, _) = await Channel.PostJsonAsync($"/v1/sessions/{id}/progress", """{"loss": 1, "metric": 0, "epochsDone": 0}""");
            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            await Channel.DeleteAsync($"/v1/sessions/{id}");
        }
    }

    [Theory]
    [InlineData("header bomb", "the header length 8589934592 exceeds the limit of 100000000 bytes")]
    [InlineData("NaN weight", "tensor 'fc.weight': element 4 is NaN")]
    public async Task A_hostile_model_sent_without_a_Content_Length_is_refused_the_same_way(string name, string expected)
    {
        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        try
        {
            var answer = await Channel.PostChunkedAsync($"/v1/sessions/{id}/begin", Body(name));

            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Contains(expected, answer.ErrorMessage, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(fixture.Node.Node.Store.Directory, "*.tmp"));
        }
        finally
        {
            await Channel.DeleteAsync($"/v1/sessions/{id}");
        }
    }

    [Fact]
    public async Task Bodies_of_the_wrong_content_type_are_415_naming_the_type_expected()
    {
        var (status, error) = await Channel.PostTextAsync("/v1/sessions", """{"syncFrequency": 8, "minPeers": 2}""", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("invalid", error.GetProperty("error").GetString());
        Assert.Contains("takes a JSON body with Content-Type 'application/json'; this request has Content-Type 'text/plain", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        try
        {
            var model = await Channel.PostBytesAsync($"/v1/sessions/{id}/begin", Models.Bytes(Models.Tiny(1)), "application/json");
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, model.Status);
            Assert.Contains("must be a safetensors body with Content-Type 'application/octet-stream'; this request has Content-Type 'application/json'", model.ErrorMessage, StringComparison.Ordinal);

            var none = await Channel.PostBytesAsync($"/v1/sessions/{id}/begin", Models.Bytes(Models.Tiny(1)), mediaType: null);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, none.Status);
            Assert.Contains("this request has no Content-Type", none.ErrorMessage, StringComparison.Ordinal);

            (status, _) = await Channel.PostTextAsync($"/v1/sessions/{id}/progress", """{"loss": 1, "metric": 0, "epochsDone": 0}""", "application/x-www-form-urlencoded");
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
            (status, _) = await Channel.PostJsonAsync($"/v1/sessions/{id}/progress", """{"loss": 1, "metric": 0, "epochsDone": 0}""");
            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            await Channel.DeleteAsync($"/v1/sessions/{id}");
        }
    }

    [Fact]
    public async Task A_JSON_body_over_the_limit_is_413_naming_the_limit()
    {
        var huge = "{\"syncFrequency\": 8, \"minPeers\": 2, \"trainingContract\": \"" + new string('x', 2 << 20) + "\"}";
        var (status, error) = await Channel.PostJsonAsync("/v1/sessions", huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("invalid", error.GetProperty("error").GetString());
        Assert.Contains("the JSON body is larger than the 1048576 bytes this call takes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Null(fixture.Node.Node.Sessions.Open);

        var id = await Channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 2}""");
        await Channel.DeleteAsync($"/v1/sessions/{id}");
    }
}

/// <summary>What needs an SL node of its own: a small model limit, a small request limit, a model to serve.</summary>
public sealed class HostileRequestTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_model_over_the_nodes_limit_is_413_naming_the_limit_and_a_model_within_it_is_taken()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var options = swarm.Options("sl1");
        options.MaxModelBytes = 4096;
        var sl1 = await swarm.StartSlAsync("sl1", options);
        var channel = swarm.Channel(sl1);
        var id = await channel.OpenAsync("""{"syncFrequency": 8, "minPeers": 1}""");
        var large = Models.Bytes(new TensorModel([new NamedTensor("w", TensorDType.F32, new TensorShape(2048), new float[2048])]));

        var answer = await channel.PostBytesAsync($"/v1/sessions/{id}/begin", large);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.Contains($"the model sent to begin is {large.Length} bytes, more than the 4096 bytes this SL node takes (SwarmLearningNodeOptions.MaxModelBytes)", answer.ErrorMessage, StringComparison.Ordinal);

        answer = await channel.PostChunkedAsync($"/v1/sessions/{id}/begin", large);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.Contains("the model sent to begin is larger than that, more than the 4096 bytes", answer.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(sl1.Node.Store.Directory, "*.tmp"));

        var begin = await channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(1));
        Assert.True(begin.Status == HttpStatusCode.OK, begin.ErrorMessage);
        Assert.Contains(swarm.Log.Lines, l => l.Contains("Refused POST", StringComparison.Ordinal) && l.Contains("413", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_peers_model_the_ledger_records_as_larger_than_the_nodes_limit_is_not_fetched()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var options = swarm.Options("sl2");
        options.MaxModelBytes = 1 << 20;
        var sl2 = await swarm.StartSlAsync("sl2", options);
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        var peer = sl2.Node.Ledger.State.Members[sl1.Node.Identity.Fingerprint];

        // A hostile participant records a size of 1 TiB for its submission: the leader must not try to hold it.
        var e = await Assert.ThrowsAsync<Rounds.ModelExchangeException>(() =>
            sl2.Node.Exchange.FetchToMergeAsync(peer, published.Hash, 1L << 40, CancellationToken.None));

        Assert.Contains($"the ledger records model {published.Hash[..12]} of SL node 'sl1' as {1L << 40} bytes, more than the {1 << 20} bytes this node takes", e.Message, StringComparison.Ordinal);
        var model = await sl2.Node.Exchange.FetchToMergeAsync(peer, published.Hash, published.Size, CancellationToken.None);
        Assert.Equal(Models.Tiny(3)["fc.bias"].Values, model["fc.bias"].Values);
    }

    [Fact]
    public async Task Model_hashes_that_try_to_be_paths_are_refused_and_serve_nothing_but_JSON()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        var port = sl1.Node.Options.FilePort;
        var client = sl2.Node.Identity;

        // sl2 is registered once its own replica says so; sl1's file server admits it once sl1's replica does too
        // (before, it would answer 403 to a stranger, which is not what this test is about).
        await TestSwarm.WaitUntilAsync(sl1, s => s.Members.ContainsKey(client.Fingerprint), "sl1's replica to hold sl2's registration");

        var targets = new[]
        {
            "/v1/models/../../ledger/blocks",
            "/v1/models/..%2f..%2fledger",
            "/v1/models/%2e%2e%2f%2e%2e%2fledger",
            "/v1/models/%2e%2e/%2e%2e/etc/passwd",
            $"/v1/models/..%2f{published.Hash}",
            $"/v1/models/{published.Hash}%2f..%2f..%2fml.sock",
            $"/v1/models/{published.Hash.ToUpperInvariant()}",
            $"/v1/models/{new string('g', 64)}",
            $"/v1/models/{published.Hash[..63]}",
        };
        foreach (var target in targets)
        {
            var (status, body) = await RawHttps.SendAsync(port, client, swarm.Trust, "GET", target);

            Assert.True(status is 400 or 404, $"{target} answered {status}: {body}");
            var (error, message) = RawHttps.ErrorOf(body);
            Assert.True(error is "invalid" or "notFound", $"{target}: {error}");
            Assert.False(string.IsNullOrWhiteSpace(message));
            if (status == 400)
            {
                Assert.Contains("is not a model hash: that is 64 lowercase hex digits (BLAKE3)", message, StringComparison.Ordinal);
            }
        }

        Assert.Contains(swarm.Log.Lines, l => l.Contains("Refused GET /v1/models/", StringComparison.Ordinal) && l.Contains("from 'sl2'", StringComparison.Ordinal));

        // The file server goes on serving the model it holds.
        using var served = await swarm.FileClient(client).GetAsync(Exchange.HttpModelExchange.ModelUri("localhost", port, published.Hash));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(published.Size, (await served.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task A_peer_over_the_file_servers_request_limit_is_429_with_a_Retry_After()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var options = swarm.Options("sl1");
        options.RequestsPerPeer = 3;
        options.RequestWindow = TimeSpan.FromMinutes(1);
        var sl1 = await swarm.StartSlAsync("sl1", options);
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        var uri = Exchange.HttpModelExchange.ModelUri("localhost", sl1.Node.Options.FilePort, published.Hash);
        var http = swarm.FileClient(sl2.Node.Identity);

        // sl2's node pings sl1 once it sees it on the ledger (PeerConnections): that is the first of its 3 requests.
        var authority = $"localhost:{sl1.Node.Options.FilePort}";
        await TestSwarm.WaitUntilAsync(sl2, _ => sl2.Node.Exchange.LastAnswerFrom(authority) is not null, "sl2 to ping sl1");
        for (var i = 0; i < 2; i++)
        {
            using var served = await http.GetAsync(uri);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using var refused = await http.GetAsync(uri);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        var (error, message) = RawHttps.ErrorOf(await refused.Content.ReadAsStringAsync());
        Assert.Equal("rateLimited", error);
        Assert.Contains("too many requests from 'sl2'", message, StringComparison.Ordinal);

        // The local channel is the node's own program's: it is not limited.
        var channel = swarm.Channel(sl1);
        for (var i = 0; i < 5; i++)
        {
            var (status, _) = await channel.GetAsync("/v1/info");
            Assert.Equal(HttpStatusCode.OK, status);
        }
    }
}
