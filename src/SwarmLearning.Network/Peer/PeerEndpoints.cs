using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Network.Peer;

/// <summary>
/// The peer port (30303): SN-to-SN block replication (every SN serves the blocks it holds, so followers can pull from
/// any of them) and, on the sentinel, the transactions other SNs forward to the orderer.
/// </summary>
internal static class PeerEndpoints
{
    private const int MaxBlocksPerResponse = 4096;

    public static void Map(IEndpointRouteBuilder app)
    {
        var peer = app.MapGroup("/peer/v1");
        peer.MapGet("/blocks", StreamBlocksAsync);
        peer.MapPost("/transactions", ForwardedAsync);
    }

    /// <summary>
    /// Streams blocks from <paramref name="from"/> on: those held now, then new ones as they are appended, until
    /// <paramref name="wait"/> seconds pass without a new block (or the response holds enough blocks). Served on the
    /// peer port for SNs and, as <c>/v1/blocks/stream</c>, on the API port for SL nodes keeping their own replica.
    /// </summary>
    internal static async Task StreamBlocksAsync(HttpContext context, SwarmNetworkNode node, long? from, double? wait)
    {
        var next = Math.Max(0, from ?? 0);
        var idle = TimeSpan.FromSeconds(Math.Clamp(wait ?? 0, 0, node.Options.MaxPollWait.TotalSeconds));
        context.Response.ContentType = BlockStream.ContentType;
        var body = context.Response.Body;
        var sent = 0;
        var aborted = context.RequestAborted;
        while (sent < MaxBlocksPerResponse && !aborted.IsCancellationRequested)
        {
            // A stream outlives many blocks: a client revoked meanwhile gets the block that revoked it and nothing after,
            // and its next request a 403.
            var cutoff = Admission.StreamCutoff(context, node);
            var height = node.Chain.Height;
            if (next <= height)
            {
                for (; next <= height && sent < MaxBlocksPerResponse; next++, sent++)
                {
                    var block = node.Chain.GetBlock(next);
                    if (block.Timestamp > cutoff)
                    {
                        break;
                    }

                    await BlockStream.WriteAsync(body, block, aborted).ConfigureAwait(false);
                }

                await body.FlushAsync(aborted).ConfigureAwait(false);
                if (next <= height)
                {
                    break; // cut off
                }

                continue;
            }

            if (cutoff != long.MaxValue)
            {
                break;
            }

            if (idle == TimeSpan.Zero)
            {
                break;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            timeout.CancelAfter(idle);
            try
            {
                await node.Chain.WaitForHeightAsync(next, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static async Task<IResult> ForwardedAsync(HttpContext context, SwarmNetworkNode node)
    {
        if (!node.Options.Sentinel)
        {
            return ApiEndpoints.Error(StatusCodes.Status421MisdirectedRequest, "unavailable",
                $"SN '{node.Identity.Name}' does not order blocks; forward transactions to the sentinel");
        }

        var (tx, refusal) = await ApiEndpoints.ReadTransactionAsync(context).ConfigureAwait(false);
        return refusal ?? await ApiEndpoints.OrderAsync(context, node, tx!).ConfigureAwait(false);
    }
}
