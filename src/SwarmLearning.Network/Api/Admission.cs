using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Network.Api;

/// <summary>
/// Admission on the SN's ports, above TLS: TLS accepts any identity of the swarm's CAs, and this layer accepts only
/// those the ledger admits (enrolled, or an administrator, and not revoked; <see cref="LedgerState.AdmissionRefusal"/>),
/// on every request, so a revocation takes effect with the block that records it, on connections already open too.
/// Enrolled identities that have not registered yet are admitted: they need the API to register. The peer port serves
/// SNs only. Long answers check again as they go: an event poll answers 403, a block stream stops after the revoking
/// block (<see cref="StreamCutoff"/>).
/// </summary>
internal static partial class Admission
{
    /// <summary>Answers 403 with the reason to a client the ledger does not admit, 503 before this SN has the ledger.</summary>
    public static async Task InvokeAsync(HttpContext context, SwarmNetworkNode node, Func<Task> next)
    {
        if (node.Chain.State is null)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "unavailable",
                $"SN '{node.Identity.Name}' has not received the genesis block yet and cannot check who asks; it is joining its swarm, try again shortly").ConfigureAwait(false);
            return;
        }

        if (Refusal(context, node) is { } refusal)
        {
            Log.Refused(node.AdmissionLogger, context.Connection.RemoteIpAddress?.ToString() ?? "?", $"{context.Request.Method} {context.Request.Path}", refusal);
            await WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden", refusal).ConfigureAwait(false);
            return;
        }

        await next().ConfigureAwait(false);
    }

    /// <summary>Why the client of <paramref name="context"/> may not use this SN now, or null when it may.</summary>
    public static string? Refusal(HttpContext context, SwarmNetworkNode node)
    {
        var state = node.Chain.State;
        if (state is null)
        {
            return null; // the caller answers 503 before any stream starts
        }

        var onPeerPort = context.Connection.LocalPort == node.Options.PeerPort;
        return Refusal(state, context.Connection.ClientCertificate, onPeerPort);
    }

    /// <summary>
    /// The latest block timestamp a stream may still send to the client of <paramref name="context"/>: any, while it is
    /// admitted; up to its revocation's or its rotation's block, once revoked or rotated (so a node learns that it was
    /// revoked, a self-revocation reaches the revoked node's own replica, and a node that rotated receives the block that
    /// made its new certificate valid); none, when it is not admitted for another reason.
    /// </summary>
    public static long StreamCutoff(HttpContext context, SwarmNetworkNode node)
    {
        if (Refusal(context, node) is null)
        {
            return long.MaxValue;
        }

        var certificate = context.Connection.ClientCertificate;
        return certificate is not null && node.Chain.State?.RetiredAt(Fingerprint.Of(certificate)) is { } retiredAt ? retiredAt : long.MinValue;
    }

    /// <summary>Why the holder of <paramref name="certificate"/> may not use the API (or the peer port), or null when it may.</summary>
    internal static string? Refusal(LedgerState state, X509Certificate2? certificate, bool peerPort)
    {
        if (certificate is null)
        {
            return "no client certificate was presented";
        }

        var fingerprint = Fingerprint.Of(certificate);
        var who = $"'{certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}' (fingerprint {fingerprint.Short})";
        if (state.AdmissionRefusal(fingerprint, who) is { } refusal)
        {
            return refusal;
        }

        if (peerPort && (!SwarmIdentity.TryReadRole(certificate, out var role, out _) || role != SwarmRole.Sn))
        {
            return $"{who} is not an SN; the peer port serves SNs only (SL nodes, SWCI and SWOP use the API port)";
        }

        return null;
    }

    private static Task WriteAsync(HttpContext context, int status, string kind, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ApiError(kind, message), LedgerJson.Options);
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "Refused {Remote} {Request}: {Reason}")]
        public static partial void Refused(ILogger logger, string remote, string request, string reason);
    }
}
