namespace SwarmLearning.Operator;

/// <summary>How an operator runs; the defaults suit a real host.</summary>
public sealed class OperatorOptions
{
    /// <summary>How to start the <c>swarm</c> executable for <c>swarm sl</c>: the program and its leading arguments.</summary>
    public required SwarmCommand Swarm { get; init; }

    /// <summary>How long a process gets after SIGTERM before its tree is killed (10 s).</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one wait for ledger events lasts before the operator looks again (5 s).</summary>
    public TimeSpan PollWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a steady "still waiting" or "SN unreachable" line is logged (30 s).</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an SL node may take to serve its socket and register (60 s).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where to look for docker or podman (null: the PATH variable).</summary>
    public string? ContainerSearchPath { get; init; }

    /// <summary>The host's name in reports (the machine name by default).</summary>
    public string HostName { get; init; } = Environment.MachineName;
}

/// <summary>A command line prefix that runs the <c>swarm</c> executable: <c>swarm</c>, or <c>dotnet swarm.dll</c>.</summary>
public sealed record SwarmCommand(string FileName, IReadOnlyList<string> LeadingArguments);
