using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Replica;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Channel;

/// <summary>
/// The local channel, version 1 (docs/local-channel.md): HTTP/1.1 over the SL node's Unix socket, for the one ML
/// program that runs beside it. Each call maps onto the round engine's <see cref="SwarmSession"/>; models travel as
/// safetensors bodies, everything else as camelCase JSON, and every error as <c>{"error": kind, "message": text}</c>
/// with a message the ML program shows its user as it is.
/// </summary>
internal static partial class ChannelEndpoints
{
    /// <summary>The channel's JSON: camelCase, nulls written (the protocol shows <c>"session": null</c>).</summary>
    // Messages are shown to people as they are, so quotes stay quotes (as in the SN API).
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Map(IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/info", Info);
        v1.MapPost("/sessions", OpenAsync);
        v1.MapPost("/sessions/{id}/begin", (HttpContext context, SwarmLearningNode node, string id) => ModelCallAsync(context, node, id, "begin"));
        v1.MapPost("/sessions/{id}/sync", (HttpContext context, SwarmLearningNode node, string id) => ModelCallAsync(context, node, id, "sync"));
        v1.MapPost("/sessions/{id}/end", (HttpContext context, SwarmLearningNode node, string id) => ModelCallAsync(context, node, id, "end"));
        v1.MapPost("/sessions/{id}/progress", ProgressAsync);
        v1.MapDelete("/sessions/{id}", DeleteAsync);
    }

    private static IResult Info(SwarmLearningNode node) => Results.Json(
        new InfoView(ChannelRequests.ApiVersion, node.Identity.Name, node.Identity.Fingerprint.ToString(),
            node.Ledger.SnAddress, node.Sessions.Open?.Id),
        Json);

    private static async Task<IResult> OpenAsync(HttpContext context, SwarmLearningNode node)
    {
        var (body, bad) = await ReadJsonAsync(context).ConfigureAwait(false);
        if (bad is not null)
        {
            return bad;
        }

        var (parsed, errors) = ChannelRequests.ParseSession(body);

        // Whether this node may lead is the SL node's setting (HPE's SL_MAKE_ME_ADMIN), not the ML program's.
        var options = parsed is null ? null : parsed with { MakeMeAdmin = node.Options.MakeMeAdmin };
        if (options is null)
        {
            var message = errors.Count == 1 && errors[0].StartsWith("Mismatch", StringComparison.Ordinal)
                ? errors[0]
                : "invalid swarm parameters: " + string.Join("; ", errors);
            Log.SessionRefused(node.ChannelLogger, message);
            return Error(StatusCodes.Status400BadRequest, "invalid", message);
        }

        if (node.Sessions.Open is { } open)
        {
            return Error(StatusCodes.Status409Conflict, "conflict", OneSessionOnly(node, open));
        }

        try
        {
            await node.Ledger.Registered.WaitAsync(node.RegistrationWait, context.RequestAborted).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "unavailable",
                $"SL node '{node.Identity.Name}' is not on the ledger yet: it is still trying to reach the SN at {node.Ledger.SnAddress} and register (see the SL node's log); try again when it has");
        }

        if (ContractProblem(node.Ledger.State, options.TrainingContract) is { } problem)
        {
            return problem;
        }

        var session = new SwarmSession(node.Ledger, node.Exchange, options, node.SessionLogger, node.Time) { WaitLogInterval = node.SessionWaitLogInterval };
        var opened = node.Sessions.TryOpen(session, node.Time, out var existing);
        if (opened is null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            return Error(StatusCodes.Status409Conflict, "conflict", OneSessionOnly(node, existing!));
        }

