using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SwarmLearning.Cli.Ctl;
using SwarmLearning.Cli.Dashboard;
using SwarmLearning.Cli.Tests.Ctl;

namespace SwarmLearning.Dashboard.Tests;

/// <summary>The dashboard on <c>swarm ctl serve</c>: its assets and headers, the whole picture, and the server-sent events stream.</summary>
public sealed class DashboardServerTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private CtlSwarm _swarm = null!;
    private CtlRunner _runner = null!;
    private CtlServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _swarm = await CtlSwarm.StartAsync();
        _runner = new CtlRunner(new ContextStore(_swarm.Config), new CtlTarget(null, _swarm.Sn, _swarm.Certs, "admin"), new CtlRunnerOptions());
        _server = await CtlServer.StartAsync(
            new CtlServerOptions { Port = 0, Dashboard = new DashboardOptions { Heartbeat = TimeSpan.FromMilliseconds(300), Coalesce = TimeSpan.FromMilliseconds(50) } },
            _runner, CancellationToken.None);
        _http = new HttpClient { BaseAddress = _server.Address, Timeout = Limit };
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _swarm.DisposeAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _runner.Dispose();
    }

    [Fact]
    public async Task The_page_and_its_assets_come_from_the_assembly_with_a_strict_content_security_policy()
    {
        using var page = await _http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/assets/dashboard.js\" defer></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal); // nothing from elsewhere
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(page.Headers.GetValues("X-Content-Type-Options")));

        foreach (var (asset, type) in new[] { ("dashboard.js", "text/javascript"), ("dashboard.css", "text/css"), ("icon.svg", "image/svg+xml") })
        {
            using var response = await _http.GetAsync(new Uri($"/assets/{asset}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }

        using var missing = await _http.GetAsync(new Uri("/assets/../../etc/passwd", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var js = await _http.GetStringAsync(new Uri("/assets/dashboard.js", UriKind.Relative));
        Assert.DoesNotContain("innerHTML", js, StringComparison.Ordinal); // ledger text reaches the DOM as text only
    }

    [Fact]
    public async Task The_stream_tells_the_latest_height_at_once_then_each_change_and_a_heartbeat_while_quiet()
    {
        using var stream = await SseReader.OpenAsync(_http);
        var first = await stream.NextEventAsync(Limit);
        Assert.Equal("change", first.Event);
        var height = JsonDocument.Parse(first.Data).RootElement.GetProperty("height").GetInt64();
        Assert.True(height >= 0, first.Data);
        Assert.Equal(1, _server.DashboardStreams.Count);

        // A transaction: the stream tells its block's height, without being asked again.
        using var created = await _http.PostAsJsonAsync(new Uri("/v1/contracts", UriKind.Relative), new { name = "streamed" });
        var receipt = await created.Content.ReadFromJsonAsync<JsonElement>();
        var mined = receipt.GetProperty("height").GetInt64();
        long told;
        do
        {
            var next = await stream.NextEventAsync(Limit);
            told = JsonDocument.Parse(next.Data).RootElement.GetProperty("height").GetInt64();
        }
        while (told < mined);

        // The whole picture at that height has the new contract, with its (empty) history.
        var view = await _http.GetFromJsonAsync<JsonElement>(new Uri("/v1/dashboard", UriKind.Relative));
        Assert.True(view.GetProperty("height").GetInt64() >= mined);
        Assert.Contains(view.GetProperty("contracts").EnumerateArray(), c => c.GetProperty("contract").GetProperty("name").GetString() == "streamed");
        Assert.Contains(view.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("name").GetString() == "sn0");

        Assert.True(await stream.HeartbeatAsync(Limit), "no heartbeat comment while the ledger was quiet");
    }

    [Fact]
    public async Task A_page_that_goes_closes_its_stream_and_a_stopping_server_ends_the_others()
    {
        using (var gone = await SseReader.OpenAsync(_http))
        {
            await gone.NextEventAsync(Limit);
            Assert.Equal(1, _server.DashboardStreams.Count);
        }

        // The server notices at its next write (a heartbeat at the latest).
        using (var wait = new CancellationTokenSource(Limit))
        {
            while (_server.DashboardStreams.Count != 0)
            {
                await Task.Delay(50, wait.Token);
            }
        }

        using var open = await SseReader.OpenAsync(_http);
        await open.NextEventAsync(Limit);
        var stopping = Task.Run(async () => await _server.DisposeAsync());
        Assert.True(await open.EndsAsync(Limit), "the stream stayed open while the server stopped");
        await stopping.WaitAsync(Limit);
    }

    [Fact]
    public async Task Reads_do_not_wait_behind_a_long_statement_of_the_session()
    {
        Assert.Equal(0, (await _swarm.CtlAsync("taskrunner", "create", "slow")).Code);
        Assert.Equal(0, (await _swarm.CtlAsync("task", "create", _swarm.TaskFile("t1"))).Code);
        Assert.Equal(0, (await _swarm.CtlAsync("task", "finalize", "t1")).Code);
        Assert.Equal(0, (await _swarm.CtlAsync("taskrunner", "assign", "t1", "slow", "--peers", "1")).Code);

        // WAIT FOR TASKRUNNER holds the session for 6 s: nobody reports.
        var waiting = _http.PostAsync(new Uri("/v1/taskrunners/slow/wait?timeout=6", UriKind.Relative), null);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);

        // Both reads are answered while the wait still holds the session (checked after them, not by a stopwatch, so
        // a busy machine does not fail the test).
        var nodes = await _http.GetFromJsonAsync<JsonElement>(new Uri("/v1/nodes", UriKind.Relative));
        var view = await _http.GetFromJsonAsync<JsonElement>(new Uri("/v1/dashboard", UriKind.Relative));
        Assert.Contains(nodes.EnumerateArray(), n => n.GetProperty("name").GetString() == "sn0");
        Assert.Contains(view.GetProperty("taskRunners").EnumerateArray(), r => r.GetProperty("name").GetString() == "slow");
        Assert.False(waiting.IsCompleted, "the reads were answered only after the 6 s wait had ended");
        using var waited = await waiting;
        Assert.Equal(HttpStatusCode.Conflict, waited.StatusCode); // nobody reported: the bound passed
    }
}

/// <summary>Reads a server-sent events response: events, comments, and its end.</summary>
internal sealed class SseReader : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public static async Task<SseReader> OpenAsync(HttpClient http)
    {
        var response = await http.GetAsync(new Uri("/v1/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseReader(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event (comments are skipped).</summary>
    public async Task<(string Event, string Data)> NextEventAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        string? name = null, data = null;
        while (await _reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0 && data is not null)
            {
                return (name ?? "message", data);
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        throw new InvalidOperationException("the stream ended");
    }

    /// <summary>Whether a heartbeat comment comes within the limit.</summary>
    public async Task<bool> HeartbeatAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        while (await _reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith(": heartbeat", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the server ends the response within the limit.</summary>
    public async Task<bool> EndsAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            while (await _reader.ReadLineAsync(timeout.Token) is not null)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true; // cut rather than ended: still closed
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
