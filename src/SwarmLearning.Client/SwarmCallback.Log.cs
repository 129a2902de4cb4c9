using Microsoft.Extensions.Logging;

namespace SwarmLearning.Client;

public sealed partial class SwarmCallback
{
    // Where HPE's callback logs a line, this one logs the same words, so its users recognise them.
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Swarm callback parameters: syncFrequency {SyncFrequency}, minPeers {MinPeers}, trainingContract {TrainingContract}, useAdaptiveSync {UseAdaptiveSync}, adsValData {HasValidation}, checkinModelOnTrainEnd {Checkin}, nodeWeightage {NodeWeightage}, mergeMethod {MergeMethod}, totalEpochs {TotalEpochs}")]
        public static partial void Parameters(ILogger logger, int syncFrequency, int minPeers, string trainingContract, bool useAdaptiveSync, bool hasValidation, string checkin, int nodeWeightage, string mergeMethod, int totalEpochs);

        [LoggerMessage(2, LogLevel.Warning, "totalEpochs is not available through callback: training progress or ETA to complete training may not be supported")]
        public static partial void NoTotalEpochs(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "adsValData is not given: loss and metric are reported to the swarm as 0")]
        public static partial void NoValidationData(ILogger logger);

        [LoggerMessage(4, LogLevel.Information, "Swarm callback is in loopback mode (SWARM_LOOPBACK): training runs with no swarm and no SL node; every hook does no I/O")]
        public static partial void LoopbackOn(ILogger logger);

        [LoggerMessage(5, LogLevel.Debug, "{Hook}: bypassing Swarm Learning functionality as loopback mode is on")]
        public static partial void LoopbackSkip(ILogger logger, string hook);

        [LoggerMessage(6, LogLevel.Information, "Connected to SL node '{Node}' (fingerprint {Fingerprint}) at {Socket}; its SN is {Sn}")]
        public static partial void Connected(ILogger logger, string node, string fingerprint, string socket, string sn);

        [LoggerMessage(7, LogLevel.Information, "Session {Session} open; first sync after {Interval} batches")]
        public static partial void SessionOpened(ILogger logger, string session, int interval);

        [LoggerMessage(8, LogLevel.Information, "Initial sync: waiting for the swarm's starting model ...")]
        public static partial void InitialSync(ILogger logger);

        [LoggerMessage(9, LogLevel.Information, "Initial sync done: training starts from the model of round {Round}; syncing every {Interval} batches")]
        public static partial void Started(ILogger logger, long round, int interval);

        [LoggerMessage(10, LogLevel.Information, "Starting Swarm merging round ... (after batch {Batch})")]
        public static partial void SyncStarts(ILogger logger, long batch);

        [LoggerMessage(11, LogLevel.Information, "Merge Done: round {Round} (contributed: {Contributed}), loss {Loss:G6}, metric {Metric:G6}; RVInt [cur: {Current} Nxt: {Next}]")]
        public static partial void MergeDone(ILogger logger, long round, bool contributed, double loss, double metric, int current, int next);

        [LoggerMessage(12, LogLevel.Warning, "Swarm training is over (round {Round} was the last): no more syncs; local training goes on until the program ends it")]
        public static partial void ContractCompleted(ILogger logger, long round);

        [LoggerMessage(13, LogLevel.Information, "Finished local training: {Batches} batches, {Epochs} epochs")]
        public static partial void LocalTrainingFinished(ILogger logger, long batches, int epochs);

        [LoggerMessage(14, LogLevel.Warning, "No user merge done during swarm training ({Batches} batches). syncFrequency={SyncFrequency} may be high.")]
        public static partial void NoMerge(ILogger logger, int syncFrequency, long batches);

        [LoggerMessage(15, LogLevel.Warning, "Swarm training is over before local training. Exit gracefully. Loading the last merged swarm model")]
        public static partial void OverBeforeLocalEnd(ILogger logger);

        [LoggerMessage(16, LogLevel.Information, "Final merging starts at training end. Waiting for other peers to complete ...")]
        public static partial void FinalMergeStarts(ILogger logger);

        [LoggerMessage(17, LogLevel.Information, "All peers and Swarm training rounds finished. Final Swarm model was loaded.")]
        public static partial void FinalModelLoaded(ILogger logger);

        [LoggerMessage(18, LogLevel.Warning, "Could not tell the SL node that this program is going away: {Reason}")]
        public static partial void AbandonFailed(ILogger logger, string reason);

        [LoggerMessage(19, LogLevel.Information, "Session {Session} abandoned: the program stopped before OnTrainEnd")]
        public static partial void Abandoned(ILogger logger, string session);

        [LoggerMessage(20, LogLevel.Error, "{Message}")]
        public static partial void Error(ILogger logger, string message);
    }
}
