using Microsoft.Extensions.Logging;

namespace SwarmLearning.Identity;

/// <summary>The identity component's log messages.</summary>
internal static partial class IdentityLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "TLS client certificate refused: {Reason}")]
    public static partial void ClientCertificateRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "TLS server certificate refused: {Reason}")]
    public static partial void ServerCertificateRefused(ILogger logger, string reason);
}
