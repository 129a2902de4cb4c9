using System.Buffers.Binary;
using System.Security.Cryptography;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Contracts;

// The rules of a training contract's round that depend on who is ready and on time (design.md §5): the participant
// set closes when at least minPeers are ready and either every active member of the contract is ready or the
// full-quorum wait has passed; the leader order is ranked from ledger data; a leader whose heartbeat goes stale, or
// who does not merge within the merge timeout, is replaced by the next in order; and the next time a rule falls due,
// for the orderer to cut a block then.
internal sealed partial class ContractEngine
{
    /// <summary>Applies the round rules that depend on who is ready and on time: closing and leader failover.</summary>
    private static void EvaluateRound(LedgerState state, TrainingContractState contract, List<LedgerEvent> events)
    {
        TryComplete(state, contract, events);
        var round = contract.Round;
        if (round.Phase == RoundPhase.Collecting)
        {
            TryClose(state, contract, round, events);
        }
        else
        {
            CheckLeader(state, contract, round, events);
        }
    }

    private static void TryClose(LedgerState state, TrainingContractState contract, RoundState round, List<LedgerEvent> events)
    {
        if (round.Ready.Count == 0)
        {
            round.QuorumAt = null;
            return;
        }

        var minPeers = round.Ready.Values.Max(r => r.MinPeers);

        // Nodes that ended their training take part in every round an unfinished node starts, while they are active.
        var finished = contract.Finished.Where(f => !round.Ready.ContainsKey(f.Key) && state.IsActive(f.Key)).ToList();
        if (round.Ready.Count + finished.Count < minPeers)
        {
            round.QuorumAt = null;
            return;
        }

        round.QuorumAt ??= state.Time;
        var everyActiveReady = contract.Joined.All(f => round.Ready.ContainsKey(f) || contract.Finished.ContainsKey(f) || !state.IsActive(f));
        var waited = state.Time - round.QuorumAt.Value >= state.Defaults.FullQuorumWaitSeconds * 1000L;
        if (!everyActiveReady && !waited)
        {
            return;
        }

        var order = round.Ready.Where(r => r.Value.MakeMeAdmin && state.IsActive(r.Key)).Select(r => r.Key)
            .Concat(finished.Where(f => f.Value.MakeMeAdmin).Select(f => f.Key)).ToList();
        if (order.Count == 0)
        {
            return; // no participant may lead: the round stays open until one can
        }

        foreach (var (f, end) in finished)
        {
            round.Ready.Add(f, new ReadyRecord(end.Weight, 1, end.MakeMeAdmin, state.Time));
        }

        order.Sort((a, b) => LeaderRank(contract.Name, round.Number, a).CompareTo(LeaderRank(contract.Name, round.Number, b)));
        round.Participants.AddRange(round.Ready.Keys);
        round.LeaderOrder.AddRange(order);
        round.LeaderIndex = 0;
        round.LeaderSince = state.Time;
        round.ClosedAt = state.Time;
        round.Phase = RoundPhase.Closed;
        var leader = state.Members[order[0]];
        events.Add(new LedgerEvent(state.Height, state.Time, "round.closed", contract.Name, round.Number, leader.Fingerprint.ToString(),
            $"round {round.Number} of '{contract.Name}' closed with {round.Participants.Count} participant(s){(everyActiveReady ? "" : " after the full-quorum wait")}; leader '{leader.Name}'"));

        // The submissions that came with the ready declarations count from the closing block on, as if each
        // participant had sent round.submit in it.
        foreach (var (f, ready) in round.Ready)
        {
            if (ready.Submission is { } s)
            {
                round.Submissions.Add(f, s);
                events.Add(new LedgerEvent(state.Height, state.Time, "round.submitted", contract.Name, round.Number, f.ToString(),
                    $"'{state.Members[f].Name}' submitted model {s.ModelHash[..12]} with its ready ({round.Submissions.Count} of {round.Participants.Count})"));
            }
        }
    }

