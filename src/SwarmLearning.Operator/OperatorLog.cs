using Microsoft.Extensions.Logging;

namespace SwarmLearning.Operator;

/// <summary>The operator's log lines.</summary>
internal static partial class Log
{
    [LoggerMessage(701, LogLevel.Information, "Operator '{Name}' ({Fingerprint}) of group '{Group}' watches task runner '{Runner}' on {Sn} with {Nodes} node(s); work directory {WorkDirectory}")]
    public static partial void Watching(ILogger logger, string name, string fingerprint, string group, string runner, Uri sn, int nodes, string workDirectory);

    [LoggerMessage(702, LogLevel.Information, "Profile fields for containers, not used by processes: {Fields}")]
    public static partial void IgnoredFields(ILogger logger, string fields);

    [LoggerMessage(703, LogLevel.Information, "Waiting for a task on task runner '{Runner}' (it is {Status}; ledger height {Height})")]
    public static partial void Idle(ILogger logger, string runner, string status, long height);

    [LoggerMessage(704, LogLevel.Warning, "The SN at {Sn} is unreachable ({Failures} attempt(s) in a row): {Reason}; retrying")]
    public static partial void Unreachable(ILogger logger, Uri sn, int failures, string reason);

    [LoggerMessage(705, LogLevel.Information, "The SN at {Sn} answers again after {Failures} failed attempt(s)")]
    public static partial void Reachable(ILogger logger, Uri sn, int failures);

    [LoggerMessage(706, LogLevel.Information, "Task '{Task}' ({Type}) assigned to '{Runner}' for {Peers} peer(s): executing it")]
    public static partial void Executing(ILogger logger, string task, string type, string runner, int peers);

    [LoggerMessage(707, LogLevel.Warning, "Task '{Task}' is refused: {Reason}")]
    public static partial void Refused(ILogger logger, string task, string reason);

    [LoggerMessage(708, LogLevel.Information, "Task '{Task}': {What}")]
    public static partial void Started(ILogger logger, string task, string what);

    [LoggerMessage(709, LogLevel.Information, "Reported {State} on task '{Task}' at ledger height {Height}: {Message}")]
    public static partial void Reported(ILogger logger, string state, string task, long height, string message);

    [LoggerMessage(710, LogLevel.Warning, "Could not report {State} on task '{Task}': {Reason}")]
    public static partial void ReportFailed(ILogger logger, string state, string task, string reason);

    [LoggerMessage(711, LogLevel.Information, "Task runner '{Runner}' was {Why}: stopping task '{Task}'")]
    public static partial void Stopping(ILogger logger, string runner, string why, string task);

    [LoggerMessage(712, LogLevel.Information, "Task '{Task}' stopped; a new assignment waited for it and starts now if there is one")]
    public static partial void StoppedTask(ILogger logger, string task);

    [LoggerMessage(713, LogLevel.Information, "Started the {What} of {Node} (pid {Pid}), logging to {Log}")]
    public static partial void Started(ILogger logger, string what, string node, int pid, string log);

    [LoggerMessage(714, LogLevel.Information, "Stopped {Node}: SL node exit code {SlCode}, ML program exit code {MlCode} (-1: killed or not started)")]
    public static partial void Stopped(ILogger logger, string node, int slCode, int mlCode);

    [LoggerMessage(715, LogLevel.Information, "Registered as operator '{Name}' at ledger height {Height}")]
    public static partial void Registered(ILogger logger, string name, long height);

    [LoggerMessage(716, LogLevel.Warning, "Registration or heartbeat failed ({Failures} time(s) in a row; said again every 30 s while it lasts): {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(732, LogLevel.Information, "Registration and heartbeats work again, after {Failures} failure(s)")]
    public static partial void HeartbeatRecovered(ILogger logger, int failures);

    [LoggerMessage(717, LogLevel.Information, "Task '{Task}' is done here ({State}); waiting for the task runner to be reset")]
    public static partial void Done(ILogger logger, string task, string state);

    [LoggerMessage(718, LogLevel.Information, "Content: {What}")]
    public static partial void Content(ILogger logger, string what);

    [LoggerMessage(719, LogLevel.Information, "Operator stopping: stopping task '{Task}' and its processes")]
    public static partial void ShuttingDown(ILogger logger, string task);
}
