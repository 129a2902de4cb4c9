using Microsoft.Extensions.Logging;
using SwarmLearning.Client.Channel;
using SwarmLearning.Tensors;

namespace SwarmLearning.Client;

/// <summary>
/// HPE's SwarmCallback for .NET programs: call <see cref="OnTrainBegin"/> before training, <see cref="OnBatchEnd"/>
/// after every optimizer step, <see cref="OnEpochEnd"/> after every epoch and <see cref="OnTrainEnd"/> at the end,
/// and the model trains as one node of the swarm. Every <c>syncFrequency</c> batches (or the adaptive interval) it
/// hands the model's weights to the SL node, loads the merged model and reports loss, metric and epochs; at the end
/// it waits for the other nodes and loads the final swarm model. In loopback mode (<c>SWARM_LOOPBACK=1</c>) the
/// hooks talk to no one and the program trains alone. The model is reached through an <see cref="IModelAdapter"/>.
/// </summary>
public sealed partial class SwarmCallback : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(10);
    private readonly IModelAdapter _model;
    private readonly ILogger _logger;
    private readonly SwarmChannelClient? _channel;
    private readonly int _totalEpochs;
    private TensorModel? _lastMerged;
    private double _lastLoss;
    private double _lastMetric;
    private bool _begun;
    private bool _ended;
    private int _disposed;

    /// <summary>Checks the parameters (HPE's rules and messages) and prepares the callback; nothing is sent before <see cref="OnTrainBegin"/>.</summary>
    /// <param name="options">The parameters, with HPE's names.</param>
    /// <param name="model">The model being trained.</param>
    /// <param name="logger">Where the callback logs; default: HPE's format on standard output, level Information.</param>
    /// <exception cref="SwarmException">A parameter is invalid, or no SL node is named outside loopback mode.</exception>
    public SwarmCallback(SwarmCallbackOptions options, IModelAdapter model, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(model);
        _logger = logger ?? new ConsoleLogger("SwarmCallback", LogLevel.Information);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            var message = string.Join("; ", errors);
            Log.Error(_logger, message);
            throw new SwarmException(message);
        }

        Options = options;
        _model = model;
        _totalEpochs = options.TotalEpochs ?? 0;
        SyncInterval = BatchesBeforeNextSync = options.SyncFrequency;
        IsLoopback = options.IsLoopback;
        Log.Parameters(_logger, options.SyncFrequency, options.MinPeers, options.TrainingContract!, options.UseAdaptiveSync, options.AdsValData is not null,
            options.CheckinModelOnTrainEnd, options.NodeWeightage, options.NormalizedMergeMethod!, _totalEpochs);
        if (_totalEpochs == 0)
        {
            Log.NoTotalEpochs(_logger);
        }

        if (options.AdsValData is null)
        {
            Log.NoValidationData(_logger);
        }

        if (IsLoopback)
        {
            Log.LoopbackOn(_logger);
            return;
        }

        var socket = options.ResolveSocket()
            ?? throw Fail("Init", $"no SL node to talk to: set {SwarmCallbackOptions.SocketVariable} to the SL node's socket (<sl-dir>/ml.sock, see 'swarm sl') or pass SlSocket; {SwarmCallbackOptions.LoopbackVariable}=1 trains without a swarm");
        SocketPath = socket;
        _channel = new SwarmChannelClient(socket, _logger)
        {
            SyncTimeout = options.SyncTimeout,
            RequestTimeout = options.RequestTimeout,
            WaitLogInterval = options.WaitLogInterval,
        };
    }

    /// <summary>The parameters.</summary>
    public SwarmCallbackOptions Options { get; }

    /// <summary>True in loopback mode: no swarm, no SL node, the hooks do no I/O.</summary>
    public bool IsLoopback { get; }

    /// <summary>The SL node's socket (null in loopback mode).</summary>
    public string? SocketPath { get; }

    /// <summary>The SL node, once <see cref="OnTrainBegin"/> has reached it.</summary>
    public SlNodeInfo? Node { get; private set; }

    /// <summary>The session's id on the SL node, once open.</summary>
    public string? SessionId { get; private set; }

    /// <summary>Local batches between syncs: <c>syncFrequency</c>, or the interval the SL node set last.</summary>
    public int SyncInterval { get; private set; }

    /// <summary>Batches still to train before the next sync.</summary>
    public int BatchesBeforeNextSync { get; private set; }

    /// <summary>Batches trained since <see cref="OnTrainBegin"/>.</summary>
    public long BatchesDone { get; private set; }

    /// <summary>Epochs trained (counted by <see cref="OnEpochEnd"/>).</summary>
    public int EpochsCompleted { get; private set; }

    /// <summary>Syncs done during training (after the initial one, before the final one).</summary>
    public int SyncCount { get; private set; }

    /// <summary>True once the SL node said the training contract has completed: no more syncs happen.</summary>
    public bool IsTrainingOver { get; private set; }

    /// <summary>What the last begin, sync or end gave back (null before the first, and in loopback mode).</summary>
    public SwarmSyncResult? LastResult { get; private set; }

    /// <summary>The initial sync (HPE's <c>on_train_begin</c>): opens the session, sends the model's weights and loads the model every node starts from.</summary>
    public void OnTrainBegin(CancellationToken cancellationToken = default) => Wait(OnTrainBeginAsync(cancellationToken));

    /// <summary>Counts a batch; every <see cref="SyncInterval"/> batches, syncs with the swarm (HPE's <c>on_batch_end</c>).</summary>
    public void OnBatchEnd(CancellationToken cancellationToken = default) => Wait(OnBatchEndAsync(cancellationToken));

    /// <summary>Counts an epoch and reports progress (HPE's <c>on_epoch_end</c>).</summary>
    public void OnEpochEnd(CancellationToken cancellationToken = default) => Wait(OnEpochEndAsync(cancellationToken));

    /// <summary>Sends the final weights, waits until every node has ended and loads the final swarm model (HPE's <c>on_train_end</c>).</summary>
    public void OnTrainEnd(CancellationToken cancellationToken = default) => Wait(OnTrainEndAsync(cancellationToken));

    /// <inheritdoc cref="OnTrainBegin"/>
    public async Task OnTrainBeginAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_begun)
        {
            throw new InvalidOperationException("OnTrainBegin was called twice; a SwarmCallback serves one training run");
        }

        _begun = true;
        BatchesBeforeNextSync = SyncInterval;
        if (IsLoopback)
        {
            Log.LoopbackSkip(_logger, "OnTrainBegin");
            _model.SetWeights(_model.GetWeights());
            return;
        }

        var channel = _channel!;
        int interval;
        try
        {
            var node = Node = await channel.GetInfoAsync(cancellationToken).ConfigureAwait(false);
            if (node.ApiVersion != SwarmChannelClient.ApiVersion)
            {
                throw new SwarmChannelException("invalid", 0, $"Mismatch in the Swarm API version between the ML program ({SwarmChannelClient.ApiVersion}) and the SL node ({node.ApiVersion})");
            }

            Log.Connected(_logger, node.Node, node.Fingerprint, SocketPath!, node.Sn);
            var opened = await channel.OpenSessionAsync(SessionRequest(), cancellationToken).ConfigureAwait(false);
            SessionId = opened.Session;
            interval = opened.SyncInterval;
            Log.SessionOpened(_logger, opened.Session, interval);
        }
        catch (SwarmException e)
        {
            throw Fail("Init", e.Message, e);
        }

        Log.InitialSync(_logger);
        var result = await CallAsync("Sync", () => channel.BeginAsync(SessionId, _model.GetWeights(), cancellationToken)).ConfigureAwait(false);
        Load(result);
        SyncInterval = BatchesBeforeNextSync = interval > 0 ? interval : SyncInterval;
        Log.Started(_logger, result.Round, SyncInterval);
    }

    /// <inheritdoc cref="OnBatchEnd"/>
    public async Task OnBatchEndAsync(CancellationToken cancellationToken = default)
    {
        RequireBegun("OnBatchEnd");
        BatchesDone++;
        BatchesBeforeNextSync--;
        if (BatchesBeforeNextSync > 0 || IsTrainingOver)
        {
            return;
        }

        if (IsLoopback)
        {
            // Loopback: the "merged" model is the local one, so the adapter's round trip is still exercised.
            _model.SetWeights(_model.GetWeights());
            BatchesBeforeNextSync = SyncInterval;
            return;
        }

        Log.SyncStarts(_logger, BatchesDone);
        var channel = _channel!;
        var result = await CallAsync("Sync", () => channel.SyncAsync(SessionId!, _model.GetWeights(), cancellationToken)).ConfigureAwait(false);
        Load(result);
        SyncCount++;
        if (result.TrainingOver)
        {
            Log.ContractCompleted(_logger, result.Round);
            return;
        }

        (_lastLoss, _lastMetric) = Options.AdsValData?.Invoke() ?? (0, 0);
        var next = await CallAsync("Sync", () => channel.ReportProgressAsync(SessionId!, Progress(), cancellationToken)).ConfigureAwait(false);
        Log.MergeDone(_logger, result.Round, result.Contributed, _lastLoss, _lastMetric, SyncInterval, next);
        SyncInterval = BatchesBeforeNextSync = next;
    }

    /// <inheritdoc cref="OnEpochEnd"/>
    public async Task OnEpochEndAsync(CancellationToken cancellationToken = default)
    {
        RequireBegun("OnEpochEnd");
        EpochsCompleted++;
        // With adaptive sync the SL node reads every report as a new measurement of the merged model's loss, so the
        // epoch count travels with the next sync's report instead.
        if (IsLoopback || IsTrainingOver || Options.UseAdaptiveSync)
        {
            return;
        }

        var channel = _channel!;
        await CallAsync("Progress", () => channel.ReportProgressAsync(SessionId!, Progress(), cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc cref="OnTrainEnd"/>
    public async Task OnTrainEndAsync(CancellationToken cancellationToken = default)
    {
        RequireBegun("OnTrainEnd");
        if (_ended)
        {
            throw new InvalidOperationException("OnTrainEnd was called twice; a SwarmCallback serves one training run");
        }

        _ended = true;
        if (IsLoopback)
        {
            Log.LoopbackSkip(_logger, "OnTrainEnd");
            _model.SetWeights(_model.GetWeights());
            return;
        }

        Log.LocalTrainingFinished(_logger, BatchesDone, EpochsCompleted);
        if (SyncCount == 0)
        {
            Log.NoMerge(_logger, Options.SyncFrequency, BatchesDone);
        }

        var channel = _channel!;
        if (IsTrainingOver)
        {
            // HPE's rule: the swarm finished while this node was still training; it keeps the last merged model.
            Log.OverBeforeLocalEnd(_logger);
            if (_lastMerged is not null)
            {
                _model.SetWeights(_lastMerged);
            }

            try
            {
                await channel.AbandonAsync(SessionId!, cancellationToken).ConfigureAwait(false);
                SessionId = null;
            }
            catch (SwarmChannelException e)
            {
                Log.AbandonFailed(_logger, e.Message);
            }

            Log.FinalModelLoaded(_logger);
            return;
        }

        Log.FinalMergeStarts(_logger);
        var result = await CallAsync("End", () => channel.EndAsync(SessionId!, _model.GetWeights(), cancellationToken)).ConfigureAwait(false);
        Load(result);
        IsTrainingOver = true;
        SessionId = null; // ended: nothing left to abandon
        Log.FinalModelLoaded(_logger);
    }

    /// <summary>Abandons a session that did not end (the program is going away) and closes the channel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_channel is null)
        {
            return;
        }

        if (SessionId is { } session)
        {
            // Bounded: a program going away (Ctrl+C, say) must not hang on an SL node that does not answer.
            using var limit = new CancellationTokenSource(AbandonTimeout);
            try
            {
                await _channel.AbandonAsync(session, limit.Token).ConfigureAwait(false);
                Log.Abandoned(_logger, session);
            }
            catch (SwarmChannelException e)
            {
                Log.AbandonFailed(_logger, e.Message);
            }
            catch (OperationCanceledException)
            {
                Log.AbandonFailed(_logger, $"no answer within {AbandonTimeout.TotalSeconds:0} s");
            }
        }

        await _channel.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => Wait(DisposeAsync().AsTask());

    private SwarmSessionRequest SessionRequest() => new(
        Options.SyncFrequency,
        Options.MinPeers,
        Options.TrainingContract!,
        Options.UseAdaptiveSync,
        Options.CheckinModelOnTrainEnd,
        Options.NodeWeightage,
        Options.NormalizedMergeMethod!,
        _totalEpochs,
        Options.MergeMomentum);

    private SwarmProgress Progress() => new(_lastLoss, _lastMetric, EpochsCompleted, _totalEpochs);

    private void Load(SwarmSyncResult result)
    {
        _model.SetWeights(result.Model);
        _lastMerged = result.Model;
        LastResult = result;
        IsTrainingOver |= result.TrainingOver;
    }

    private void RequireBegun(string hook)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_begun)
        {
            throw new InvalidOperationException($"{hook} was called before OnTrainBegin; call OnTrainBegin once before training starts");
        }
    }

    /// <summary>Runs a call to the SL node; its failure becomes HPE's "… Swarm call to SL node failed - …" error.</summary>
    private async Task<T> CallAsync<T>(string what, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (SwarmException e)
        {
            throw Fail(what, e.Message, e);
        }
    }

    private SwarmException Fail(string what, string message, Exception? inner = null)
    {
        var text = $"{what} Swarm call to SL node failed - {message}";
        Log.Error(_logger, text);
        return inner is null ? new SwarmException(text) : new SwarmException(text, inner);
    }

    private static void Wait(Task task)
    {
        // The hooks of a training loop are synchronous. Every await inside uses ConfigureAwait(false), so blocking
        // here cannot deadlock on a synchronization context.
#pragma warning disable VSTHRD002
        task.GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }
}