    /// <summary>
    /// A participant's place in the round's leader order: the first 8 bytes of SHA-256(contract, round, fingerprint).
    /// Anyone can recompute it from ledger data; it differs per round, so leading rotates.
    /// </summary>
    internal static ulong LeaderRank(string contract, long round, Fingerprint member)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(contract);
        Span<byte> input = stackalloc byte[name.Length + 8 + Fingerprint.Size];
        name.CopyTo(input);
        BinaryPrimitives.WriteInt64LittleEndian(input[name.Length..], round);
        member.CopyTo(input[(name.Length + 8)..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return BinaryPrimitives.ReadUInt64BigEndian(digest);
    }

    private static void CheckLeader(LedgerState state, TrainingContractState contract, RoundState round, List<LedgerEvent> events)
    {
        if (round.Leader is not { } leader)
        {
            return;
        }

        string reason;
        if (!state.IsActive(leader))
        {
            var m = state.Members[leader];
            reason = m.Revoked ? "revoked" : $"no heartbeat for {(state.Time - m.LastHeartbeat) / 1000.0:0.#} s";
        }
        else if (state.Time - round.LeaderSince >= state.Defaults.MergeTimeoutSeconds * 1000L)
        {
            reason = $"no merged model within the merge timeout of {state.Defaults.MergeTimeoutSeconds} s";
        }
        else
        {
            return;
        }

        // The next leader in order that is still active; the order wraps, so a recovered old leader is just a peer
        // whose turn may come again.
        for (var step = 1; step < round.LeaderOrder.Count; step++)
        {
            var index = (round.LeaderIndex + step) % round.LeaderOrder.Count;
            var candidate = round.LeaderOrder[index];
            if (state.IsActive(candidate))
            {
                round.Failovers.Add(new FailoverRecord(leader, candidate, state.Time, reason));
                round.LeaderIndex = index;
                round.LeaderSince = state.Time;
                events.Add(new LedgerEvent(state.Height, state.Time, "leader.failed", contract.Name, round.Number, leader.ToString(),
                    $"leader '{state.Members[leader].Name}' of round {round.Number} of '{contract.Name}' failed ({reason}); '{state.Members[candidate].Name}' takes over"));
                return;
            }
        }

        // No other participant can lead. A hung but alive leader gets another merge timeout; a dead one keeps the
        // round waiting until some participant is active again.
        if (state.IsActive(leader))
        {
            round.LeaderSince = state.Time;
        }
    }

    /// <summary>
    /// The earliest block time at which a time rule could change this state (a full-quorum wait ending, a heartbeat going
    /// stale, a merge timeout), so the orderer can cut a block then even when no transaction arrives.
    /// </summary>
    public static long? NextDeadline(LedgerState state)
    {
        long? next = null;
        void Consider(long t)
        {
            if (t > state.Time && (next is null || t < next))
            {
                next = t;
            }
        }

        var timeout = state.Defaults.MemberTimeoutSeconds * 1000L;
        foreach (var contract in state.Contracts.Values)
        {
            if (contract.Status == ContractStatus.Running && contract.Finished.Count > 0)
            {
                // Completion waits for the joined nodes that have not ended, until they are gone.
                foreach (var f in contract.Joined)
                {
                    if (!contract.Finished.ContainsKey(f) && state.Members.TryGetValue(f, out var m) && !m.Revoked)
                    {
                        Consider(m.LastHeartbeat + timeout + 1);
                    }
                }
            }

            var round = contract.Round;
            if (round.Phase == RoundPhase.Collecting && round.QuorumAt is { } quorumAt)
            {
                Consider(quorumAt + (state.Defaults.FullQuorumWaitSeconds * 1000L));
                foreach (var f in contract.Joined)
                {
                    if (!round.Ready.ContainsKey(f) && state.Members.TryGetValue(f, out var m))
                    {
                        Consider(m.LastHeartbeat + timeout + 1);
                    }
                }
            }
            else if (round.Leader is { } leader)
            {
                Consider(round.LeaderSince + (state.Defaults.MergeTimeoutSeconds * 1000L));
                Consider(state.Members[leader].LastHeartbeat + timeout + 1);
            }
        }

        return next;
    }
}
