using Microsoft.Extensions.Logging;

namespace SwarmLearning.Node.Rounds;

public sealed partial class SwarmSession
{
    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "Contract '{Contract}' has merged before: starting from the merged model of round {Round}, contributing from round {Next}")]
        public static partial void JoiningLate(ILogger logger, string contract, long round, long next);

        [LoggerMessage(101, LogLevel.Information, "Round {Round} of '{Contract}' closed without this node; it loads that round's merged model and joins the next round")]
        public static partial void RoundWithoutUs(ILogger logger, string contract, long round);

        [LoggerMessage(102, LogLevel.Warning, "Not reporting progress: loss {Loss} and metric {Metric} must be finite numbers")]
        public static partial void NonFiniteProgress(ILogger logger, double loss, double metric);

        [LoggerMessage(103, LogLevel.Information, "Local training ended on '{Contract}' ({Mode}); taking part in the remaining rounds until every node has ended")]
        public static partial void TrainingEnded(ILogger logger, string contract, string mode);

        [LoggerMessage(104, LogLevel.Information, "Waiting for the other nodes of '{Contract}' to end their training: {Finished} of {Joined} have")]
        public static partial void WaitingForOthers(ILogger logger, string contract, int finished, int joined);

        [LoggerMessage(105, LogLevel.Information, "Round {Round} of '{Contract}': this node's submission came too late: {Reason}")]
        public static partial void SubmitTooLate(ILogger logger, string contract, long round, string reason);

        [LoggerMessage(106, LogLevel.Information, "Round {Round} of '{Contract}' waits for peers: {Ready} ready of the {MinPeers} needed (minPeers); ready: {Names}")]
        public static partial void WaitingForPeers(ILogger logger, string contract, long round, int ready, int minPeers, string names);

        [LoggerMessage(107, LogLevel.Information, "Round {Round} of '{Contract}' waits for the other active nodes: {Ready} ready ({Names}); the full-quorum wait ends in {Seconds:0} s")]
        public static partial void WaitingForQuorum(ILogger logger, string contract, long round, int ready, string names, double seconds);

        [LoggerMessage(108, LogLevel.Warning, "Round {Round} of '{Contract}': the ledger gave the lead to another node; this node stops merging")]
        public static partial void LostLead(ILogger logger, string contract, long round);

        [LoggerMessage(109, LogLevel.Information, "Round {Round} of '{Contract}' waits for the merged model from leader '{Leader}' ({Submitted} of {Participants} submitted)")]
        public static partial void WaitingForMerge(ILogger logger, string contract, long round, string leader, int submitted, int participants);

        [LoggerMessage(110, LogLevel.Information, "Leading round {Round} of '{Contract}'")]
        public static partial void Leading(ILogger logger, string contract, long round);

        [LoggerMessage(111, LogLevel.Warning, "Round {Round} of '{Contract}': leaving out '{Peer}': {Reason}")]
        public static partial void Excluded(ILogger logger, string contract, long round, string peer, string reason);

        [LoggerMessage(112, LogLevel.Error, "Round {Round} of '{Contract}': no submission could be fetched; not merging (the next leader takes over after the merge timeout)")]
        public static partial void NothingToMerge(ILogger logger, string contract, long round);

        [LoggerMessage(113, LogLevel.Information, "Round {Round} of '{Contract}' merged {Used} of {Submitted} submissions with {Method}{How}: model {Hash} in {Seconds:0.00} s")]
        public static partial void Merged(ILogger logger, string contract, long round, int used, int submitted, string method, string how, string hash, double seconds);

        [LoggerMessage(114, LogLevel.Information, "Round {Round} of '{Contract}': the merge was not recorded: {Reason}")]
        public static partial void MergeRefused(ILogger logger, string contract, long round, string reason);

        [LoggerMessage(115, LogLevel.Error, "Round {Round} of '{Contract}': the merge failed: {Reason}")]
        public static partial void MergeFailed(ILogger logger, string contract, long round, string reason);

        [LoggerMessage(116, LogLevel.Warning, "Round {Round} of '{Contract}': merging without {Missing}, whose models did not arrive within {Seconds:0} s")]
        public static partial void MergingWithout(ILogger logger, string contract, long round, double seconds, string missing);

        [LoggerMessage(117, LogLevel.Warning, "Round {Round}: cannot fetch merged model {Hash} yet ({Reason}); retrying")]
        public static partial void FetchRetry(ILogger logger, long round, string hash, string reason);

        [LoggerMessage(124, LogLevel.Information, "Round {Round} of '{Contract}': merging while fetching stopped ({Reason}); fetching every submission to merge what can be merged")]
        public static partial void MergeWhileFetchingStopped(ILogger logger, string contract, long round, string reason);

        [LoggerMessage(118, LogLevel.Warning, "Round {Round} of '{Contract}': {Method} cannot merge these models ({Reason}); merged with coordmedian instead")]
        public static partial void MergeFallback(ILogger logger, string contract, long round, string method, string reason);

        [LoggerMessage(125, LogLevel.Warning, "Round {Round} of '{Contract}': published without merge momentum: {Reason}")]
        public static partial void MomentumSkipped(ILogger logger, string contract, long round, string reason);

        [LoggerMessage(119, LogLevel.Warning, "Round {Round} of '{Contract}': merging again, without revoked contributors ({Reason})")]
        public static partial void Remerging(ILogger logger, string contract, long round, string reason);
    }
}
