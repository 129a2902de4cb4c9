using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

// A leader's merge momentum: the step between the contract's last two merged models, added to its merge.
public sealed partial class SwarmSession
{
    /// <summary>
    /// Merge momentum (FedAvgM's server momentum, held in the ledger's models rather than in a leader): the merge
    /// <paramref name="merged"/> plus β (X₁ − X₂), X₁ and X₂ being the contract's last two merged models, so that the
    /// step the swarm took last round carries on into this one. Every node keeps the last two merged models it
    /// loaded, so a leader has them at hand; null, logged, when there is no step yet (the contract's first two
    /// merges), when this node cannot get both, or when their tensors differ from the merge's: the round then
    /// publishes the merge as it is and records momentum 0.
    /// </summary>
    /// <remarks>
    /// A leader that lacks them asks the last round's leader, then the round's other contributors (each keeps the last
    /// two merged models it loaded), at most <see cref="MomentumSources"/> nodes, each for at most
    /// <see cref="MomentumFetchLimit"/>: momentum is worth a short wait, not a stalled round when the node that
    /// holds the models hangs.
    /// </remarks>
    private async Task<TensorModel?> WithMomentumAsync(string contractName, long number, TrainingContractState contract, TensorModel merged, CancellationToken leadership)
    {
        if (contract.LastMerged is not { Previous: { } previous } last)
        {
            return null; // nothing to step from yet: not worth a warning
        }

        var steps = await FetchLastStepAsync(last, previous, leadership).ConfigureAwait(false);
        if (steps.Models is not { } models)
        {
            Log.MomentumSkipped(_logger, contractName, number, steps.Reason!);
            return null;
        }

        try
        {
            return await Task.Run(() => MergeMomentum.Apply(merged, models.Latest, models.Before, (float)Options.MergeMomentum), leadership).ConfigureAwait(false);
        }
        catch (MergeException e)
        {
            Log.MomentumSkipped(_logger, contractName, number, e.Message);
            return null;
        }
    }

    /// <summary>
    /// The contract's last merged model and the one before it: from this node's store when it loaded them, otherwise
    /// from the last round's leader or contributors (see <see cref="WithMomentumAsync"/>); or why not.
    /// </summary>
    private async Task<((TensorModel Latest, TensorModel Before)? Models, string? Reason)> FetchLastStepAsync(MergedRecord last, string previous, CancellationToken leadership)
    {
        // This node's own store is looked at first, whichever node is asked. The model before the last one has the
        // same tensors, so the same size; if not, the fetch fails and there is no momentum.
        var members = _ledger.State.Members;
        var sources = new[] { last.Leader }.Concat(last.Contributors).Append(_ledger.Self).Distinct()
            .Select(f => members.TryGetValue(f, out var m) ? m : null).OfType<MemberState>()
            .OrderBy(m => m.Fingerprint == _ledger.Self) // others first; this node only when there is no other
            .Take(MomentumSources).ToList();
        var limit = MomentumFetchLimit(last.Size);
        var errors = new List<string>();
        foreach (var source in sources)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(leadership);
            attempt.CancelAfter(limit);
            try
            {
                // A model fetched from one source stays in the store: the next source is asked only for what is missing.
                var latest = await _exchange.FetchAsync(source, last.ModelHash, last.Size, attempt.Token).ConfigureAwait(false);
                var before = await _exchange.FetchAsync(source, previous, last.Size, attempt.Token).ConfigureAwait(false);
                return ((latest, before), null);
            }
            catch (ModelExchangeException e)
            {
                errors.Add(e.Message);
            }
            catch (OperationCanceledException) when (!leadership.IsCancellationRequested)
            {
                errors.Add(FormattableString.Invariant($"SL node '{source.Name}' did not deliver the last two merged models within {limit.TotalSeconds:0.#} s"));
            }
        }

        return (null, string.Join("; ", errors));
    }

    /// <summary>How many nodes a leader asks for the last two merged models before it merges without momentum: 2.</summary>
    private const int MomentumSources = 2;

    /// <summary>
    /// The fixed part of how long a leader waits for one node to deliver the last two merged models:
    /// 5 s, plus their size at <see cref="MomentumBytesPerSecond"/> (see <see cref="MomentumFetchLimit"/>).
    /// </summary>
    internal TimeSpan MomentumFetchAllowance { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The slowest transfer of the last two merged models a leader waits for: 50 MiB/s.</summary>
    private const double MomentumBytesPerSecond = 50 * 1024 * 1024;

    /// <summary>How long a leader waits for one node to deliver the last two merged models of <paramref name="size"/> bytes each.</summary>
    private TimeSpan MomentumFetchLimit(long size) => MomentumFetchAllowance + TimeSpan.FromSeconds(2.0 * Math.Max(size, 0) / MomentumBytesPerSecond);
}
