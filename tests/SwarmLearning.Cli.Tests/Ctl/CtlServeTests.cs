using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Tests.Ctl;

/// <summary><c>swarm ctl serve</c>: the statements over REST, with the subcommands' JSON.</summary>
public sealed class CtlServeTests
{
    [Fact]
    public async Task The_REST_API_answers_what_the_subcommands_print_with_json_and_runs_statements()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        Assert.Equal(0, (await swarm.CtlAsync("contract", "create", "rest-one")).Code);
        using var runner = new CtlRunner(new ContextStore(swarm.Config), new CtlTarget(null, swarm.Sn, swarm.Certs, "admin"), new CtlRunnerOptions());
        var server = await CtlServer.StartAsync(new CtlServerOptions { Port = 0 }, runner, CancellationToken.None);
        await using (server)
        {
            Assert.Equal("http", server.Address.Scheme);
            Assert.True(IPAddress.IsLoopback(IPAddress.Parse(server.Address.Host)));
            using var http = new HttpClient { BaseAddress = server.Address };

            using var rest = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/contracts", UriKind.Relative)));
            var cli = await swarm.CtlJsonAsync("contract", "list");
            Assert.Equal(
                cli.EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("status").GetString(), c.GetProperty("round").GetInt64())),
                rest.RootElement.EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("status").GetString(), c.GetProperty("round").GetInt64())));

            using var created = await http.PostAsJsonAsync(new Uri("/v1/statements", UriKind.Relative), new { statement = "CREATE CONTRACT rest-two" });
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            Assert.Equal("rest-two", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
            Assert.True(swarm.State.Contracts.ContainsKey("rest-two"));

            using var contract = await http.PostAsJsonAsync(new Uri("/v1/contracts", UriKind.Relative), new { name = "rest-three" });
            Assert.Equal(HttpStatusCode.OK, contract.StatusCode);
            Assert.True(swarm.State.Contracts.ContainsKey("rest-three"));

            using var bad = await http.PostAsJsonAsync(new Uri("/v1/statements", UriKind.Relative), new { statement = "FROB" });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("unknown statement 'FROB'", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var refused = await http.PostAsJsonAsync(new Uri("/v1/statements", UriKind.Relative), new { statement = "CREATE CONTRACT rest-two" });
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("exists", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var nodes = await http.GetFromJsonAsync<JsonElement>(new Uri("/v1/nodes", UriKind.Relative));
            Assert.Contains(nodes.EnumerateArray(), n => n.GetProperty("name").GetString() == "sn0");
            var verify = await http.GetFromJsonAsync<JsonElement>(new Uri("/v1/verify", UriKind.Relative));
            Assert.True(verify.GetProperty("valid").GetBoolean());
        }
    }

    [Fact]
    public async Task A_non_loopback_address_is_refused_without_mutual_TLS()
    {
        using var runner = new CtlRunner(new ContextStore(Path.Combine(Path.GetTempPath(), $"ctl-{Guid.NewGuid():N}.json")), CtlTarget.None, new CtlRunnerOptions());
        var e = await Assert.ThrowsAsync<SwarmException>(() => CtlServer.StartAsync(new CtlServerOptions { Listen = IPAddress.Any, Port = 0 }, runner, CancellationToken.None));
        Assert.Contains("mutual TLS", e.Message, StringComparison.Ordinal);

        var (code, _, error) = await CliHarness.RunAsync("ctl", "serve", "--listen", "0.0.0.0", "--port", "0");
        Assert.Equal(1, code);
        Assert.Contains("not a loopback address", error, StringComparison.Ordinal);
    }
}
