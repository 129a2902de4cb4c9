using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network.Hosting;

/// <summary>
/// Certificate rotation without a restart, the same for an SN and an SL node. On each heartbeat the node's certificate
/// and key files are polled (<see cref="IdentityFiles"/>). A new pair fit to replace the one in use is staged, a
/// <c>member.rotate</c> signed with the current identity is submitted, and once the node's own copy of the ledger holds
/// it the holder swaps identities: from then on new TLS handshakes present the new certificate, new outgoing
/// connections use it, and transactions are signed with the new key. Anything wrong with the new files, or a refusal
/// by the ledger, is logged naming the file or the reason, and the node keeps running as it was.
/// </summary>
internal sealed partial class IdentityRotation(IdentityHolder identity, IdentityFiles files, SwarmTrust trust, ILogger logger, TimeProvider time)
{
    /// <summary>The reason recorded on the ledger.</summary>
    public const string Reason = "new certificate installed on the node";

    /// <summary>How often a rotation that waits for the ledger says so.</summary>
    public TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The files watched.</summary>
    public IdentityFiles Files => files;

    /// <summary>
    /// Looks for new identity files and rotates to them, or finishes a rotation begun earlier. True when the node now
    /// runs with a new identity.
    /// </summary>
    /// <param name="state">Reads the node's latest verified ledger state (null before genesis).</param>
    /// <param name="submit">
    /// Signs a <c>member.rotate</c> with the current identity, submits it, and completes once its block is in the node's
    /// own copy of the ledger; throws <see cref="TransactionRejectedException"/> when refused and
    /// <see cref="SwarmException"/> when it cannot tell.
    /// </param>
    /// <param name="cancellationToken">The node's stop token.</param>
    public async Task<bool> PollAsync(Func<LedgerState?> state, Func<RotatePayload, CancellationToken, Task> submit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(submit);
        var current = identity.Current;
        var staged = identity.Staged;
        if (staged is not null && Recorded(state(), current, staged) is { } height)
        {
            Promote(current, staged, height);
            return true;
        }

        if (staged is null)
        {
            try
            {
                staged = files.Poll(current, trust, time.GetUtcNow());
            }
            catch (SwarmException e)
            {
                Log.Unusable(logger, current.Name, e.Message, current.Fingerprint.Short);
                return false;
            }

            if (staged is null)
            {
                return false;
            }

            identity.Stage(staged);
            Log.Rotating(logger, SwarmRoles.ToName(current.Role), current.Name, current.Fingerprint.Short, staged.Fingerprint.Short, files.CertificatePath,
                staged.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (state() is not { } ledger)
        {
            return false; // no ledger yet: try again on the next heartbeat
        }

        var payload = RotationProof.CreatePayload(current, staged, ledger.ChainId.Span, Reason);
        try
        {
            await WaitLoggingAsync(() => submit(payload, cancellationToken), current, staged, cancellationToken).ConfigureAwait(false);
        }
        catch (TransactionRejectedException e)
        {
            if (Recorded(state(), current, staged) is { } recorded)
            {
                Promote(current, staged, recorded); // an earlier attempt got through after all
                return true;
            }

            Log.Refused(logger, current.Name, staged.Fingerprint.Short, e.Message, current.Fingerprint.Short);
            identity.Abandon();
            return false;
        }
        catch (Exception e) when (e is SwarmException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // A follower's forwarding orderer reports a sentinel that does not answer in time as a TimeoutException.
            Log.NotYet(logger, current.Name, staged.Fingerprint.Short, e.Message);
            return false;
        }

        if (Recorded(state(), current, staged) is not { } at)
        {
            Log.NotYet(logger, current.Name, staged.Fingerprint.Short, "the block that holds it is not in this node's copy of the ledger yet");
            return false;
        }

        Promote(current, staged, at);
        return true;
    }

    /// <summary>
    /// True between the block that rotated this node's certificate reaching its ledger copy and the swap: requests made
    /// with the old certificate are refused then (a block stream is cut at the rotation), and a moment later the node
    /// makes them again with the new one. Loops use it to retry at once instead of reporting a failure.
    /// </summary>
    /// <param name="identity">The node's identity.</param>
    /// <param name="state">The node's latest ledger state.</param>
    /// <param name="usedByRequest">The identity the failed request went out with: if it is no longer current, the swap happened meanwhile.</param>
    public static bool SwapPending(IdentityHolder identity, LedgerState? state, SwarmIdentity usedByRequest)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return !ReferenceEquals(identity.Current, usedByRequest)
            || (identity.Staged is { } staged && Recorded(state, identity.Current, staged) is not null);
    }

    private static long? Recorded(LedgerState? state, SwarmIdentity current, SwarmIdentity staged) =>
        state is not null && state.Rotations.TryGetValue(current.Fingerprint, out var r) && r.New == staged.Fingerprint ? r.Height : null;

    private void Promote(SwarmIdentity current, SwarmIdentity staged, long height)
    {
        identity.Promote();
        Log.Rotated(logger, current.Name, staged.Fingerprint.Short, height, current.Fingerprint.Short);
    }

    private async Task WaitLoggingAsync(Func<Task> start, SwarmIdentity current, SwarmIdentity staged, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var submission = start();
        using var ticks = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (true)
        {
            var tick = Task.Delay(WaitLogInterval, time, ticks.Token);
            if (await Task.WhenAny(submission, tick).ConfigureAwait(false) == submission)
            {
                await ticks.CancelAsync().ConfigureAwait(false);
                await submission.ConfigureAwait(false);
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
            Log.Waiting(logger, current.Name, staged.Fingerprint.Short, time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Information, "Rotating {Role} '{Name}' from certificate {Old} to {New} (found in {Path}, valid until {NotAfter}): submitting member.rotate")]
        public static partial void Rotating(ILogger logger, string role, string name, string old, string @new, string path, string notAfter);

        [LoggerMessage(51, LogLevel.Information, "Still waiting for the ledger to record the rotation of '{Name}' to certificate {New} ({Seconds:0} s)")]
        public static partial void Waiting(ILogger logger, string name, string @new, double seconds);

        [LoggerMessage(52, LogLevel.Information, "'{Name}' now runs with certificate {New} (rotation recorded in block {Height}); certificate {Old} is retired and refused from now on")]
        public static partial void Rotated(ILogger logger, string name, string @new, long height, string old);

        [LoggerMessage(53, LogLevel.Warning, "The certificate files of '{Name}' changed, but the new pair cannot be used: {Reason}. The node keeps running with certificate {Current}; install a valid pair to rotate")]
        public static partial void Unusable(ILogger logger, string name, string reason, string current);

        [LoggerMessage(54, LogLevel.Error, "The ledger refused the rotation of '{Name}' to certificate {New}: {Reason}. The node keeps running with certificate {Current}")]
        public static partial void Refused(ILogger logger, string name, string @new, string reason, string current);

        [LoggerMessage(55, LogLevel.Warning, "The rotation of '{Name}' to certificate {New} is not recorded yet ({Reason}); trying again on the next heartbeat")]
        public static partial void NotYet(ILogger logger, string name, string @new, string reason);
    }
}
