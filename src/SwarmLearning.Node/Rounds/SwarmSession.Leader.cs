using System.Diagnostics;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Node.Storage;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

// The leader's part of a round: wait for the submissions, fetch and verify them, merge, publish, record.
public sealed partial class SwarmSession
{
    /// <summary>How often a leader merges a round again when contributors are revoked under it.</summary>
    private const int MaxMergeAttempts = 3;

    /// <summary>
    /// The leader's work: wait for the participants' submissions (all, or as many as arrive within the submission
    /// wait), fetch and verify each, merge with this node's merge method and the participants' weights, publish the
    /// result and record it. A submission that cannot be fetched or fails its hash is left out, with the reason logged.
    /// When a contributor is revoked during the merge, its submission leaves the round and the leader merges again
    /// without it (the ledger refuses a merge that names a revoked contributor).
    /// </summary>
    private async Task LeadAsync(string contractName, long number, CancellationToken leadership)
    {
        try
        {
            Log.Leading(_logger, contractName, number);
            var fetchedSoFar = new Dictionary<Fingerprint, TensorModel?>();
            for (var attempt = 1; ; attempt++)
            {
                var state = await WaitForSubmissionsAsync(contractName, number, leadership).ConfigureAwait(false);
                var outcome = await MergeAndRecordAsync(contractName, number, state, fetchedSoFar, attempt < MaxMergeAttempts, leadership).ConfigureAwait(false);
                if (outcome is not { } checkedAt)
                {
                    return;
                }

                // A contributor was revoked: wait until this node's replica holds the block that says so, and merge again.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(leadership);
                wait.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    while (_ledger.State.Height <= checkedAt)
                    {
                        await _ledger.WaitForBlockAfterAsync(checkedAt, wait.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!leadership.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested)
        {
            // Lost the lead, or the session stopped.
        }
        catch (TransactionRejectedException e)
        {
            Log.MergeRefused(_logger, contractName, number, e.Message);
        }
        catch (SwarmException e)
        {
            Log.MergeFailed(_logger, contractName, number, e.Message);
        }
    }

    /// <summary>
    /// One merge of the round's current submissions. Returns null when done (recorded, or nothing to merge); when a
    /// contributor was revoked meanwhile and <paramref name="mayRetry"/>, the replica height to wait past before merging
    /// again (already passed when the replica shows the revocation).
    /// </summary>
    private async Task<long?> MergeAndRecordAsync(
        string contractName, long number, LedgerState state, Dictionary<Fingerprint, TensorModel?> fetchedSoFar, bool mayRetry, CancellationToken leadership)
    {
        var contract = RequireContract(state);
        var round = contract.Round;
        if (round.Number != number || round.Phase != RoundPhase.Closed)
        {
            return null; // merged by someone else meanwhile
        }

        var submissions = round.Submissions.ToList();
        if (contract.LastMerged is null && round.Submissions.ContainsKey(_ledger.Self))
        {
            // The contract's first round is the initial sync: everyone must start from the same weights, and an
            // average of independent random initializations is a poor start (each weight's spread shrinks by √n).
            // The leader's own initial model becomes everyone's.
            submissions = [.. submissions.Where(s => s.Key == _ledger.Self)];
        }

        var started = Stopwatch.GetTimestamp();
        TensorModel merged;
        MergeMethod method;
        List<Fingerprint> contributors;
        var how = "";
        if (fetchedSoFar.Count == 0 && await MergeWhileFetchingAsync(contractName, number, state, submissions, leadership).ConfigureAwait(false) is { } streamed)
        {
            (merged, method, contributors, how) = (streamed, MergeMethod.Mean, [.. submissions.Select(s => s.Key)], " while fetching");
        }
        else if (await FetchAllAndMergeAsync(contractName, number, state, submissions, fetchedSoFar, leadership).ConfigureAwait(false) is { } whole)
        {
            (merged, method, contributors) = whole;
        }
        else
        {
            return null;
        }

        var momentum = 0.0;
        if (Options.MergeMomentum > 0 && await WithMomentumAsync(contractName, number, contract, merged, leadership).ConfigureAwait(false) is { } stepped)
        {
            (merged, momentum) = (stepped, Options.MergeMomentum);
            how += FormattableString.Invariant($", momentum {momentum:0.###}");
        }

        var published = await _exchange.PublishAsync(merged, leadership).ConfigureAwait(false);

        // This node's own fetch of the merged model can use it as it is, when the file holds exactly these values
        // (f32; a 16-bit tensor is rounded on the way to the file).
        _ownMerged = merged.Tensors.All(t => t.DType == TensorDType.F32) ? new OwnModel(published.Hash, merged) : null;

        // A contributor revoked while this node merged is out of the round: the ledger would refuse this merge.
        var now = _ledger.State;
        var revoked = contributors.Where(c => now.Members.TryGetValue(c, out var m) && m.Revoked).Select(c => now.Members[c].Name).ToList();
        if (revoked.Count > 0 && mayRetry)
        {
            Log.Remerging(_logger, contractName, number, string.Join(", ", revoked));
            return now.Height - 1;
        }

        try
        {
            await _ledger.SubmitAsync(TransactionTypes.RoundMerged, new MergedPayload
            {
                Contract = contractName,
                Round = number,
                ModelHash = published.Hash,
                Size = published.Size,
                Contributors = [.. contributors.Select(c => c.ToString())],
                MergeMethod = method.ToName(),
                Momentum = momentum,
            }, PayloadJson.Default.MergedPayload, leadership).ConfigureAwait(false);
        }
        catch (TransactionRejectedException e) when (e.Kind == RejectionKind.Conflict && mayRetry)
        {
            // Most likely a contributor revoked after the check above, in a block this node's replica does not hold yet.
            Log.Remerging(_logger, contractName, number, e.Message);
            return now.Height;
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested && RecordedAsMerged(contractName, number, published.Hash))
        {
            // The block that records this merge reached this node's replica before the SN's answer did, and the round's
            // end ended the lead: the merge is recorded all the same, and is logged as such.
        }

        Log.Merged(_logger, contractName, number, contributors.Count, submissions.Count, method.ToName(), how, published.Hash[..12], Stopwatch.GetElapsedTime(started).TotalSeconds);
        return null;
    }

    /// <summary>True when this node's replica records round <paramref name="number"/> as merged into <paramref name="modelHash"/> by this node.</summary>
    private bool RecordedAsMerged(string contractName, long number, string modelHash) =>
        _ledger.State.Contracts.TryGetValue(contractName, out var contract)
        && contract.LastMerged is { } merged && merged.Round == number && merged.ModelHash == modelHash && merged.Leader == _ledger.Self;

    /// <summary>
    /// This node's own submission when <paramref name="key"/> is this node and <paramref name="modelHash"/> is what it
    /// published: the leader uses it as it is instead of reading it back; null otherwise.
    /// </summary>
    private TensorModel? OwnSubmission(Fingerprint key, string modelHash) =>
        key == _ledger.Self && _ownSubmission is { } own && own.Hash == modelHash ? own.Model : null;

    /// <summary>A participant's merge weight: what it declared when ready (its nodeWeightage, 0 when inactive), else 1.</summary>
    private static double WeightOf(RoundState round, Fingerprint key) => round.Ready.TryGetValue(key, out var r) ? r.Weight : 1;

    /// <summary>The arrays a lead that merges while fetching receives submissions into, kept for the next lead.</summary>
    private readonly RecycledArrays _mergeArrays = new();

    /// <summary>The arrays kept between leads (for tests).</summary>
    internal RecycledArrays MergeArrays => _mergeArrays;

    /// <summary>How many submissions a leader that merges while fetching has in flight (fetching, or fetched and not yet added).</summary>
    private const int StreamingFetches = 3;

    /// <summary>
    /// The common case, with <c>mean</c>: fetches the submissions a few at a time, in the order the merge takes them,
    /// and adds each to a <see cref="StreamingMean"/> as soon as it has arrived and been verified, then lets it go. The
    /// leader holds about three models (the heaviest, the output and a group sum) plus those in flight, instead of all
    /// of them; the result is bit for bit the engine's mean. Null, with nothing recorded, whenever the round is not
    /// that simple (another method, a submission of weight zero, one that cannot be fetched, fails its hash or has
    /// other tensors): the caller then fetches everything and merges the usual way, which leaves out and logs what
    /// must be left out.
    /// </summary>
    private async Task<TensorModel?> MergeWhileFetchingAsync(
        string contractName, long number, LedgerState state, List<KeyValuePair<Fingerprint, SubmissionRecord>> submissions, CancellationToken leadership)
    {
        var round = RequireContract(state).Round;
        var weights = submissions.Select(s => WeightOf(round, s.Key)).ToList();
        if (Options.MergeMethod != MergeMethod.Mean || submissions.Count < 2 || weights.Any(w => w <= 0))
        {
            return null;
        }

        StreamingMean mean;
        try
        {
            mean = new StreamingMean(weights) { ScratchAllocator = _mergeArrays.Rent };
        }
        catch (MergeException)
        {
            return null;
        }

        int[] order = [mean.Reference, .. mean.Order];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(leadership);

        // The models to fetch are those not in this node's memory already (its own submission is). The r-th of them
        // starts once the (r − StreamingFetches)-th has been added: at most that many fetched models wait in memory,
        // in the arrays of those already added, and the leader's own submission takes no place among them (counting
        // it kept a 4-node round's third fetch waiting for the first). The arrays (and the mean's group sums) come from
        // the session's pool, which keeps them from one lead to the next.
        var added = order.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var own = order.Select(i => OwnSubmission(submissions[i].Key, submissions[i].Value.ModelHash)).ToArray();
        var fetched = Enumerable.Range(0, order.Length).Where(k => own[k] is null).ToArray(); // positions, in turn
        async Task<TensorModel> FetchInTurnAsync(int k)
        {
            if (own[k] is { } model)
            {
                return model;
            }

            var r = Array.IndexOf(fetched, k);
            if (r >= StreamingFetches)
            {
                await added[fetched[r - StreamingFetches]].Task.WaitAsync(stop.Token).ConfigureAwait(false);
            }

            var (key, submission) = submissions[order[k]];
            return await _exchange.FetchToMergeAsync(state.Members[key], submission.ModelHash, submission.Size, _mergeArrays.Rent, stop.Token).ConfigureAwait(false);
        }

        var fetches = Enumerable.Range(0, order.Length).Select(FetchInTurnAsync).ToArray();
        TensorModel? reference = null;
        try
        {
            for (var k = 0; k < order.Length; k++)
            {
                var model = await fetches[k].ConfigureAwait(false);
                var input = order[k];
                await Task.Run(() => mean.Add(input, model, stop.Token), stop.Token).ConfigureAwait(false);
                fetches[k] = Task.FromResult<TensorModel>(null!); // let the model go: only the mean holds what it needs
                if (k > 0)
                {
                    _mergeArrays.Return(model); // the reference (k = 0) stays in the mean until the end
                }
                else
                {
                    reference = model;
                }

                added[k].SetResult();
            }

            var result = mean.Result($"mean of {submissions.Count} models");
            if (reference is not null)
            {
                _mergeArrays.Return(reference); // the result holds only the mean's own output (nothing when it is this node's)
            }

            foreach (var sum in mean.Scratch)
            {
                _mergeArrays.Return(sum);
            }

            return result;
        }
        catch (Exception e) when (e is ModelExchangeException or MergeException || (e is OperationCanceledException && !leadership.IsCancellationRequested))
        {
            Log.MergeWhileFetchingStopped(_logger, contractName, number, e.Message);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(fetches.Select(f => f.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default))).ConfigureAwait(false);
            return null;
        }
        finally
        {
            // What is still out (models of a merge that stopped) becomes garbage; what came back stays for the next lead,
            // unless the machine is short of memory.
            _mergeArrays.Forget();
            if (MergeArraysCrowd())
            {
                _mergeArrays.Clear();
            }
        }
    }

    /// <summary>
    /// The share of the machine's memory in use above which a session does not keep its merge arrays between leads
    /// (<see cref="GCMemoryInfo.MemoryLoadBytes"/>, with the arrays, over <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>):
    /// 0.6. A test that must see them kept whatever the machine's load sets it above 1.
    /// </summary>
    internal double KeepMergeArraysBelowLoad { get; init; } = 0.6;

    /// <summary>True when keeping the merge arrays would leave the machine short of memory (see <see cref="KeepMergeArraysBelowLoad"/>).</summary>
    private bool MergeArraysCrowd()
    {
        var memory = GC.GetGCMemoryInfo();
        return memory.TotalAvailableMemoryBytes > 0
            && memory.MemoryLoadBytes + _mergeArrays.FreeBytes >= KeepMergeArraysBelowLoad * memory.TotalAvailableMemoryBytes;
    }

    /// <summary>
    /// Fetches every submission (all at once), leaves out those that cannot be fetched, fail their hash or have other
    /// tensors than the round's, and merges the rest with this session's method (the coordinate median when the method
    /// cannot merge what is left). Null when nothing is left to merge.
    /// </summary>
    private async Task<(TensorModel Merged, MergeMethod Method, List<Fingerprint> Contributors)?> FetchAllAndMergeAsync(
        string contractName, long number, LedgerState state, List<KeyValuePair<Fingerprint, SubmissionRecord>> submissions, Dictionary<Fingerprint, TensorModel?> fetchedSoFar, CancellationToken leadership)
    {
        var fetched = await Task.WhenAll(submissions.Select(async s =>
        {
            var peer = state.Members[s.Key];
            if (OwnSubmission(s.Key, s.Value.ModelHash) is { } own)
            {
                return (s.Key, Model: (TensorModel?)own);
            }

            if (fetchedSoFar.TryGetValue(s.Key, out var before))
            {
                return (s.Key, Model: before); // fetched (or left out) by an earlier attempt at this round
            }

            try
            {
                var model = await _exchange.FetchToMergeAsync(peer, s.Value.ModelHash, s.Value.Size, leadership).ConfigureAwait(false);
                return (s.Key, Model: model);
            }
            catch (ModelExchangeException e)
            {
                Log.Excluded(_logger, contractName, number, peer.Name, e.Message);
                return (s.Key, Model: (TensorModel?)null);
            }
        })).ConfigureAwait(false);
        foreach (var (key, model) in fetched)
        {
            fetchedSoFar[key] = model;
        }

        var inputs = fetched.Where(f => f.Model is not null).ToList();

        // Every input must have the same tensors (names, dtypes, shapes): one odd model would fail the whole merge,
        // and the next leader's too. The reference is the leader's own submission, else the most common layout.
        var ownModel = inputs.FirstOrDefault(i => i.Key == _ledger.Self).Model;
        var reference = ownModel is not null ? Layout(ownModel) : inputs.GroupBy(i => Layout(i.Model!), StringComparer.Ordinal).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        foreach (var odd in inputs.Where(i => Layout(i.Model!) != reference))
        {
            Log.Excluded(_logger, contractName, number, state.Members[odd.Key].Name, "its model's tensors (names, dtypes or shapes) differ from the round's; it was not trained from this swarm's model");
        }

        inputs = [.. inputs.Where(i => Layout(i.Model!) == reference)];
        if (inputs.Count == 0)
        {
            Log.NothingToMerge(_logger, contractName, number);
            return null;
        }

        var round = RequireContract(state).Round;
        var weights = inputs.Select(i => WeightOf(round, i.Key)).ToList();
        if (weights.Sum() <= 0)
        {
            weights = [.. weights.Select(_ => 1.0)]; // every contributor checked in inactive: plain mean of what there is
        }

        var mergeInputs = inputs.Select((i, k) => new MergeInput(i.Model!, weights[k])).ToList();

        // One model (the initial sync) is taken as it is, whatever the method: krum, say, needs at least three.
        var method = mergeInputs.Count == 1 ? MergeMethod.Mean : Options.MergeMethod;
        TensorModel merged;
        try
        {
            (merged, _) = ModelMerger.Merge(mergeInputs, MergeOptionsFor(method, mergeInputs.Count), leadership);
        }
        catch (MergeException e) when (method != MergeMethod.CoordMedian)
        {
            // The method cannot merge what arrived (too few models for krum after exclusions, say). Every later
            // leader would fail the same way, so the round would never end: merge with the coordinate median,
            // which takes any number of models and still resists outliers, and say so.
            Log.MergeFallback(_logger, contractName, number, method.ToName(), e.Message);
            method = MergeMethod.CoordMedian;
            (merged, _) = ModelMerger.Merge(mergeInputs, MergeOptionsFor(method, mergeInputs.Count), leadership);
        }

        return (merged, method, [.. inputs.Select(i => i.Key)]);
    }

    /// <summary>Waits until every participant has submitted, or the submission wait has passed; returns the state then.</summary>
    private async Task<LedgerState> WaitForSubmissionsAsync(string contractName, long number, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var state = _ledger.State;
            var round = RequireContract(state).Round;
            if (round.Number != number)
            {
                return state;
            }

            var waited = _time.GetElapsedTime(started);
            var limit = SubmissionWait(state);
            if (round.Submissions.Count >= round.Participants.Count || waited >= limit)
            {
                if (round.Submissions.Count < round.Participants.Count)
                {
                    var missing = string.Join(", ", round.Participants.Where(p => !round.Submissions.ContainsKey(p)).Select(p => NameOf(state, p)));
                    Log.MergingWithout(_logger, contractName, number, limit.TotalSeconds, missing);
                }

                return state;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(limit - waited);
            try
            {
                await _ledger.WaitForBlockAfterAsync(state.Height, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>How long a leader waits for submissions: half the merge timeout, at most 30 s.</summary>
    private static TimeSpan SubmissionWait(LedgerState state) =>
        TimeSpan.FromSeconds(Math.Min(30, state.Defaults.MergeTimeoutSeconds / 2.0));

    /// <summary>The merge options of this session for <paramref name="n"/> models: its β, and multi-Krum's m.</summary>
    private MergeOptions MergeOptionsFor(MergeMethod method, int n) => new()
    {
        Method = method,
        TrimFraction = Options.TrimFraction,
        KrumSelect = Math.Clamp(Options.KrumSelect ?? n - MergeOptions.DefaultByzantineCount(n), 1, Math.Max(1, n)),
    };

    private static string Layout(TensorModel model) =>
        string.Join(';', model.Tensors.Select(t => $"{t.Name}:{t.DType}:{t.Shape}"));
}
