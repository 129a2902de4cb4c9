using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Node.Replica;

// The two loops that keep an SL node on the ledger: replication (the SN's block stream into the verified replica)
// and membership (registration, then heartbeats). Both retry forever with a bounded backoff and log a steady line
// while they fail, so a node started before its SN, or cut off from it, recovers by itself.
public sealed partial class NetworkLedger
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>Keeps the replica current and this node registered and heartbeating until <paramref name="stop"/> fires.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        Log.Starting(_logger, Identity.Name, SnAddress, _chain.Directory, _chain.Height);
        var replication = ReplicateAsync(stop);
        var membership = MembershipAsync(stop);
        try
        {
            await Task.WhenAll(replication, membership).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task ReplicateAsync(CancellationToken stop)
    {
        var failures = new SteadyFailures(_time, FailureLogInterval);
        while (!stop.IsCancellationRequested)
        {
            var usedIdentity = _identities.Current;
            try
            {
                await foreach (var block in _client.StreamBlocksAsync(_chain.Height + 1, StreamWait, stop).ConfigureAwait(false))
                {
                    if (block.Height <= _chain.Height)
                    {
                        continue;
                    }

                    await _chain.AppendAsync(block, stop).ConfigureAwait(false);
                    if (failures.Succeed() is > 0 and var ended)
                    {
                        Log.Replicating(_logger, SnAddress, _chain.Height, ended);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or SwarmException)
            {
                if (IdentityRotation.SwapPending(_identities, _chain.State, usedIdentity))
                {
                    // The SN cut the stream at this node's own rotation: ask again once the new certificate is in use.
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _time, stop).ConfigureAwait(false);
                    continue;
                }

                if (failures.Fail())
                {
                    if (e is BlockRejectedException or LedgerFormatException)
                    {
                        Log.BlockRefused(_logger, SnAddress, e.Message, _chain.Directory, failures.Count);
                    }
                    else
                    {
                        Log.StreamFailed(_logger, SnAddress, _chain.Height, failures.Count, e.Message);
                    }
                }

                await Task.Delay(Backoff(failures.Count), _time, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task MembershipAsync(CancellationToken stop)
    {
        await _chain.WaitForHeightAsync(0, stop).ConfigureAwait(false);
        var failures = new SteadyFailures(_time, FailureLogInterval);
        while (!stop.IsCancellationRequested)
        {
            var state = _chain.State!;
            var interval = TimeSpan.FromSeconds(Math.Max(1, state.Defaults.HeartbeatIntervalSeconds));
            try
            {
                if (_rotation is not null)
                {
                    await RotateAsync(_rotation, stop).ConfigureAwait(false);
                    state = _chain.State!;
                }

                if (!IsRegistered(state))
                {
                    var receipt = await SubmitOwnAsync(TransactionTypes.Register, new RegisterPayload
                    {
                        Role = SwarmRoles.ToName(SwarmRole.Sl),
                        Name = Identity.Name,
                        Certificate = Convert.ToBase64String(Identity.Certificate.RawData),
                        Host = Host,
                        FilePort = FilePort,
                    }, PayloadJson.Default.RegisterPayload, stop).ConfigureAwait(false);
                    await WaitForReplicaAsync(TransactionTypes.Register, receipt, stop).ConfigureAwait(false);
                    Log.Registered(_logger, Identity.Name, Host, FilePort, receipt.Height);
                }
                else
                {
                    var receipt = await SubmitOwnAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, stop).ConfigureAwait(false);
                    if (!_registered.Task.IsCompleted)
                    {
                        // A restarted node's stored replica already lists it, but may be far behind the SN: a session
                        // that began now would start from an old round's merged model. Registered waits for this
                        // heartbeat's block, so the replica then holds everything the SN had recorded.
                        await WaitForReplicaAsync(TransactionTypes.Heartbeat, receipt, stop).ConfigureAwait(false);
                    }
                }

                if (_chain.State is { } now && IsRegistered(now))
                {
                    _registered.TrySetResult();
                }

                if (failures.Succeed() is > 0 and var ended)
                {
                    Log.HeartbeatsRecovered(_logger, ended);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (TransactionRejectedException e)
            {
                if (failures.Fail())
                {
                    Log.MembershipRefused(_logger, Identity.Name, failures.Count, e.Message);
                }
            }
            catch (SwarmException e)
            {
                if (failures.Fail())
                {
                    Log.HeartbeatFailed(_logger, failures.Count, e.Message);
                }
            }

            await Task.Delay(failures.Count > 0 ? Max(interval, Backoff(failures.Count)) : interval, _time, stop).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Rotates to a new certificate installed over the node's files, if there is one (<see cref="IdentityRotation"/>).
    /// The submission lock is held from the <c>member.rotate</c> until the node has swapped to the new identity: from
    /// the rotation's block on the old key is refused, so nothing (a round's submission) may be signed with it then.
    /// </summary>
    private async Task RotateAsync(IdentityRotation rotation, CancellationToken stop)
    {
        await _submitLock.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            await rotation.PollAsync(() => _chain.State, SubmitRotationAsync, stop).ConfigureAwait(false);
        }
        finally
        {
            _submitLock.Release();
        }
    }

    /// <summary>Submits a rotation (the caller holds the submission lock) and waits for its block in the replica.</summary>
    private async Task SubmitRotationAsync(RotatePayload payload, CancellationToken cancellationToken)
    {
        TransactionReceipt receipt;
        try
        {
            receipt = await _client.SubmitAsync(TransactionTypes.Rotate, payload, PayloadJson.Default.RotatePayload, cancellationToken).ConfigureAwait(false);
        }
        catch (SwarmException e) when (e is not TransactionRejectedException && !cancellationToken.IsCancellationRequested)
        {
            throw new LedgerUnavailableException($"{TransactionTypes.Rotate} was not recorded: {e.Message}", e);
        }

        await WaitForReplicaAsync(TransactionTypes.Rotate, receipt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when the state lists this node, not revoked, with the host and file port it runs with.</summary>
    private bool IsRegistered(LedgerState state) =>
        state.Members.TryGetValue(Self, out var me) && me.Role == SwarmRole.Sl && !me.Revoked && me.Host == Host && me.FilePort == FilePort;

    private static TimeSpan Backoff(int failures) => Min(MaxBackoff, TimeSpan.FromMilliseconds(250 * failures));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Information, "SL node '{Name}' following the ledger of the SN at {Sn}; replica {Directory} at height {Height}")]
        public static partial void Starting(ILogger logger, string name, string sn, string directory, long height);

        [LoggerMessage(201, LogLevel.Warning, "Waiting for the block stream of the SN at {Sn} (attempt {Attempt}; the replica is at height {Height}): {Reason}")]
        public static partial void StreamFailed(ILogger logger, string sn, long height, int attempt, string reason);

        [LoggerMessage(202, LogLevel.Error, "Refused a block from the SN at {Sn} (attempt {Attempt}): {Reason}. If {Directory} holds another swarm's ledger, stop this node and delete it")]
        public static partial void BlockRefused(ILogger logger, string sn, string reason, string directory, int attempt);

        [LoggerMessage(203, LogLevel.Information, "Replicating from the SN at {Sn} again, at height {Height}, after {Failures} failed attempt(s)")]
        public static partial void Replicating(ILogger logger, string sn, long height, int failures);

        [LoggerMessage(204, LogLevel.Information, "SL node '{Name}' registered on the ledger in block {Height} (file server {Host}:{FilePort})")]
        public static partial void Registered(ILogger logger, string name, string host, int filePort, long height);

        [LoggerMessage(205, LogLevel.Warning, "Heartbeat failed ({Failures} in a row): {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, int failures, string reason);

        [LoggerMessage(206, LogLevel.Error, "The ledger refuses SL node '{Name}' ({Failures} attempts): {Reason}")]
        public static partial void MembershipRefused(ILogger logger, string name, int failures, string reason);

        [LoggerMessage(207, LogLevel.Information, "Heartbeats go through again after {Failures} failure(s)")]
        public static partial void HeartbeatsRecovered(ILogger logger, int failures);
    }
}
