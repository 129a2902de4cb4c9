using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Node.Exchange;

/// <summary>
/// The file server (port 30305, HTTPS, client certificates required): <c>GET /v1/models/{modelHash}</c> streams a model
/// this node holds (its submissions, the merged models it made or fetched) to another SL node, and <c>GET /v1/ping</c>
/// answers 204, so that peers can open their connection before a round needs it (<see cref="PeerConnections"/>). TLS admits any identity
/// of the swarm's CA; this layer admits only active, non-revoked SL members of the ledger as this node's replica
/// sees it. The receiver verifies size and hash against the ledger, so the server need not be trusted for content.
/// </summary>
internal static partial class FileServerEndpoints
{
    public const string ModelContentType = "application/octet-stream";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models/{modelHash}", Serve);
        app.MapGet(PeerConnections.PingPath, Ping);
    }

    // A ping's refusal is logged at debug level only: a peer pings on its own schedule and may still see itself as
    // active a moment after this replica stopped doing so.
    private static IResult Ping(HttpContext context, SwarmLearningNode node) =>
        Admit(context, node, (remote, reason) => Log.PingRefused(node.FileServerLogger, remote, reason)).Refused ?? Results.NoContent();

    private static IResult Serve(HttpContext context, SwarmLearningNode node, string modelHash)
    {
        var (state, refused) = Admit(context, node, (remote, reason) => Log.Refused(node.FileServerLogger, remote, modelHash.Length > 12 ? modelHash[..12] : modelHash, reason));
        if (refused is not null)
        {
            return refused;
        }

        if (!ModelHash.IsValid(modelHash))
        {
            // Never a path: only 64 lowercase hex digits name a file in the store, so "../" or "%2e%2e%2f" reach nothing.
            return RequestGuard.Refuse(context, StatusCodes.Status400BadRequest, "invalid",
                $"'{RequestGuard.Truncate(modelHash)}' is not a model hash: that is 64 lowercase hex digits (BLAKE3), as the ledger records it");
        }

        var stream = node.Store.OpenRead(modelHash);
        if (stream is null)
        {
            return Error(StatusCodes.Status404NotFound, "notFound", $"SL node '{node.Identity.Name}' does not hold model {modelHash[..12]}");
        }

        var peer = NameOf(state!, context.Connection.ClientCertificate!);
        Log.Serving(node.FileServerLogger, modelHash[..12], stream.Length, peer);
        return new QueuedModel(stream, node, modelHash[..12], peer);
    }

    /// <summary>
    /// Sends a model once one of the node's <see cref="ServeSlots"/> is free; the model stays open while it waits. Waiting
    /// and sending together may take as long as a peer's fetch of that size may (<see cref="SwarmLearningNode.ServeLimit"/>):
    /// a peer that has not read the model by then would have given up on it. A request still waiting then is answered
    /// 503 <c>busy</c>; a send still running is cut (the connection aborted, the slot freed), whether the peer stopped
    /// reading or went away without closing.
    /// </summary>
    private sealed class QueuedModel(Stream model, SwarmLearningNode node, string shortHash, string peer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var limit = node.ServeLimit(model.Length);
            using var timer = new CancellationTokenSource(limit);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, timer.Token);
            try
            {
                ServeSlots.Slot slot;
                try
                {
                    slot = await node.ServeSlots.EnterAsync(waiting => Log.ServeWaits(node.FileServerLogger, shortHash, peer, node.ServeSlots.Limit, waiting), deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await model.DisposeAsync().ConfigureAwait(false);
                    if (!timer.IsCancellationRequested)
                    {
                        throw;
                    }

                    // Nothing sent yet: the peer can be told why, and fetch the model elsewhere or again.
                    Log.ServeQueueTimedOut(node.FileServerLogger, shortHash, peer, limit.TotalSeconds, node.ServeSlots.Limit);
                    await Error(StatusCodes.Status503ServiceUnavailable, "busy",
                        $"SL node '{node.Identity.Name}' was busy sending models to other peers ({node.ServeSlots.Limit} at once, --max-concurrent-serves) for all of the {limit.TotalSeconds:0} s a fetch of model {shortHash} may take; fetch it from another holder, or again").ExecuteAsync(httpContext).ConfigureAwait(false);
                    return;
                }

                using (slot)
                {
                    // Kestrel answers a flush cancelled by the token by aborting the connection itself, and the send may
                    // then end without an exception; so it is the timer, not the request's state, that says why.
                    var sent = await ModelBody.SendAsync(httpContext.Response, model, ModelContentType, deadline.Token).ConfigureAwait(false);
                    if (!sent && timer.IsCancellationRequested)
                    {
                        throw new OperationCanceledException(timer.Token);
                    }
                }
            }
            catch (Exception e) when (timer.IsCancellationRequested && e is OperationCanceledException or IOException)
            {
                Log.ServeTimedOut(node.FileServerLogger, shortHash, peer, limit.TotalSeconds);
                httpContext.Abort();
            }
            catch (OperationCanceledException)
            {
                // The peer gave up or went away.
            }
        }
    }

    /// <summary>
    /// Who may ask: the replica's state when the caller is an active SL member; otherwise the answer that refuses it,
    /// 503 before this node has the ledger, or 403 with the reason, which <paramref name="logRefusal"/> gets with the
    /// caller's address.
    /// </summary>
    private static (LedgerState? State, IResult? Refused) Admit(HttpContext context, SwarmLearningNode node, Action<string, string> logRefusal)
    {
        var state = node.Ledger.CurrentState;
        if (state is null)
        {
            return (null, Error(StatusCodes.Status503ServiceUnavailable, "unavailable", $"SL node '{node.Identity.Name}' has not received the ledger yet and cannot check who asks; try again shortly"));
        }

        var refusal = Refusal(state, context.Connection.ClientCertificate);
        if (refusal is not null)
        {
            logRefusal(context.Connection.RemoteIpAddress?.ToString() ?? "?", refusal);
            return (state, Error(StatusCodes.Status403Forbidden, "forbidden", refusal));
        }

        return (state, null);
    }

    /// <summary>Why the holder of <paramref name="certificate"/> may not fetch models here, or null when it may.</summary>
    internal static string? Refusal(LedgerState state, X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return "no client certificate was presented";
        }

        var fingerprint = Fingerprint.Of(certificate);
        var who = $"'{certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}' (fingerprint {fingerprint.Short})";
        if (!state.Members.TryGetValue(fingerprint, out var member))
        {
            return $"{who} is not a member of the ledger; only registered SL nodes may fetch models";
        }

        if (member.Revoked)
        {
            return $"{who} was revoked from the swarm{(member.RevokeReason is { Length: > 0 } r ? $" ({r})" : "")}";
        }

        if (state.Rotations.TryGetValue(fingerprint, out var rotation))
        {
            return $"{who} was rotated to the certificate {rotation.New.Short}; the old certificate is retired";
        }

        if (member.Role != SwarmRole.Sl)
        {
            return $"{who} is a member with role {SwarmRoles.ToName(member.Role)}; only SL nodes may fetch models";
        }

        if (!state.IsActive(fingerprint))
        {
            return $"{who} is not active: its last heartbeat is {(state.Time - member.LastHeartbeat) / 1000.0:0.#} s old at the ledger's latest block";
        }

        return null;
    }

    private static string NameOf(LedgerState state, X509Certificate2 certificate) =>
        state.Members.TryGetValue(Fingerprint.Of(certificate), out var m) ? m.Name : "?";

    private static IResult Error(int status, string kind, string message) =>
        Results.Json(new ApiError(kind, message), LedgerJson.Options, statusCode: status);

    private static partial class Log
    {
        [LoggerMessage(400, LogLevel.Warning, "File server refused {Remote} the model {ModelHash}: {Reason}")]
        public static partial void Refused(ILogger logger, string remote, string modelHash, string reason);

        [LoggerMessage(401, LogLevel.Debug, "Serving model {ModelHash} ({Size} bytes) to '{Peer}'")]
        public static partial void Serving(ILogger logger, string modelHash, long size, string peer);

        [LoggerMessage(403, LogLevel.Debug, "Serving model {ModelHash} to '{Peer}' waits for one of the {Limit} models sent at once to end ({Waiting} waiting)")]
        public static partial void ServeWaits(ILogger logger, string modelHash, string peer, int limit, int waiting);

        [LoggerMessage(404, LogLevel.Warning, "File server gave up sending model {ModelHash} to '{Peer}' after {Seconds:0} s, as long as a fetch of its size may take: the peer reads too slowly or not at all; the connection is closed")]
        public static partial void ServeTimedOut(ILogger logger, string modelHash, string peer, double seconds);

        [LoggerMessage(405, LogLevel.Warning, "File server answered 503 to '{Peer}' for model {ModelHash}: it was busy sending models to other peers ({Limit} at once) for all of the {Seconds:0} s a fetch of its size may take")]
        public static partial void ServeQueueTimedOut(ILogger logger, string modelHash, string peer, double seconds, int limit);

        [LoggerMessage(402, LogLevel.Debug, "File server refused {Remote} a ping: {Reason}")]
        public static partial void PingRefused(ILogger logger, string remote, string reason);
    }
}
