using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Network.Hosting;

/// <summary>
/// What the SN and the SL node share against hostile requests on their TLS ports: a per-peer request limit, the names
/// refusals give peers, and answers in the <see cref="ApiError"/> format for what the framework refuses on its own
/// (malformed parameters, bodies over the size limit, unknown paths).
/// </summary>
internal static partial class RequestGuard
{
    /// <summary>The kind of error a peer over its request limit gets.</summary>
    public const string RateLimitedKind = "rateLimited";

    private const string LoggerCategory = "SwarmLearning.Network.RequestGuard";

    /// <summary>
    /// Limits every peer of the TLS ports to <paramref name="requestsOnPort"/>(its local port) requests per
    /// <paramref name="window"/>, counted per port. A peer is its client certificate (by fingerprint), or its remote
    /// address when it has none. Plain-HTTP requests (an SL node's local channel, on its Unix socket) are not limited.
    /// Over the limit: 429, a Retry-After, and a message.
    /// </summary>
    public static void AddPeerRateLimiter(this IServiceCollection services, Func<int, int> requestsOnPort, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(requestsOnPort);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        var logged = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!context.Request.IsHttps)
                {
                    return RateLimitPartition.GetNoLimiter("local");
                }

                var port = context.Connection.LocalPort;
                return RateLimitPartition.GetFixedWindowLimiter(
                    $"{port.ToString(CultureInfo.InvariantCulture)}/{PeerKey(context)}",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = requestsOnPort(port), Window = window, QueueLimit = 0 });
            });
            limiter.OnRejected = (rejected, cancellationToken) =>
                RejectAsync(rejected, requestsOnPort(rejected.HttpContext.Connection.LocalPort), window, logged, cancellationToken);
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, int requests, TimeSpan window, ConcurrentDictionary<string, long> logged, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : Math.Max(1, (int)Math.Ceiling(window.TotalSeconds));
        var peer = Peer(context);

        // One warning per peer and window: a peer that floods must not flood the log as well.
        var now = Environment.TickCount64;
        var key = $"{context.Connection.LocalPort.ToString(CultureInfo.InvariantCulture)}/{PeerKey(context)}";
        if (logged.TryAdd(key, now) || (logged.TryGetValue(key, out var last) && now - last >= window.TotalMilliseconds && logged.TryUpdate(key, now, last)))
        {
            if (logged.Count > 10_000)
            {
                logged.Clear();
            }

            Log.RateLimited(Logger(context), peer, requests, window.TotalSeconds, context.Connection.LocalPort, context.Request.Method, context.Request.Path.ToString());
        }

        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await context.Response.WriteAsJsonAsync(
            new ApiError(RateLimitedKind, $"too many requests from {peer}: this port serves a peer at most {requests} requests per {window.TotalSeconds:0.###} s; try again in {seconds} s (Retry-After)"),
            LedgerJson.Options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The peer's identity for rate limiting: its certificate's fingerprint, else its remote address.</summary>
    public static string PeerKey(HttpContext context) =>
        context.Connection.ClientCertificate is { } certificate ? Fingerprint.Of(certificate).ToString()
        : context.Connection.RemoteIpAddress?.ToString() ?? "local";

    /// <summary>The peer as a log line or an error message names it: <c>'sl1' (fingerprint 5877b1e2…)</c>, or its address.</summary>
    public static string Peer(HttpContext context) =>
        context.Connection.ClientCertificate is { } certificate
            ? $"'{certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}' (fingerprint {Fingerprint.Of(certificate).Short})"
            : context.Connection.RemoteIpAddress is { } address ? address.ToString() : "the local channel";

    /// <summary>
    /// True when the request's Content-Type is <paramref name="mediaType"/> (parameters such as a charset allowed);
    /// otherwise <paramref name="problem"/> says what was sent instead.
    /// </summary>
    public static bool HasMediaType(HttpRequest request, string mediaType, out string problem)
    {
        problem = "";
        if (request.ContentType is { } sent && MediaTypeHeaderValue.TryParse(sent, out var parsed)
            && string.Equals(parsed.MediaType, mediaType, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        problem = request.ContentType is { Length: > 0 } other ? $"Content-Type '{Truncate(other)}'" : "no Content-Type";
        return false;
    }

    /// <summary>Logs a refused request as a warning naming the peer, and answers it with an <see cref="ApiError"/>.</summary>
    public static IResult Refuse(HttpContext context, int status, string kind, string message)
    {
        Log.Refused(Logger(context), context.Request.Method, context.Request.Path.ToString(), Peer(context), status, message);
        return Results.Json(new ApiError(kind, message), LedgerJson.Options, statusCode: status);
    }

    /// <summary>
    /// The answer to a request the framework refused (a parameter that does not parse, a body over the size limit): its
    /// status, and its reason in the <see cref="ApiError"/> format; logged as a warning naming the peer.
    /// </summary>
    public static Task AnswerBadRequestAsync(HttpContext context, BadHttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var message = e.StatusCode == StatusCodes.Status413PayloadTooLarge
            ? $"the request body is larger than this endpoint accepts: {e.Message}"
            : $"{e.Message.TrimEnd('.')}; see the API's documentation for the parameter's format";
        return Refuse(context, e.StatusCode, "invalid", message).ExecuteAsync(context);
    }

    /// <summary>
    /// Gives an error the framework answered with an empty body (an unknown path, a method the path does not take) a
    /// reason in the <see cref="ApiError"/> format. Call after the rest of the pipeline ran.
    /// </summary>
    public static async Task DescribeEmptyErrorAsync(HttpContext context)
    {
        var response = context.Response;
        if (response.HasStarted || response.StatusCode < 400 || response.ContentLength is not null || response.ContentType is not null)
        {
            return;
        }

        var path = Truncate(context.Request.Path.ToString());
        var (kind, message) = response.StatusCode switch
        {
            StatusCodes.Status404NotFound => ("notFound", $"no such path: {path}"),
            StatusCodes.Status405MethodNotAllowed => ("invalid", $"{context.Request.Method} is not allowed on {path}"),
            _ => ("invalid", $"the request to {path} was refused ({response.StatusCode})"),
        };
        await response.WriteAsJsonAsync(new ApiError(kind, message), LedgerJson.Options, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>At most 80 characters of something a peer sent, for a message.</summary>
    public static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "…";

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerCategory);

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "Refused {Method} {Path} from {Peer}: {Status} {Reason}")]
        public static partial void Refused(ILogger logger, string method, string path, string peer, int status, string reason);

        [LoggerMessage(41, LogLevel.Warning, "Rate limit: {Peer} made more than {Requests} requests in {Seconds} s on port {Port} (last: {Method} {Path}); answering 429 until its window ends")]
        public static partial void RateLimited(ILogger logger, string peer, int requests, double seconds, int port, string method, string path);
    }
}
