using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;

namespace SwarmLearning.Ledger.Contracts;

// Training contracts and their rounds (design.md §5):
//   ready → the participant set closes when at least minPeers are ready and either every active member of the
//   contract is ready or the full-quorum wait has passed → participants submit model hashes → the leader records the
//   merged hash and contributors → the next round opens. A leader whose heartbeat goes stale, or who does not merge
//   within the merge timeout, is replaced by the next in the round's leader order. This file applies the contracts'
//   transactions; the rules that depend on who is ready and on time (closing, leader order, failover, deadlines) are in
//   ContractEngine.Rounds.cs.
internal sealed partial class ContractEngine
{
    private static readonly string[] CheckinModes = ["snapshot", "active", "inactive"];

    private static void ApplyContractCreate(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var payload = ParsePayload(tx, PayloadJson.Default.NamePayload);
        RequireName(payload.Name, "contract.create: name");
        if (state.Contracts.ContainsKey(payload.Name))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"contract.create: training contract '{payload.Name}' exists; contracts cannot be deleted, reset it when completed or pick another name");
        }

        state.Contracts.Add(payload.Name, new TrainingContractState { Name = payload.Name, CreatedBy = sender.Fingerprint, CreatedAt = state.Time });
        events.Add(new LedgerEvent(state.Height, state.Time, "contract.created", payload.Name, null, sender.Fingerprint.ToString(), $"training contract '{payload.Name}' created by '{sender.Name}'"));
    }

    private static void ApplyContractReset(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var payload = ParsePayload(tx, PayloadJson.Default.NamePayload);
        var contract = RequireContract(state, payload.Name, tx.Type);
        if (contract.Status != ContractStatus.Completed)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"contract.reset: training contract '{contract.Name}' is {contract.Status.ToString().ToLowerInvariant()}; only a completed contract can be reset");
        }

        contract.ResetToCreated();
        events.Add(new LedgerEvent(state.Height, state.Time, "contract.reset", contract.Name, null, sender.Fingerprint.ToString(), $"training contract '{contract.Name}' reset by '{sender.Name}'"));
    }

    private static void ApplyReady(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.ReadyPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        if (contract.Status == ContractStatus.Completed)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"round.ready: training contract '{contract.Name}' is completed; reset it (swarm ctl) to train again");
        }

        var round = RequireRound(contract, payload.Round, RoundPhase.Collecting, tx.Type);
        if (!double.IsFinite(payload.Weight) || payload.Weight is < 0 or > 1e12)
        {
            throw new TransactionRejectedException($"round.ready: weight {payload.Weight} must be a finite number from 0 to 1e12");
        }

        if (payload.MinPeers is < 1 or > 100_000)
        {
            throw new TransactionRejectedException($"round.ready: minPeers {payload.MinPeers} must be from 1 to 100000");
        }

        if (round.Ready.ContainsKey(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"round.ready: '{sender.Name}' is already ready for round {round.Number} of '{contract.Name}'");
        }

        SubmissionRecord? submission = null;
        if (payload.ModelHash is not null || payload.Size is not null)
        {
            submission = payload.ModelHash is not null && payload.Size is { } size
                ? RequireSubmission(payload.ModelHash, size, tx.Type, state.Time)
                : throw new TransactionRejectedException("round.ready: modelHash and size come together: give both (a submission with the ready) or neither (a round.submit later)");
        }

        round.Ready.Add(sender.Fingerprint, new ReadyRecord(payload.Weight, payload.MinPeers, payload.MakeMeAdmin, state.Time, submission));
        contract.Joined.Add(sender.Fingerprint);
        contract.Finished.Remove(sender.Fingerprint);
        if (contract.Status == ContractStatus.Created)
        {
            contract.Status = ContractStatus.Running;
            events.Add(new LedgerEvent(state.Height, state.Time, "contract.running", contract.Name, round.Number, null, $"training contract '{contract.Name}' started"));
        }

        EvaluateRound(state, contract, events);
    }

    private static void ApplySubmit(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.SubmitPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        var round = RequireRound(contract, payload.Round, RoundPhase.Closed, tx.Type);
        var submission = RequireSubmission(payload.ModelHash, payload.Size, tx.Type, state.Time);
        if (!round.Participants.Contains(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"round.submit: '{sender.Name}' is not a participant of round {round.Number} of '{contract.Name}'; it joins from the next round");
        }

        if (round.Submissions.ContainsKey(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"round.submit: '{sender.Name}' already submitted for round {round.Number} of '{contract.Name}'");
        }

        round.Submissions.Add(sender.Fingerprint, submission);
        events.Add(new LedgerEvent(state.Height, state.Time, "round.submitted", contract.Name, round.Number, sender.Fingerprint.ToString(),
            $"'{sender.Name}' submitted model {payload.ModelHash[..12]} ({round.Submissions.Count} of {round.Participants.Count})"));
    }

    private static void ApplyMerged(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.MergedPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        var round = RequireRound(contract, payload.Round, RoundPhase.Closed, tx.Type);
        RequireHash(payload.ModelHash, "round.merged: modelHash");
        RequireText(payload.MergeMethod, "round.merged: mergeMethod", 32);
        if (payload.Size < 0)
        {
            throw new TransactionRejectedException($"round.merged: size {payload.Size} is negative");
        }

        if (!MergeMomentum.IsValid(payload.Momentum))
        {
            throw new TransactionRejectedException($"round.merged: momentum {payload.Momentum} is not in [0, 1)");
        }

        if (payload.Momentum > 0 && contract.LastMerged?.Previous is null)
        {
            throw new TransactionRejectedException(
                $"round.merged: momentum steps from the contract's last two merged models, and '{contract.Name}' has {(contract.LastMerged is null ? "none" : "one")} before round {round.Number}; merge without momentum");
        }

        if (round.Leader != sender.Fingerprint)
        {
            var leader = round.Leader is { } l && state.Members.TryGetValue(l, out var m) ? m.Name : "none";
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"round.merged: '{sender.Name}' is not the leader of round {round.Number} of '{contract.Name}' (the leader is '{leader}')");
        }

        var contributors = new List<Fingerprint>();
        foreach (var hex in payload.Contributors)
        {
            // A contributor that rotated its certificate after the leader read the submissions is named by its old
            // fingerprint: it stands for the certificate it moved to, which holds the submission now.
            var f = state.Resolve(ParseFingerprint(hex, "round.merged: contributors"));
            if (state.Members.TryGetValue(f, out var revoked) && revoked.Revoked)
            {
                throw new TransactionRejectedException(RejectionKind.Conflict,
                    $"round.merged: contributor '{revoked.Name}' was revoked; its submission is out of round {round.Number}: merge without it");
            }

            if (!round.Submissions.ContainsKey(f))
            {
                var name = state.Members.TryGetValue(f, out var m) ? m.Name : f.Short;
                throw new TransactionRejectedException(RejectionKind.Conflict, $"round.merged: contributor '{name}' did not submit a model for round {round.Number}");
            }

            if (contributors.Contains(f))
            {
                throw new TransactionRejectedException($"round.merged: contributor {f.Short} is listed twice");
            }

            contributors.Add(f);
        }

        if (contributors.Count == 0)
        {
            throw new TransactionRejectedException("round.merged: a merge needs at least one contributor");
        }

        contributors.Sort();
        contract.LastMerged = new MergedRecord(round.Number, payload.ModelHash, payload.Size, contributors, sender.Fingerprint, payload.MergeMethod, state.Time,
            payload.Momentum, contract.LastMerged?.ModelHash);
        contract.Round = new RoundState { Number = round.Number + 1 };
        events.Add(new LedgerEvent(state.Height, state.Time, "round.merged", contract.Name, round.Number, sender.Fingerprint.ToString(),
            $"round {round.Number} of '{contract.Name}' merged by '{sender.Name}' ({payload.MergeMethod}{(payload.Momentum > 0 ? FormattableString.Invariant($", momentum {payload.Momentum:0.###}") : "")}, {contributors.Count} contributor(s)): model {payload.ModelHash[..12]}"));
    }

    private static void ApplyJoin(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.ContractPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        if (contract.Status == ContractStatus.Completed)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"training.join: training contract '{contract.Name}' is completed; reset it (swarm ctl) to train again");
        }

        var rejoined = contract.Finished.Remove(sender.Fingerprint);
        if (contract.Joined.Add(sender.Fingerprint) || rejoined)
        {
            events.Add(new LedgerEvent(state.Height, state.Time, "training.joined", contract.Name, contract.Round.Number, sender.Fingerprint.ToString(),
                $"'{sender.Name}' joined training contract '{contract.Name}' ({contract.Joined.Count} node(s))"));
        }

        EvaluateRound(state, contract, events);
    }

    private static void ApplyProgress(LedgerState state, Transaction tx, MemberState sender)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.ProgressPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        if (!double.IsFinite(payload.Loss) || !double.IsFinite(payload.Metric))
        {
            throw new TransactionRejectedException($"training.progress: loss {payload.Loss} and metric {payload.Metric} must be finite numbers");
        }

        if (payload.TotalEpochs < 0 || payload.EpochsDone < 0 || (payload.TotalEpochs > 0 && payload.EpochsDone > payload.TotalEpochs))
        {
            throw new TransactionRejectedException($"training.progress: epochsDone {payload.EpochsDone} of totalEpochs {payload.TotalEpochs} is not a valid progress");
        }

        contract.Progress[sender.Fingerprint] = new ProgressRecord(payload.Loss, payload.Metric, payload.EpochsDone, payload.TotalEpochs, state.Time);
    }

    private static void ApplyTrainingEnd(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Sl);
        var payload = ParsePayload(tx, PayloadJson.Default.TrainingEndPayload);
        var contract = RequireContract(state, payload.Contract, tx.Type);
        var mode = payload.Mode.ToLowerInvariant();
        if (!CheckinModes.Contains(mode))
        {
            throw new TransactionRejectedException($"training.end: mode \"{Truncate(payload.Mode)}\" is not one of {string.Join(", ", CheckinModes)}");
        }

        if (!contract.Joined.Contains(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"training.end: '{sender.Name}' never joined a round of '{contract.Name}'");
        }

        if (!double.IsFinite(payload.Weight) || payload.Weight is < 0 or > 1e12)
        {
            throw new TransactionRejectedException($"training.end: weight {payload.Weight} must be a finite number from 0 to 1e12");
        }

        // An inactive node stays a participant but contributes nothing (HPE forces its weightage to 0).
        var weight = mode == "inactive" ? 0 : payload.Weight;
        contract.Finished[sender.Fingerprint] = new FinishedRecord(mode, weight, payload.MakeMeAdmin, state.Time);
        events.Add(new LedgerEvent(state.Height, state.Time, "training.ended", contract.Name, contract.Round.Number, sender.Fingerprint.ToString(),
            $"'{sender.Name}' ended its local training ({mode}); {contract.Finished.Count} of {contract.Joined.Count} done"));
        TryComplete(state, contract, events);
        EvaluateRound(state, contract, events);
    }

    /// <summary>
    /// A contract completes once at least one node has ended its training and every other node that joined has either
    /// ended too or is gone (no heartbeat for the member timeout, or revoked): a crashed site must not keep the others
    /// waiting forever. A gone node that comes back later finds the contract completed.
    /// </summary>
    private static void TryComplete(LedgerState state, TrainingContractState contract, List<LedgerEvent> events)
    {
        if (contract.Status != ContractStatus.Running || contract.Finished.Count == 0)
        {
            return;
        }

        var gone = contract.Joined.Where(f => !contract.Finished.ContainsKey(f)).ToList();
        if (gone.Any(state.IsActive))
        {
            return;
        }

        contract.Status = ContractStatus.Completed;
        var why = gone.Count == 0
            ? "every node that joined ended its training"
            : $"every node that joined ended its training or is gone ({string.Join(", ", gone.Select(f => $"'{state.Members[f].Name}'"))} without a heartbeat or revoked)";
        events.Add(new LedgerEvent(state.Height, state.Time, "contract.completed", contract.Name, contract.Round.Number, null,
            $"training contract '{contract.Name}' completed: {why}"));
    }

    /// <summary>A submitted model's hash and size, checked (by <c>round.submit</c>, or <c>round.ready</c> that carries one).</summary>
    private static SubmissionRecord RequireSubmission(string modelHash, long size, string type, long at)
    {
        RequireHash(modelHash, $"{type}: modelHash");
        return size >= 0 ? new SubmissionRecord(modelHash, size, at) : throw new TransactionRejectedException($"{type}: size {size} is negative");
    }

    private static TrainingContractState RequireContract(LedgerState state, string name, string type) =>
        state.Contracts.TryGetValue(name, out var contract)
            ? contract
            : throw new TransactionRejectedException(RejectionKind.NotFound,
                $"{type}: no training contract '{Truncate(name)}'; create it first (swarm ctl create contract, HPE's CREATE CONTRACT)");

    private static RoundState RequireRound(TrainingContractState contract, long number, RoundPhase phase, string type)
    {
        var round = contract.Round;
        if (number == round.Number && round.Phase == phase)
        {
            return round;
        }

        var problem = number < round.Number ? $"round {number} is over; the current round is {round.Number}"
            : number > round.Number ? $"round {number} is not open; the current round is {round.Number}"
            : phase == RoundPhase.Collecting ? $"round {number} has closed its participant set; wait for its merged model and join round {number + 1}"
            : $"round {number} is still collecting ready nodes";
        throw new TransactionRejectedException(RejectionKind.Conflict, $"{type} for '{contract.Name}': {problem}");
    }
}
