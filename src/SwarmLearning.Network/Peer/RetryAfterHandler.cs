using System.Net;
using System.Net.Http.Json;

namespace SwarmLearning.Network.Peer;

/// <summary>
/// Honours an SN's rate limit: a request answered 429 with a short <c>Retry-After</c> is sent again after that wait, a
/// few times, before the 429 reaches the caller. A rate-limited request was refused before the SN did anything with it
/// (the limiter runs first), so sending the same bytes again is safe, transactions included; only requests whose body
/// can be sent twice are retried.
/// </summary>
internal sealed class RetryAfterHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <summary>How many times a request is sent again.</summary>
    public const int MaxRetries = 3;

    /// <summary>The longest Retry-After honoured; a longer one is the caller's to handle.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.TooManyRequests || retry == MaxRetries || !Repeatable(request.Content)
                || WaitOf(response) is not { } wait)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The wait a 429 asks for, when it asks for one this handler honours (at most <see cref="MaxWait"/>).</summary>
    internal static TimeSpan? WaitOf(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return wait is { } w && w <= MaxWait ? (w < TimeSpan.Zero ? TimeSpan.Zero : w) : null;
    }

    private static bool Repeatable(HttpContent? content) => content is null or ByteArrayContent or ReadOnlyMemoryContent or JsonContent;
}
