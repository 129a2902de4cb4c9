using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Sessions;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

// The round protocol (docs/protocol.md): ready → the participant set closes → every participant publishes its model
// and records its hash → the leader fetches, verifies and merges the submissions and records the merged hash →
// everyone fetches the merged model, verifies it and goes on from it. Leadership is whatever the ledger says at the
// latest block: a node that loses it (failover) stops merging; a node that gains it starts.
public sealed partial class SwarmSession
{
    private string? _lastMergedHash;
    private double _bestLoss = double.PositiveInfinity;

    // The model this node last published as its submission, and the last merged model it made as leader: kept so that
    // the leader's merge and its own fetch of the result need not read back what it has just written.
    private volatile OwnModel? _ownSubmission;
    private volatile OwnModel? _ownMerged;

    /// <summary>The hash of the last merged model this node loaded, if any.</summary>
    public string? LastMergedHash => _lastMergedHash;

    /// <summary>
    /// The initial sync (HPE's <c>on_train_begin</c>): when the contract has merged before (this node joins late or
    /// restarts), the latest merged model; otherwise a round over everyone's initial weights, so all nodes start from
    /// the same model.
    /// </summary>
    public async Task<SyncResult> BeginAsync(TensorModel initial, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(initial);
        var contract = RequireContract(_ledger.State);
        if (contract.Status == ContractStatus.Completed)
        {
            throw new SwarmException($"training contract '{contract.Name}' has completed; reset it (swarm ctl reset contract, HPE's RESET CONTRACT) to train again");
        }

        // Join first: from now on rounds wait for this node like for any member, and the contract cannot complete
        // before this node has ended its training.
        if (!contract.Joined.Contains(_ledger.Self) || contract.Finished.ContainsKey(_ledger.Self))
        {
            await _ledger.SubmitAsync(TransactionTypes.TrainingJoin, new ContractPayload { Contract = contract.Name }, PayloadJson.Default.ContractPayload, cancellationToken).ConfigureAwait(false);
            contract = RequireContract(_ledger.State);
        }

        if (contract.LastMerged is { } last)
        {
            Log.JoiningLate(_logger, contract.Name, last.Round, last.Round + 1);
            var model = await FetchMergedAsync(last, cancellationToken).ConfigureAwait(false);
            return new SyncResult(model, last.Round, last.ModelHash, Contributed: false, TrainingOver: false);
        }

        return await SyncAsync(initial, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One sync (every <see cref="SyncInterval"/> batches): takes part in the contract's current round with
    /// <paramref name="local"/> and returns the merged model. A node that arrives when the round has already closed
    /// without it loads that round's merged model and joins the next one.
    /// </summary>
    public async Task<SyncResult> SyncAsync(TensorModel local, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        PublishedModel? published = null;
        long? readyFor = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var state = _ledger.State;
            var contract = RequireContract(state);
            var round = contract.Round;
            if (contract.Status == ContractStatus.Completed)
            {
                return await OverAsync(contract, local, cancellationToken).ConfigureAwait(false);
            }

            if (readyFor is { } readyRound && round.Number > readyRound && contract.LastMerged?.Round == readyRound)
            {
                // The round this node was ready for closed and merged before it looked again: its submission came with
                // its ready, so nothing waited for it. That merge is this sync's result.
                return await ParticipateAsync(contract.Name, readyRound, local, published, cancellationToken).ConfigureAwait(false);
            }

            if (round.Phase == RoundPhase.Closed && round.Participants.Contains(_ledger.Self))
            {
                return await ParticipateAsync(contract.Name, round.Number, local, published, cancellationToken).ConfigureAwait(false);
            }

            if (round.Phase == RoundPhase.Closed)
            {
                // The round runs without this node: catch up on its result and join the next one.
                var number = round.Number;
                Log.RoundWithoutUs(_logger, contract.Name, number);
                var merged = await WaitForMergeAsync(contract.Name, number, cancellationToken).ConfigureAwait(false);
                if (merged is null)
                {
                    continue;
                }

                var model = await FetchMergedAsync(merged, cancellationToken).ConfigureAwait(false);
                return new SyncResult(model, merged.Round, merged.ModelHash, Contributed: false, TrainingOver: false);
            }

            if (!round.Ready.ContainsKey(_ledger.Self))
            {
                // Published first and named in the ready: the block that closes the round records the submission,
                // so the leader fetches without waiting for another block (a round.submit from every participant).
                published ??= await PublishSubmissionAsync(local, cancellationToken).ConfigureAwait(false);
                try
                {
                    await _ledger.SubmitAsync(TransactionTypes.RoundReady, new ReadyPayload
                    {
                        Contract = contract.Name,
                        Round = round.Number,
                        Weight = Options.NodeWeightage,
                        MinPeers = Options.MinPeers,
                        MakeMeAdmin = Options.MakeMeAdmin,
                        ModelHash = published.Hash,
                        Size = published.Size,
                    }, PayloadJson.Default.ReadyPayload, cancellationToken).ConfigureAwait(false);
                }
                catch (TransactionRejectedException e) when (e.Kind == RejectionKind.Conflict)
                {
                    continue; // the round moved on between reading the state and the block: look again
                }
            }

            readyFor = round.Number;
            await WaitForCloseAsync(contract.Name, round.Number, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reports progress to the ledger and, with adaptive sync, sets the next interval from the loss; returns it.</summary>
    public async Task<int> ReportProgressAsync(TrainingProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (!double.IsFinite(progress.Loss) || !double.IsFinite(progress.Metric))
        {
            Log.NonFiniteProgress(_logger, progress.Loss, progress.Metric);
            return SyncInterval;
        }

        if (Options.UseAdaptiveSync)
        {
            SyncInterval = NextAdaptiveInterval(SyncInterval, progress.Loss);
        }

        await _ledger.SubmitAsync(TransactionTypes.Progress, new ProgressPayload
        {
            Contract = Options.TrainingContract,
            Loss = progress.Loss,
            Metric = progress.Metric,
            EpochsDone = progress.EpochsDone,
            TotalEpochs = progress.TotalEpochs,
        }, PayloadJson.Default.ProgressPayload, cancellationToken).ConfigureAwait(false);
        return SyncInterval;
    }

    /// <summary>
    /// The adaptive sync rule: while the validation loss improves on the best so far (by more than 0.1 %), sync less
    /// often (× 1.5, up to 8 × syncFrequency); when it does not, sync more often (× 0.5, down to syncFrequency / 4,
    /// at least 1).
    /// </summary>
    internal int NextAdaptiveInterval(int current, double loss)
    {
        var cap = Options.SyncFrequency * 8;
        var floor = Math.Max(1, Options.SyncFrequency / 4);
        int next;
        if (loss < _bestLoss * (1 - 1e-3))
        {
            next = Math.Min(cap, (int)Math.Ceiling(current * 1.5));
        }
        else
        {
            next = Math.Max(floor, current / 2);
        }

        _bestLoss = Math.Min(_bestLoss, loss);
        return next;
    }

    /// <summary>
    /// The end of local training (HPE's <c>on_train_end</c>): a last round with the final local model, then the node
    /// records its <c>checkinModelOnTrainEnd</c> mode and takes part in every later round (contributing its snapshot,
    /// the latest merged model, or nothing) until every node has ended. Returns the final swarm model, the same on
    /// every node.
    /// </summary>
    public async Task<SyncResult> EndAsync(TensorModel local, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        var result = await SyncAsync(local, cancellationToken).ConfigureAwait(false);
        if (result.TrainingOver)
        {
            return result;
        }

        var mode = Options.CheckinModelOnTrainEnd;
        var contribution = mode == CheckinMode.Snapshot ? local : result.Model;
        await _ledger.SubmitAsync(TransactionTypes.TrainingEnd, new TrainingEndPayload
        {
            Contract = Options.TrainingContract,
            Mode = mode.ToString().ToLowerInvariant(),
            Weight = mode == CheckinMode.Inactive ? 0 : Options.NodeWeightage,
            MakeMeAdmin = Options.MakeMeAdmin,
        }, PayloadJson.Default.TrainingEndPayload, cancellationToken).ConfigureAwait(false);
        Log.TrainingEnded(_logger, Options.TrainingContract, mode.ToString().ToLowerInvariant());

        var lastLog = _time.GetTimestamp();
        while (true)
        {
            var state = _ledger.State;
            var contract = RequireContract(state);
            if (contract.Status == ContractStatus.Completed)
            {
                return await OverAsync(contract, result.Model, cancellationToken).ConfigureAwait(false);
            }

            var round = contract.Round;
            if (round.Phase == RoundPhase.Closed && round.Participants.Contains(_ledger.Self))
            {
                result = await ParticipateAsync(contract.Name, round.Number, contribution, published: null, cancellationToken).ConfigureAwait(false);
                if (mode == CheckinMode.Active)
                {
                    contribution = result.Model;
                }

                continue;
            }

            if (_time.GetElapsedTime(lastLog) >= WaitLogInterval)
            {
                Log.WaitingForOthers(_logger, contract.Name, contract.Finished.Count, contract.Joined.Count);
                lastLog = _time.GetTimestamp();
            }

            await WaitForBlockAsync(state.Height, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _mergeArrays.Clear();
        return ValueTask.CompletedTask;
    }

    private async Task<SyncResult> OverAsync(TrainingContractState contract, TensorModel fallback, CancellationToken cancellationToken)
    {
        if (contract.LastMerged is not { } last)
        {
            return new SyncResult(fallback, 0, "", Contributed: false, TrainingOver: true);
        }

        var model = await FetchMergedAsync(last, cancellationToken).ConfigureAwait(false);
        return new SyncResult(model, last.Round, last.ModelHash, last.Contributors.Contains(_ledger.Self), TrainingOver: true);
    }

    /// <summary>
    /// Takes part in a closed round: publish and record the submission (unless the ready already did), lead when the
    /// ledger says so, load the merged model. <paramref name="published"/> is <paramref name="local"/>, if already
    /// published.
    /// </summary>
    private async Task<SyncResult> ParticipateAsync(string contractName, long number, TensorModel local, PublishedModel? published, CancellationToken cancellationToken)
    {
        var round = RequireContract(_ledger.State).Round;
        if (round.Number == number && !round.Submissions.ContainsKey(_ledger.Self))
        {
            published ??= await PublishSubmissionAsync(local, cancellationToken).ConfigureAwait(false);
            try
            {
                await _ledger.SubmitAsync(TransactionTypes.RoundSubmit, new SubmitPayload
                {
                    Contract = contractName,
                    Round = number,
                    ModelHash = published.Hash,
                    Size = published.Size,
                }, PayloadJson.Default.SubmitPayload, cancellationToken).ConfigureAwait(false);
            }
            catch (TransactionRejectedException e) when (e.Kind == RejectionKind.Conflict)
            {
                Log.SubmitTooLate(_logger, contractName, number, e.Message);
            }
        }

        var merged = await WaitForMergeAsync(contractName, number, cancellationToken).ConfigureAwait(false)
            ?? throw new SwarmException($"round {number} of '{contractName}' ended without a merged model");
        var model = await FetchMergedAsync(merged, cancellationToken).ConfigureAwait(false);
        var contract = RequireContract(_ledger.State);
        return new SyncResult(model, merged.Round, merged.ModelHash, merged.Contributors.Contains(_ledger.Self), contract.Status == ContractStatus.Completed);
    }

    /// <summary>Publishes this node's model for a round, and keeps it at hand for its own merge, should it lead.</summary>
    private async Task<PublishedModel> PublishSubmissionAsync(TensorModel local, CancellationToken cancellationToken)
    {
        var published = await _exchange.PublishAsync(local, cancellationToken).ConfigureAwait(false);
        _ownSubmission = new OwnModel(published.Hash, local);
        return published;
    }

    /// <summary>Waits until the round's participant set closes (or the round is gone), logging what it waits for.</summary>
    private async Task WaitForCloseAsync(string contractName, long number, CancellationToken cancellationToken)
    {
        var lastLog = _time.GetTimestamp();
        while (true)
        {
            var state = _ledger.State;
            var contract = RequireContract(state);
            var round = contract.Round;
            if (round.Number != number || round.Phase == RoundPhase.Closed || contract.Status == ContractStatus.Completed)
            {
                return;
            }

            if (_time.GetElapsedTime(lastLog) >= WaitLogInterval)
            {
                var minPeers = round.Ready.Count == 0 ? Options.MinPeers : round.Ready.Values.Max(r => r.MinPeers);
                var names = string.Join(", ", round.Ready.Keys.Select(f => NameOf(state, f)));
                if (round.Ready.Count < minPeers)
                {
                    Log.WaitingForPeers(_logger, contractName, number, round.Ready.Count, minPeers, names);
                }
                else
                {
                    var waitEnds = (round.QuorumAt ?? state.Time) + (state.Defaults.FullQuorumWaitSeconds * 1000L) - state.Time;
                    Log.WaitingForQuorum(_logger, contractName, number, round.Ready.Count, names, Math.Max(0, waitEnds / 1000.0));
                }

                lastLog = _time.GetTimestamp();
            }

            await WaitForBlockAsync(state.Height, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for round <paramref name="number"/> to be merged, leading it whenever the ledger makes this node the
    /// leader. Returns the merge, or null when the round ended otherwise (a contract reset).
    /// </summary>
    private async Task<MergedRecord?> WaitForMergeAsync(string contractName, long number, CancellationToken cancellationToken)
    {
        CancellationTokenSource? leadership = null;
        Task? leading = null;
        var lastLog = _time.GetTimestamp();
        try
        {
            while (true)
            {
                var state = _ledger.State;
                var contract = RequireContract(state);
                if (contract.LastMerged is { } merged && merged.Round == number)
                {
                    return merged;
                }

                var round = contract.Round;
                if (round.Number != number)
                {
                    return null;
                }

                var leads = round.Leader == _ledger.Self;
                if (leads && leading is null)
                {
                    leadership = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    leading = LeadAsync(contractName, number, leadership.Token);
                }
                else if (!leads && leading is not null)
                {
                    // The ledger handed the lead to another node: stop merging; a returning old leader is just a peer.
                    Log.LostLead(_logger, contractName, number);
                    await leadership!.CancelAsync().ConfigureAwait(false);
                    await Quietly(leading).ConfigureAwait(false);
                    leadership.Dispose();
                    leadership = null;
                    leading = null;
                }

                if (_time.GetElapsedTime(lastLog) >= WaitLogInterval)
                {
                    var leaderName = round.Leader is { } l ? NameOf(state, l) : "none";
                    Log.WaitingForMerge(_logger, contractName, number, leaderName, round.Submissions.Count, round.Participants.Count);
                    lastLog = _time.GetTimestamp();
                }

                await WaitForBlockAsync(state.Height, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (leadership is not null)
            {
                await leadership.CancelAsync().ConfigureAwait(false);
                await Quietly(leading!).ConfigureAwait(false);
                leadership.Dispose();
            }
        }
    }

    /// <summary>
    /// Fetches a merged model: from the leader first, then from the contributors (each serves what it has fetched),
    /// retrying for up to a minute before giving up with the reasons.
    /// </summary>
    /// <remarks>
    /// The store lets go of what is no longer needed <em>before</em> the fetch, not after: this node's submission (the
    /// merge is recorded, so nobody fetches it any more) and the merged models older than the previous one. So the
    /// incoming model's arrays can take their place (the exchange collects the heap when enough has passed through)
    /// instead of adding to them: a node that does not lead peaks at about one model less.
    /// </remarks>
    private async Task<TensorModel> FetchMergedAsync(MergedRecord merged, CancellationToken cancellationToken)
    {
        // This round's merged model and the one before it stay, for peers that are still catching up.
        var keep = new HashSet<string>(StringComparer.Ordinal) { merged.ModelHash };
        if (_lastMergedHash is not null)
        {
            keep.Add(_lastMergedHash);
        }

        _ownSubmission = null;
        var arriving = _ownMerged is { } made && made.Hash == merged.ModelHash ? 0 : merged.Size; // a leader has its own
        _exchange.Retain(keep, arriving);
        var errors = new List<string>();
        var deadline = TimeSpan.FromSeconds(60);
        var started = _time.GetTimestamp();
        while (true)
        {
            var state = _ledger.State;
            var sources = new[] { merged.Leader }.Concat(merged.Contributors).Distinct().ToList();
            foreach (var source in sources)
            {
                if (!state.Members.TryGetValue(source, out var peer))
                {
                    continue;
                }

                try
                {
                    var model = _ownMerged is { } own && own.Hash == merged.ModelHash
                        ? own.Model // made and published by this node as leader: the file holds these values
                        : await _exchange.FetchAsync(peer, merged.ModelHash, merged.Size, cancellationToken).ConfigureAwait(false);
                    _ownMerged = null;
                    _lastMergedHash = merged.ModelHash;
                    return model;
                }
                catch (ModelExchangeException e)
                {
                    errors.Add(e.Message);
                }
            }

            if (_time.GetElapsedTime(started) >= deadline)
            {
                throw new SwarmException($"cannot fetch the merged model {merged.ModelHash[..12]} of round {merged.Round} from any of {sources.Count} node(s) within {deadline.TotalSeconds:0} s: {string.Join("; ", errors.TakeLast(3))}");
            }

            Log.FetchRetry(_logger, merged.Round, merged.ModelHash[..12], errors[^1]);
            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A model this node holds in memory, and the model hash it published it under.</summary>
    private sealed record OwnModel(string Hash, TensorModel Model);

    private async Task WaitForBlockAsync(long height, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(WaitLogInterval);
        try
        {
            await _ledger.WaitForBlockAfterAsync(height, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // No block for a while: the caller looks at the state again and logs what it waits for.
        }
    }

    private TrainingContractState RequireContract(LedgerState state) =>
        state.Contracts.TryGetValue(Options.TrainingContract, out var contract)
            ? contract
            : throw new SwarmException($"training contract '{Options.TrainingContract}' does not exist on the ledger; create it first (swarm ctl create contract, HPE's CREATE CONTRACT) or use the default '{LedgerDefaults.HpeDefaultContract}'");

    private static string NameOf(LedgerState state, Fingerprint member) => state.Members.TryGetValue(member, out var m) ? m.Name : member.Short;

    private static async Task Quietly(Task task)
    {
        try
        {
#pragma warning disable VSTHRD003 // the leader task this session started itself
            await task.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        catch (OperationCanceledException)
        {
        }
    }
}
