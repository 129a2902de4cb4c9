using System.Collections.Concurrent;
using System.Diagnostics;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// Follows the sentinel's chain (in this process) block by block and records when the driver first saw each step of
/// a round: the participant set closing, the last submission, a change of leader, the merged model recorded. The
/// times are this process's <see cref="Stopwatch"/> timestamps, comparable with the ML programs' timings.
/// </summary>
internal sealed class LedgerWatch : IAsyncDisposable
{
    public const string Closed = "closed";
    public const string AllSubmitted = "submitted";
    public const string LeaderChanged = "leader-changed";
    public const string Merged = "merged";

    private readonly LedgerChain _chain;
    private readonly string _contract;
    private readonly ConcurrentDictionary<(string Kind, long Round), TaskCompletionSource<long>> _events = new();
    private readonly ConcurrentDictionary<(string Kind, long Round), long> _seen = new();
    private readonly ConcurrentDictionary<long, Fingerprint> _firstLeader = new();
    private readonly ConcurrentDictionary<long, long> _mergedAt = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LedgerWatch(LedgerChain chain, string contract)
    {
        _chain = chain;
        _contract = contract;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The latest round of the contract as the sentinel holds it, or null before genesis.</summary>
    public TrainingContractState? Contract => _chain.State is { } s && s.Contracts.TryGetValue(_contract, out var c) ? c : null;

    public LedgerState? State => _chain.State;

    /// <summary>The leader named when <paramref name="round"/> closed.</summary>
    public Fingerprint? FirstLeader(long round) => _firstLeader.TryGetValue(round, out var f) ? f : null;

    /// <summary>
    /// The blocks the chain grew by from the block recording <paramref name="round"/> − 1's merged model to the one
    /// recording <paramref name="round"/>'s: every replica verifies, applies and stores each. Null when either was not seen.
    /// </summary>
    public long? BlocksFor(long round) =>
        _mergedAt.TryGetValue(round, out var to) && _mergedAt.TryGetValue(round - 1, out var from) ? to - from : null;

    /// <summary>Completes with the timestamp at which the driver saw <paramref name="kind"/> for <paramref name="round"/>.</summary>
    public Task<long> WhenAsync(string kind, long round) => Event(kind, round).Task;

    /// <summary>The timestamp of an event already seen, or null.</summary>
    public long? SeenAt(string kind, long round) => _seen.TryGetValue((kind, round), out var at) ? at : null;

    private TaskCompletionSource<long> Event(string kind, long round) =>
        _events.GetOrAdd((kind, round), _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    private void Saw(string kind, long round, long at)
    {
        if (_seen.TryAdd((kind, round), at))
        {
            Event(kind, round).TrySetResult(at);
        }
    }

    private async Task LoopAsync()
    {
        var next = _chain.Height + 1;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _chain.WaitForHeightAsync(next, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var now = Stopwatch.GetTimestamp();
            var height = _chain.Height;
            next = height + 1;
            if (Contract is not { } contract)
            {
                continue;
            }

            var round = contract.Round;
            if (round.Phase == RoundPhase.Closed && round.Leader is { } leader)
            {
                Saw(Closed, round.Number, now);
                var first = _firstLeader.GetOrAdd(round.Number, leader);
                if (first != leader)
                {
                    Saw(LeaderChanged, round.Number, now);
                }

                if (round.Participants.Count > 0 && round.Submissions.Count >= round.Participants.Count)
                {
                    Saw(AllSubmitted, round.Number, now);
                }
            }

            if (contract.LastMerged is { } merged)
            {
                Saw(Merged, merged.Round, now);
                _mergedAt.TryAdd(merged.Round, height);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
#pragma warning disable VSTHRD003 // the loop this watch started itself
        await _loop.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        _stop.Dispose();
    }
}
