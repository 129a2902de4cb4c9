using System.Net;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// The file server on port 30305: mutual TLS admits identities of the swarm's CA, and the ledger (the node's own
/// replica) admits only active, non-revoked SL members.
/// </summary>
public sealed class FileServerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Serves_a_stored_model_to_an_SL_member_with_its_length_and_exact_bytes()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);

        using var response = await swarm.FileClient(sl2.Node.Identity).GetAsync(ModelUri(sl1, published.Hash));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(published.Size, response.Content.Headers.ContentLength);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(published.Hash, ModelHash.Of(bytes));
    }

    [Fact]
    public async Task Refuses_valid_swarm_certificates_that_are_not_active_SL_members_with_403_and_a_reason()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        var uri = ModelUri(sl1, published.Hash);

        // An SL certificate of this swarm's CA that never registered.
        var (status, error) = await GetErrorAsync(swarm.FileClient(swarm.Identity("stranger")), uri);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("forbidden", error.GetProperty("error").GetString());
        Assert.Contains("'stranger'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("not a member", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // A member, but an SN: only SL nodes fetch models.
        (status, error) = await GetErrorAsync(swarm.FileClient(swarm.Net.Identity("sn0")), uri);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("role sn", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // An SL member that revoked itself.
        await sl2.Node.Ledger.SubmitAsync(TransactionTypes.Revoke, new RevokePayload { Member = sl2.Node.Identity.Fingerprint.ToString(), Reason = "leaving" }, PayloadJson.Default.RevokePayload, CancellationToken.None);
        await TestSwarm.WaitUntilAsync(sl1, s => s.Members[sl2.Node.Identity.Fingerprint].Revoked, "sl1's replica shows sl2 revoked");
        (status, error) = await GetErrorAsync(swarm.FileClient(sl2.Node.Identity), uri);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("revoked", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Contains(swarm.Log.Lines, l => l.Contains("File server refused", StringComparison.Ordinal) && l.Contains("'stranger'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refuses_a_certificate_from_another_CA_at_the_TLS_handshake()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(30));
        using var outsider = otherCa.Issue(SwarmRole.Sl, "sl1", ["localhost", "127.0.0.1"], TimeSpan.FromDays(7));
        // The outsider trusts the swarm's CA (so only its own certificate can be what fails).
        using var handler = SwarmTls.CreateClientHandler(outsider, swarm.Trust, SwarmRole.Sl);
        using var client = new HttpClient(handler);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(ModelUri(sl1, published.Hash)));

        // TLS 1.2 fails the handshake; with TLS 1.3 the client finishes first and sees the server drop the connection.
        Assert.Contains(e.HttpRequestError, new[] { HttpRequestError.SecureConnectionError, HttpRequestError.ResponseEnded });
        Assert.Contains(swarm.Log.Lines, l => l.Contains("not issued by this swarm's CA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Answers_400_for_a_malformed_hash_and_404_for_a_model_it_does_not_hold()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var client = swarm.FileClient(sl2.Node.Identity);

        var (status, error) = await GetErrorAsync(client, ModelUri(sl1, "ABC"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("64 lowercase hex digits", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        (status, error) = await GetErrorAsync(client, ModelUri(sl1, new string('e', 64)));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("notFound", error.GetProperty("error").GetString());

        // The file port serves models only: the local channel is not reachable over TCP.
        (status, _) = await GetErrorAsync(client, new Uri($"https://localhost:{sl1.Node.Options.FilePort}/v1/info"));
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Answers_a_ping_from_an_SL_member_with_204_and_refuses_others_as_it_refuses_models()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var ping = new Uri($"https://localhost:{sl1.Node.Options.FilePort}/v1/ping");

        using (var response = await swarm.FileClient(sl2.Node.Identity).GetAsync(ping))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }

        var (status, error) = await GetErrorAsync(swarm.FileClient(swarm.Identity("stranger")), ping);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("not a member", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        (status, error) = await GetErrorAsync(swarm.FileClient(swarm.Net.Identity("sn0")), ping);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("role sn", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_SL_node_opens_its_connection_to_every_active_peer_before_any_round()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var nodes = new[] { await swarm.StartSlAsync("sl1"), await swarm.StartSlAsync("sl2"), await swarm.StartSlAsync("sl3") };

        foreach (var node in nodes)
        {
            foreach (var peer in nodes.Where(n => n != node))
            {
                var authority = $"localhost:{peer.Node.Options.FilePort}";
                await TestSwarm.WaitUntilAsync(node, _ => node.Node.Exchange.LastAnswerFrom(authority) is not null, $"{peer.Node.Identity.Name} to answer a ping of {node.Node.Identity.Name}");
            }

            // Answered within the last minute: none is due again, and the node itself never is.
            var state = node.Node.Ledger.State;
            Assert.Empty(node.Node.Connections.Idle(state));
            Assert.Null(node.Node.Exchange.LastAnswerFrom($"localhost:{node.Node.Options.FilePort}"));
        }
    }

    private static Uri ModelUri(Hosting.RunningLearningNode node, string sha) => new($"https://localhost:{node.Node.Options.FilePort}/v1/models/{sha}");

    private static async Task<(HttpStatusCode Status, JsonElement Error)> GetErrorAsync(HttpClient client, Uri uri)
    {
        using var response = await client.GetAsync(uri);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}