        Log.SessionOpened(node.ChannelLogger, opened.Id, options.TrainingContract, options.SyncFrequency, options.MinPeers, options.MergeMethod.ToString().ToLowerInvariant(),
            options.NodeWeightage, options.CheckinModelOnTrainEnd.ToString().ToLowerInvariant(), options.UseAdaptiveSync ? "true" : "false");
        return Results.Json(new OpenedView(opened.Id, options.SyncFrequency), Json, statusCode: StatusCodes.Status201Created);
    }

    private static async Task ModelCallAsync(HttpContext context, SwarmLearningNode node, string id, string call)
    {
        var session = node.Sessions.Find(id);
        if (session is null)
        {
            await UnknownSession(node, id).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (!session.TryEnter(call))
        {
            await Busy(session, call).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        // The call ends when its answer is fixed, before the answer is sent (see RunModelCallAsync), or when it fails.
        var exited = false;
        void Exit()
        {
            if (!exited)
            {
                exited = true;
                session.Exit();
            }
        }

        IResult? failure;
        try
        {
            failure = await RunModelCallAsync(context, node, session, call, Exit).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = Failure(node, session, call, e, context.RequestAborted);
        }
        finally
        {
            Exit();
        }

        if (failure is not null && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            await failure.ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>Runs begin, sync or end and streams the answer; returns the error to answer instead, if any.</summary>
    private static async Task<IResult?> RunModelCallAsync(HttpContext context, SwarmLearningNode node, ChannelSession session, string call, Action answered)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, session.Abandoned);
        if (!RequestGuard.HasMediaType(context.Request, ChannelModels.ContentType, out var sent))
        {
            return RequestGuard.Refuse(context, StatusCodes.Status415UnsupportedMediaType, "invalid",
                $"the model sent to {call} must be a safetensors body with Content-Type '{ChannelModels.ContentType}'; this request has {sent}");
        }

        // A model is read into memory: the node's configured maximum bounds what one request can cost it.
        var max = node.Options.MaxModelBytes;
        if (context.Request.ContentLength > max)
        {
            return TooLarge(context, call, context.Request.ContentLength, max);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max; // a body without a Content-Length stops there
        }

        // The model of the previous call was let go of when that call returned: free it before this one arrives.
        node.Exchange.MakeRoom(context.Request.ContentLength ?? 0);
        TensorModel local;
        try
        {
            local = await ChannelModels.ReadAsync(context.Request.Body, context.Request.ContentLength, node.Store, cancel.Token).ConfigureAwait(false);
        }
        catch (ModelFormatException e)
        {
            return RequestGuard.Refuse(context, StatusCodes.Status400BadRequest, "invalid", $"the model sent to {call} is not a valid safetensors model: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(context, call, null, max);
        }

        if (call == "begin" && ContractProblem(node.Ledger.State, session.Session.Options.TrainingContract) is { } problem)
        {
            return problem;
        }

        // A model whose tensors differ from the swarm's would make every leader's merge fail; refuse it here, where
        // the ML program can still be told which tensor is wrong.
        if (call != "begin" && session.Layout is { } layout && LayoutProblem(layout, local.Tensors) is { } mismatch)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid", $"the model sent to {call} does not match the swarm's model this session was given: {mismatch}");
        }

        Log.CallStarted(node.ChannelLogger, call, session.Id, local.Tensors.Count, local.ParameterCount);
        var result = call switch
        {
            "begin" => await session.Session.BeginAsync(local, cancel.Token).ConfigureAwait(false),
            "sync" => await session.Session.SyncAsync(local, cancel.Token).ConfigureAwait(false),
            _ => await session.Session.EndAsync(local, cancel.Token).ConfigureAwait(false),
        };
        session.Layout = result.Model.Tensors;
        Log.CallDone(node.ChannelLogger, call, session.Id, result.Round, result.Hash.Length >= 12 ? result.Hash[..12] : "(none)", result.Contributed, result.TrainingOver);

        if (call == "end")
        {
            await node.SaveFinalModelAsync(result, context.RequestAborted).ConfigureAwait(false);
            await node.Sessions.CloseAsync(session.Id).ConfigureAwait(false);
        }

        // The call's work is done and its answer fixed: leave the call before sending the answer. An ML program that has
        // read the whole answer makes its next call at once, and the last bytes can reach it before this handler
        // returns; that next call must not be refused as overlapping this one.
        answered();
        await ChannelModels.WriteAsync(context.Response, result, node.Store, context.RequestAborted).ConfigureAwait(false);
        return null;
    }

    private static async Task<IResult> ProgressAsync(HttpContext context, SwarmLearningNode node, string id)
    {
        var session = node.Sessions.Find(id);
        if (session is null)
        {
            return UnknownSession(node, id);
        }

        var (body, bad) = await ReadJsonAsync(context).ConfigureAwait(false);
        if (bad is not null)
        {
            return bad;
        }

        var (progress, errors) = ChannelRequests.ParseProgress(body, session.Session.Options.TotalEpochs);
        if (progress is null)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid", "invalid progress report: " + string.Join("; ", errors));
        }

        if (!session.TryEnter("progress"))
        {
            return Busy(session, "progress");
        }

        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, session.Abandoned);
            var interval = await session.Session.ReportProgressAsync(progress, cancel.Token).ConfigureAwait(false);
            return Results.Json(new ProgressView(interval), Json);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Failure(node, session, "progress", e, context.RequestAborted);
        }
        finally
        {
            session.Exit();
        }
    }

    private static async Task<IResult> DeleteAsync(SwarmLearningNode node, string id)
    {
        if (node.Sessions.Find(id) is { } session)
        {
            var running = session.Running;
            await node.Sessions.CloseAsync(id).ConfigureAwait(false);
            Log.SessionAbandoned(node.ChannelLogger, id, running ?? "no call");
            return Results.NoContent();
        }

        return node.Sessions.HasEnded(id) ? Results.NoContent() : UnknownSession(node, id);
    }

    /// <summary>Maps what a session call threw onto the channel's error kinds.</summary>
    private static IResult Failure(SwarmLearningNode node, ChannelSession session, string call, Exception e, CancellationToken requestAborted)
    {
        switch (e)
        {
            case OperationCanceledException when requestAborted.IsCancellationRequested:
                Log.ProgramGone(node.ChannelLogger, call, session.Id);
                return Error(StatusCodes.Status499ClientClosedRequest, "failed", "the ML program closed the connection");
            case OperationCanceledException when session.Abandoned.IsCancellationRequested:
                return Error(StatusCodes.Status409Conflict, "conflict", $"session '{session.Id}' was closed (deleted, or the SL node is stopping) while its {call} call ran");
            case TransactionRejectedException rejected:
                Log.CallFailed(node.ChannelLogger, call, session.Id, rejected.Message);
                return rejected.Kind switch
                {
                    RejectionKind.Invalid => Error(StatusCodes.Status400BadRequest, "invalid", rejected.Message),
                    RejectionKind.NotFound => Error(StatusCodes.Status404NotFound, "notFound", rejected.Message),
                    RejectionKind.Conflict or RejectionKind.Replay => Error(StatusCodes.Status409Conflict, "conflict", rejected.Message),
                    _ => Error(StatusCodes.Status500InternalServerError, "failed", $"the ledger refused this SL node: {rejected.Message}"),
                };
            case LedgerUnavailableException unavailable:
                Log.CallFailed(node.ChannelLogger, call, session.Id, unavailable.Message);
                return Error(StatusCodes.Status503ServiceUnavailable, "unavailable", unavailable.Message);
            case SwarmException failed:
                Log.CallFailed(node.ChannelLogger, call, session.Id, failed.Message);
                return Error(StatusCodes.Status500InternalServerError, "failed", failed.Message);
            default:
                Log.InternalError(node.ChannelLogger, call, session.Id, e);
                return Error(StatusCodes.Status500InternalServerError, "failed",
                    $"internal error in SL node '{node.Identity.Name}' during {call}: {e.GetType().Name}: {e.Message}. This is a bug in SwarmLearning; the SL node's log has the details");
        }
    }

    /// <summary>What differs between the swarm's tensors and the ones sent (the first few differences), or null.</summary>
    internal static string? LayoutProblem(IReadOnlyList<TensorInfo> swarm, IReadOnlyList<TensorInfo> sent)
    {
        var expected = swarm.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var tensor in sent)
        {
            if (!expected.Remove(tensor.Name, out var want))
            {
                problems.Add($"tensor '{tensor.Name}' is not in the swarm's model");
            }
            else if (want.Shape != tensor.Shape || want.DType != tensor.DType)
            {
                problems.Add($"tensor '{tensor.Name}' is {tensor.DType.ToSafetensorsName()} {tensor.Shape} but {want.DType.ToSafetensorsName()} {want.Shape} in the swarm's model");
            }
        }

        problems.AddRange(expected.Keys.Select(name => $"tensor '{name}' is missing"));
        return problems.Count == 0 ? null
            : string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : "");
    }

    /// <summary>A 404 or 409 when the training contract cannot be trained on, else null.</summary>
    private static IResult? ContractProblem(LedgerState state, string name)
    {
        if (!state.Contracts.TryGetValue(name, out var contract))
        {
            return Error(StatusCodes.Status404NotFound, "notFound",
                $"training contract '{name}' does not exist on the ledger; create it first (swarm ctl create contract, HPE's CREATE CONTRACT) or use the default '{LedgerDefaults.HpeDefaultContract}'");
        }

        return contract.Status == ContractStatus.Completed
            ? Error(StatusCodes.Status409Conflict, "conflict", $"training contract '{name}' has completed; reset it (swarm ctl reset contract, HPE's RESET CONTRACT) to train again")
            : null;
    }

    private static IResult TooLarge(HttpContext context, string call, long? length, long max)
    {
        LetKestrelDrain(context);
        return RequestGuard.Refuse(context, StatusCodes.Status413PayloadTooLarge, "invalid",
            $"the model sent to {call} is {(length is { } n ? $"{n} bytes" : "larger than that")}, more than the {max} bytes this SL node takes (SwarmLearningNodeOptions.MaxModelBytes); " +
            "send a smaller model, or raise the SL node's limit if the model is meant to be this large");
    }

    /// <summary>
    /// A body refused by its Content-Length is not read; unless the server reads it after answering, a client still
    /// sending it (one that did not ask <c>Expect: 100-continue</c>) sees a broken pipe instead of the reason. Up to
    /// 16 MiB, let Kestrel read and drop the rest after the answer; beyond, the connection is closed.
    /// </summary>
    private static void LetKestrelDrain(HttpContext context)
    {
        if (context.Request.ContentLength is { } length && length <= 16L << 20
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = length;
        }
    }

    /// <summary>A JSON request body: its Content-Type must be JSON, it must fit the JSON limit and parse.</summary>
    private static async Task<(JsonElement Body, IResult? Bad)> ReadJsonAsync(HttpContext context)
    {
        if (!RequestGuard.HasMediaType(context.Request, "application/json", out var sent))
        {
            return (default, RequestGuard.Refuse(context, StatusCodes.Status415UnsupportedMediaType, "invalid",
                $"this call takes a JSON body with Content-Type 'application/json'; this request has {sent}"));
        }

        if (context.Request.ContentLength > SwarmLearningHost.MaxJsonBody)
        {
            return (default, JsonTooLarge(context));
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException e)
        {
            return (default, RequestGuard.Refuse(context, StatusCodes.Status400BadRequest, "invalid", $"the body is not valid JSON: {e.Message}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, JsonTooLarge(context));
        }
    }

    private static IResult JsonTooLarge(HttpContext context)
    {
        LetKestrelDrain(context);
        return RequestGuard.Refuse(context, StatusCodes.Status413PayloadTooLarge, "invalid",
            $"the JSON body is larger than the {SwarmLearningHost.MaxJsonBody} bytes this call takes; session options and progress reports are a few hundred bytes");
    }

    private static string OneSessionOnly(SwarmLearningNode node, ChannelSession open) =>
        $"SL node '{node.Identity.Name}' serves one ML program at a time, and {open.Describe()}. If that program is gone, DELETE /v1/sessions/{open.Id} first";

    private static IResult Busy(ChannelSession session, string call) =>
        Error(StatusCodes.Status409Conflict, "conflict", $"{call} refused: {session.Describe()}; an ML program makes one call at a time");

    private static IResult UnknownSession(SwarmLearningNode node, string id) => Error(StatusCodes.Status404NotFound, "notFound",
        node.Sessions.HasEnded(id) ? $"session '{id}' has ended; open a new one with POST /v1/sessions"
        : node.Sessions.Open is { } open ? $"no session '{id}' on SL node '{node.Identity.Name}'; the open session is '{open.Id}'"
        : $"no session '{id}' on SL node '{node.Identity.Name}' (it may have restarted); open one with POST /v1/sessions");

    internal static IResult Error(int status, string kind, string message) => Results.Json(new ApiError(kind, message), Json, statusCode: status);

    private sealed record InfoView(int ApiVersion, string Node, string Fingerprint, string Sn, string? Session);

    private sealed record OpenedView(string Session, int SyncInterval);

    private sealed record ProgressView(int SyncInterval);

    private static partial class Log
    {
        [LoggerMessage(500, LogLevel.Information, "ML program opened session {Session} on '{Contract}': syncFrequency {SyncFrequency}, minPeers {MinPeers}, mergeMethod {MergeMethod}, nodeWeightage {Weight}, checkinModelOnTrainEnd {Checkin}, useAdaptiveSync {Adaptive}")]
        public static partial void SessionOpened(ILogger logger, string session, string contract, int syncFrequency, int minPeers, string mergeMethod, int weight, string checkin, string adaptive);

        [LoggerMessage(501, LogLevel.Warning, "Refused to open a session: {Reason}")]
        public static partial void SessionRefused(ILogger logger, string reason);

        [LoggerMessage(502, LogLevel.Information, "Session {Session}: {Call} with a model of {Tensors} tensors, {Parameters} parameters")]
        public static partial void CallStarted(ILogger logger, string call, string session, int tensors, long parameters);

        [LoggerMessage(503, LogLevel.Information, "Session {Session}: {Call} done: round {Round}, model {ModelHash}, contributed {Contributed}, training over {Over}")]
        public static partial void CallDone(ILogger logger, string call, string session, long round, string modelHash, bool contributed, bool over);

        [LoggerMessage(504, LogLevel.Warning, "Session {Session}: {Call} failed: {Reason}")]
        public static partial void CallFailed(ILogger logger, string call, string session, string reason);

        [LoggerMessage(505, LogLevel.Warning, "Session {Session}: the ML program went away during {Call}")]
        public static partial void ProgramGone(ILogger logger, string call, string session);

        [LoggerMessage(506, LogLevel.Information, "Session {Session} abandoned by its ML program (it was running: {Running})")]
        public static partial void SessionAbandoned(ILogger logger, string session, string running);

        [LoggerMessage(507, LogLevel.Error, "Session {Session}: internal error during {Call}")]
        public static partial void InternalError(ILogger logger, string call, string session, Exception exception);
    }
}
