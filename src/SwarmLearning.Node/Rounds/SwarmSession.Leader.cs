using System.Diagnostics;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

// The leader's part of a round: wait for the submissions, fetch and verify them, merge, publish, record.
public sealed partial class SwarmSession
{
    /// <summary>
    /// The leader's work: wait for the participants' submissions (all, or as many as arrive within the submission
    /// wait), fetch and verify each, merge with this node's merge method and the participants' weights, publish the
    /// result and record it. A submission that cannot be fetched or fails its hash is left out, with the reason logged.
    /// </summary>
    private async Task LeadAsync(string contractName, long number, CancellationToken leadership)
    {
        try
        {
            Log.Leading(_logger, contractName, number);
            var state = await WaitForSubmissionsAsync(contractName, number, leadership).ConfigureAwait(false);
            var contract = RequireContract(state);
            var round = contract.Round;
            var submissions = round.Submissions.ToList();
            if (contract.LastMerged is null && round.Submissions.ContainsKey(_ledger.Self))
            {
                // The contract's first round is the initial sync: everyone must start from the same weights, and an
                // average of independent random initializations is a poor start (each weight's spread shrinks by √n).
                // The leader's own initial model becomes everyone's.
                submissions = [.. submissions.Where(s => s.Key == _ledger.Self)];
            }

            var fetched = await Task.WhenAll(submissions.Select(async s =>
            {
                var peer = state.Members[s.Key];
                if (s.Key == _ledger.Self && _ownSubmission is { } own && own.Sha256 == s.Value.ModelHash)
                {
                    return (s.Key, Model: (TensorModel?)own.Model); // what this node published: no need to read it back
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

            var inputs = fetched.Where(f => f.Model is not null).ToList();

            // Every input must have the same tensors (names, dtypes, shapes): one odd model would fail the whole merge,
            // and the next leader's too. The reference is the leader's own submission, else the most common layout.
            var own = inputs.FirstOrDefault(i => i.Key == _ledger.Self).Model;
            var reference = own is not null ? Layout(own) : inputs.GroupBy(i => Layout(i.Model!), StringComparer.Ordinal).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
            foreach (var odd in inputs.Where(i => Layout(i.Model!) != reference))
            {
                Log.Excluded(_logger, contractName, number, state.Members[odd.Key].Name, "its model's tensors (names, dtypes or shapes) differ from the round's; it was not trained from this swarm's model");
            }

            inputs = [.. inputs.Where(i => Layout(i.Model!) == reference)];
            if (inputs.Count == 0)
            {
                Log.NothingToMerge(_logger, contractName, number);
                return;
            }

            var weights = inputs.Select(i => round.Ready.TryGetValue(i.Key, out var r) ? r.Weight : 1).ToList();
            if (weights.Sum() <= 0)
            {
                weights = [.. weights.Select(_ => 1.0)]; // every contributor checked in inactive: plain mean of what there is
            }

            var started = Stopwatch.GetTimestamp();
            var mergeInputs = inputs.Select((i, k) => new MergeInput(i.Model!, weights[k])).ToList();

            // One model (the initial sync) is taken as it is, whatever the method: krum, say, needs at least three.
            var method = mergeInputs.Count == 1 ? MergeMethod.Mean : Options.MergeMethod;
            TensorModel merged;
            try
            {
                (merged, _) = ModelMerger.Merge(mergeInputs, new MergeOptions { Method = method, TrimFraction = Options.TrimFraction }, leadership);
            }
            catch (MergeException e) when (method != MergeMethod.CoordMedian)
            {
                // The method cannot merge what arrived (too few models for krum after exclusions, say). Every later
                // leader would fail the same way, so the round would never end: merge with the coordinate median,
                // which takes any number of models and still resists outliers, and say so.
                Log.MergeFallback(_logger, contractName, number, method.ToName(), e.Message);
                method = MergeMethod.CoordMedian;
                (merged, _) = ModelMerger.Merge(mergeInputs, new MergeOptions { Method = method, TrimFraction = Options.TrimFraction }, leadership);
            }

            var published = await _exchange.PublishAsync(merged, leadership).ConfigureAwait(false);

            // This node's own fetch of the merged model can use it as it is, when the file holds exactly these values
            // (f32; a 16-bit tensor is rounded on the way to the file).
            _ownMerged = merged.Tensors.All(t => t.DType == TensorDType.F32) ? new OwnModel(published.Sha256, merged) : null;
            await _ledger.SubmitAsync(TransactionTypes.RoundMerged, new MergedPayload
            {
                Contract = contractName,
                Round = number,
                ModelHash = published.Sha256,
                Size = published.Size,
                Contributors = [.. inputs.Select(i => i.Key.ToString())],
                MergeMethod = method.ToName(),
            }, PayloadJson.Default.MergedPayload, leadership).ConfigureAwait(false);
            Log.Merged(_logger, contractName, number, inputs.Count, submissions.Count, method.ToName(), published.Sha256[..12], Stopwatch.GetElapsedTime(started).TotalSeconds);
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

    private static string Layout(TensorModel model) =>
        string.Join(';', model.Tensors.Select(t => $"{t.Name}:{t.DType}:{t.Shape}"));
}
