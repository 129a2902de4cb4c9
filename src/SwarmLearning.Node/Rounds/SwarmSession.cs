using Microsoft.Extensions.Logging;
using SwarmLearning.Node.Sessions;

namespace SwarmLearning.Node.Rounds;

/// <summary>
/// One ML program's session on one training contract: the round protocol of docs/protocol.md, run through an
/// <see cref="ISwarmLedger"/> and an <see cref="IModelExchange"/>. The same engine runs in an SL node (real ledger,
/// HTTPS exchange) and in the simulation (in-memory). One call at a time: an ML program syncs, then trains, then
/// syncs again.
/// </summary>
public sealed partial class SwarmSession : IAsyncDisposable
{
    private readonly ISwarmLedger _ledger;
    private readonly IModelExchange _exchange;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the session; it does nothing on the ledger until <see cref="BeginAsync"/>.</summary>
    public SwarmSession(ISwarmLedger ledger, IModelExchange exchange, SessionOptions options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(exchange);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.ThrowIfInvalid();
        _ledger = ledger;
        _exchange = exchange;
        Options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        SyncInterval = options.SyncFrequency;
    }

    /// <summary>The parameters.</summary>
    public SessionOptions Options { get; }

    /// <summary>Local batches until the next sync: <see cref="SessionOptions.SyncFrequency"/>, or the adaptive interval.</summary>
    public int SyncInterval { get; private set; }

    /// <summary>How often a wait logs what it waits for.</summary>
    public TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(5);
}
