using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using SwarmLearning.Network.Peer;

namespace SwarmLearning.Network.Tests;

/// <summary>Clients of the SN honour its rate limit: a 429 with a short Retry-After is retried after that wait.</summary>
public sealed class RetryAfterHandlerTests
{
    /// <summary>Answers from a script, and records the bodies it was sent.</summary>
    private sealed class Scripted(params Func<HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Bodies.Add(request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken));
            return answers[Math.Min(Bodies.Count - 1, answers.Length - 1)]();
        }
    }

    private static HttpResponseMessage TooMany(TimeSpan? after)
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        if (after is { } a)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(a);
        }

        return response;
    }

    private static HttpResponseMessage Ok() => new(HttpStatusCode.OK);

    [Fact]
    public async Task A_429_with_a_short_Retry_After_is_sent_again_after_the_wait_with_the_same_body()
    {
        var inner = new Scripted(() => TooMany(TimeSpan.FromMilliseconds(300)), Ok);
        using var http = new HttpClient(new RetryAfterHandler(inner)) { BaseAddress = new Uri("https://sn.test") };

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await http.PostAsync("/v1/transactions", new ByteArrayContent([1, 2, 3]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, inner.Bodies.Count);
        Assert.Equal(inner.Bodies[0], inner.Bodies[1]);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"retried after {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task The_429_reaches_the_caller_after_the_last_retry()
    {
        var inner = new Scripted(() => TooMany(TimeSpan.Zero));
        using var http = new HttpClient(new RetryAfterHandler(inner)) { BaseAddress = new Uri("https://sn.test") };

        using var response = await http.PostAsJsonAsync("/v1/x", new { a = 1 });

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(1 + RetryAfterHandler.MaxRetries, inner.Bodies.Count);
    }

    [Theory]
    [InlineData(null)] // no Retry-After: the server said nothing about when
    [InlineData(60)] // longer than the handler waits on its own
    public async Task A_429_without_a_short_Retry_After_is_not_retried(int? seconds)
    {
        var inner = new Scripted(() => TooMany(seconds is { } s ? TimeSpan.FromSeconds(s) : null), Ok);
        using var http = new HttpClient(new RetryAfterHandler(inner)) { BaseAddress = new Uri("https://sn.test") };

        using var response = await http.GetAsync("/v1/status");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(inner.Bodies);
    }

    [Fact]
    public async Task A_body_that_cannot_be_sent_twice_is_not_retried()
    {
        var inner = new Scripted(() => TooMany(TimeSpan.Zero), Ok);
        using var http = new HttpClient(new RetryAfterHandler(inner)) { BaseAddress = new Uri("https://sn.test") };

        using var response = await http.PostAsync("/v1/transactions", new StreamContent(new MemoryStream([1, 2, 3])));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(inner.Bodies);
    }
}
