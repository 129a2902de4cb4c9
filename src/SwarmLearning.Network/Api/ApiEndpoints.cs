using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Network.Api;

/// <summary>
/// The SN API (port 30304) for SL nodes, SWCI and SWOP: submit transactions, read the state, read blocks, follow events
/// by long poll. Every answer is JSON; every error is an <see cref="ApiError"/>.
/// </summary>
internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1");
        api.MapPost("/transactions", SubmitAsync);
        api.MapGet("/status", (SwarmNetworkNode node) => WithState(node, state => Results.Json(Status(node, state), LedgerJson.Options)));
        api.MapGet("/state", (SwarmNetworkNode node) => WithState(node, state => Results.Json(state, LedgerJson.Options)));
        api.MapGet("/members", (SwarmNetworkNode node) => WithState(node, state =>
            Results.Json(state.Members.Values.Select(m => MemberView.Of(state, m)).ToList(), LedgerJson.Options)));
        api.MapGet("/members/{fingerprint}", (SwarmNetworkNode node, string fingerprint) => WithState(node, state =>
            Fingerprint.TryParse(fingerprint, out var f) && state.Members.TryGetValue(f, out var m)
                ? Results.Json(MemberView.Of(state, m), LedgerJson.Options)
                : Error(StatusCodes.Status404NotFound, "notFound", $"no member has fingerprint '{fingerprint}'")));
        api.MapGet("/enrolments", (SwarmNetworkNode node) => WithState(node, state =>
            Results.Json(state.Enrolments.Values.Select(e => EnrolmentView.Of(state, e)).ToList(), LedgerJson.Options)));
        api.MapGet("/sequences/{fingerprint}", (SwarmNetworkNode node, string fingerprint) => WithState(node, state =>
            Fingerprint.TryParse(fingerprint, out var f)
                ? Results.Json(new SequenceView(f.ToString(), state.Sequences.GetValueOrDefault(f)), LedgerJson.Options)
                : Error(StatusCodes.Status400BadRequest, "invalid", $"'{fingerprint}' is not a fingerprint (64 hex digits)")));
        api.MapGet("/contracts", (SwarmNetworkNode node) => WithState(node, state => Results.Json(state.Contracts.Values, LedgerJson.Options)));
        api.MapGet("/contracts/{name}", (SwarmNetworkNode node, string name) => WithState(node, state =>
            state.Contracts.TryGetValue(name, out var c) ? Results.Json(c, LedgerJson.Options)
                : Error(StatusCodes.Status404NotFound, "notFound", $"no training contract '{name}'")));
        api.MapGet("/tasks", (SwarmNetworkNode node) => WithState(node, state => Results.Json(state.Tasks.Values, LedgerJson.Options)));
        api.MapGet("/taskrunners", (SwarmNetworkNode node) => WithState(node, state => Results.Json(state.TaskRunners.Values, LedgerJson.Options)));
        api.MapGet("/blocks", GetBlocks);
        api.MapGet("/blocks/stream", Peer.PeerEndpoints.StreamBlocksAsync);
        api.MapGet("/blocks/{height:long}", (SwarmNetworkNode node, long height) =>
            height >= 0 && height <= node.Chain.Height
                ? Results.Json(BlockView.Of(node.Chain.GetBlock(height)), LedgerJson.Options)
                : Error(StatusCodes.Status404NotFound, "notFound", $"no block {height}; the chain has blocks 0 to {node.Chain.Height}"));
        api.MapGet("/events", GetEventsAsync);
    }

    private static StatusView Status(SwarmNetworkNode node, LedgerState state) => new(
        state.Genesis.Swarm, node.Identity.Name, node.Identity.Fingerprint.ToString(), node.Options.Sentinel, node.Chain.Height,
        node.Chain.Head!.HashHex, Convert.ToHexStringLower(node.Chain.Head.StateHash.Span), Convert.ToHexStringLower(state.ChainId.Span),
        state.Orderer.ToString(), state.Time, typeof(ApiEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    private static async Task<IResult> SubmitAsync(HttpContext context, SwarmNetworkNode node)
    {
        if (node.Chain.State is null)
        {
            return NotReady();
        }

        var (tx, refusal) = await ReadTransactionAsync(context).ConfigureAwait(false);
        return refusal ?? await OrderAsync(context, node, tx!).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads and decodes the transaction a request carries: its Content-Type must be
    /// <see cref="Peer.ForwardingOrderer.TransactionContentType"/> (415 otherwise), its body at most
    /// <see cref="Transaction.MaxEncodedSize"/> bytes (413) and a well-formed transaction (400). Shared with the peer
    /// port's forwarding endpoint; each refusal is logged with the peer's name.
    /// </summary>
    internal static async Task<(Transaction? Transaction, IResult? Refusal)> ReadTransactionAsync(HttpContext context)
    {
        const string mediaType = Peer.ForwardingOrderer.TransactionContentType;
        if (!RequestGuard.HasMediaType(context.Request, mediaType, out var sent))
        {
            return (null, RequestGuard.Refuse(context, StatusCodes.Status415UnsupportedMediaType, "invalid",
                $"a transaction is sent as its signed encoding with Content-Type '{mediaType}'; this request has {sent}"));
        }

        var bytes = await ReadBodyAsync(context.Request, Transaction.MaxEncodedSize, context.RequestAborted).ConfigureAwait(false);
        if (bytes is null)
        {
            return (null, RequestGuard.Refuse(context, StatusCodes.Status413PayloadTooLarge, "invalid",
                $"the body is larger than a transaction may be ({Transaction.MaxEncodedSize} bytes{(context.Request.ContentLength is { } length ? $"; this one is {length}" : "")}); send one transaction per request"));
        }

        try
        {
            return (Transaction.Decode(bytes), null);
        }
        catch (LedgerFormatException e)
        {
            return (null, RequestGuard.Refuse(context, StatusCodes.Status400BadRequest, "invalid", e.Message));
        }
    }

    /// <summary>Orders a decoded transaction and turns the outcome into an answer; shared with the peer port's forwarding endpoint.</summary>
    internal static async Task<IResult> OrderAsync(HttpContext context, SwarmNetworkNode node, Transaction tx)
    {
        try
        {
            var receipt = await node.Orderer.SubmitAsync(tx, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(receipt, LedgerJson.Options);
        }
        catch (TransactionRejectedException e)
        {
            return RequestGuard.Refuse(context, ApiError.StatusOf(e.Kind), ApiError.NameOf(e.Kind), e.Message);
        }
        catch (TimeoutException e)
        {
            return Error(StatusCodes.Status504GatewayTimeout, "timeout", e.Message);
        }
        catch (SwarmException e)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "unavailable", e.Message);
        }
    }

    private static IResult GetBlocks(SwarmNetworkNode node, long? from, int? limit)
    {
        var start = from ?? 0;
        var count = Math.Clamp(limit ?? 100, 1, 1000);
        if (start < 0)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid", "'from' must be a height of 0 or more");
        }

        var blocks = new List<BlockView>();
        for (var h = start; h <= node.Chain.Height && blocks.Count < count; h++)
        {
            blocks.Add(BlockView.Of(node.Chain.GetBlock(h)));
        }

        return Results.Json(blocks, LedgerJson.Options);
    }

    private static async Task<IResult> GetEventsAsync(HttpContext context, SwarmNetworkNode node, long? from, double? wait, CancellationToken cancellationToken)
    {
        var start = Math.Max(0, from ?? 0);
        var maxWait = node.Options.MaxPollWait;
        var waitFor = TimeSpan.FromSeconds(Math.Clamp(wait ?? 0, 0, maxWait.TotalSeconds));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(waitFor);
        while (true)
        {
            if (Admission.Refusal(context, node) is { } refusal)
            {
                return Error(StatusCodes.Status403Forbidden, "forbidden", refusal); // revoked during the long poll
            }

            var height = node.Chain.Height;
            var events = node.Chain.EventsFrom(start).Where(e => e.Height <= height).ToList();
            if (events.Count > 0 || timeout.IsCancellationRequested || waitFor == TimeSpan.Zero)
            {
                var next = events.Count > 0 ? events[^1].Height + 1 : Math.Max(start, height + 1);
                return Results.Json(new EventBatch(next, events), LedgerJson.Options);
            }

            try
            {
                await node.Chain.WaitForHeightAsync(Math.Max(height + 1, start), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The wait is over: answer with what there is.
            }
        }
    }

    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                await buffer.WriteAsync(chunk.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null; // Kestrel's own limit, a little above this one, was reached first
        }

        return buffer.ToArray();
    }

    private static IResult WithState(SwarmNetworkNode node, Func<LedgerState, IResult> answer) =>
        node.Chain.State is { } state ? answer(state) : NotReady();

    internal static IResult NotReady() =>
        Error(StatusCodes.Status503ServiceUnavailable, "unavailable", "this SN has not received the genesis block yet; it is joining its swarm, try again shortly");

    internal static IResult Error(int status, string kind, string message) =>
        Results.Json(new ApiError(kind, message), LedgerJson.Options, statusCode: status);
}
