using Microsoft.Extensions.Logging;

namespace SwarmLearning.Cli.Terminal;

/// <summary>How the long-running commands (<c>swarm sn</c>, <c>swarm sl</c>, <c>swarm simulate --verbose</c>) log: one line per entry on standard error, with a timestamp.</summary>
internal static class NodeLogging
{
    /// <summary>Single-line console logs; information and up (debug with <paramref name="verbose"/>), ASP.NET Core's own only from warnings.</summary>
    public static void Configure(ILoggingBuilder logging, bool verbose)
    {
        AddConsole(logging);
        logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft", verbose ? LogLevel.Information : LogLevel.Warning);
    }

    /// <summary>The single-line console format alone.</summary>
    public static void AddConsole(ILoggingBuilder logging) =>
        logging.AddSimpleConsole(c =>
        {
            c.SingleLine = true;
            c.TimestampFormat = "HH:mm:ss.fff ";
        });
}
