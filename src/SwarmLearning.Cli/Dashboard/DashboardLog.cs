using Microsoft.Extensions.Logging;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>The dashboard's log lines (<c>swarm ctl serve</c>, <c>swarm demo</c>).</summary>
internal static partial class DashboardLog
{
    [LoggerMessage(801, LogLevel.Information, "The dashboard follows the ledger of the SN at {Sn} as '{Identity}'")]
    public static partial void Following(ILogger logger, string sn, string identity);

    [LoggerMessage(802, LogLevel.Warning, "The dashboard cannot read the SN's ledger: {Problem}; it tries again in {Seconds} s")]
    public static partial void Unreachable(ILogger logger, string problem, double seconds);

    [LoggerMessage(803, LogLevel.Information, "The dashboard reads the SN's ledger again, at height {Height}")]
    public static partial void Recovered(ILogger logger, long height);

    [LoggerMessage(804, LogLevel.Debug, "Dashboard stream opened ({Subscribers} open)")]
    public static partial void StreamOpened(ILogger logger, int subscribers);

    [LoggerMessage(805, LogLevel.Debug, "Dashboard stream closed ({Subscribers} open)")]
    public static partial void StreamClosed(ILogger logger, int subscribers);

    [LoggerMessage(806, LogLevel.Warning, "A dashboard stream was refused: {Subscribers} are open, the most this server keeps")]
    public static partial void StreamRefused(ILogger logger, int subscribers);

    [LoggerMessage(807, LogLevel.Information, "The context changed to '{Context}': the dashboard follows its SN from genesis")]
    public static partial void ContextChanged(ILogger logger, string context);
}
