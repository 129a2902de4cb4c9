namespace SwarmLearning.Operator.Profile;

/// <summary>
/// An operator's profile, modelled on HPE's SWOP profile (<c>SWOP-profile-schema.yaml</c>) but for processes instead of
/// containers: which task runner to watch, which SN to use, and the SL/ML pairs this host runs. Paths are absolute
/// (relative ones and <c>&lt;CURRENT-PATH&gt;</c> are resolved against the profile's directory when it is loaded).
/// </summary>
public sealed record OperatorProfile
{
    /// <summary>HPE's <c>groupname</c>: names this operator's group of nodes, in logs and directories.</summary>
    public required string GroupName { get; init; }

    /// <summary>HPE's <c>taskrunner</c>: the task runner this operator watches.</summary>
    public required string TaskRunner { get; init; }

    /// <summary>HPE's <c>apisrv.locator</c>: the SN API's host.</summary>
    public required string SnHost { get; init; }

    /// <summary>HPE's <c>apisrv.locator.port</c>: the SN API's port (30304 when <c>~</c>).</summary>
    public required int SnPort { get; init; }

    /// <summary>The operator's own SWOP identity (top-level <c>identity</c>, this project's addition).</summary>
    public required IdentityFiles Identity { get; init; }

    /// <summary>Where the operator keeps logs, node directories and downloaded content (<c>workdir</c>).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>HPE's <c>envvars</c>: environment for every SL node.</summary>
    public required IReadOnlyDictionary<string, string> EnvVars { get; init; }

    /// <summary>HPE's <c>nodes</c>: the SL/ML pairs this host runs, by <c>idx</c>.</summary>
    public required IReadOnlyList<ProfileNode> Nodes { get; init; }

    /// <summary>The SN API address: <c>https://host:port</c>.</summary>
    public Uri SnAddress => new($"https://{SnHost}:{SnPort}");
}

/// <summary>An identity's files: HPE's <c>identity</c> attributes of type CERT, KEY and CACERT.</summary>
public sealed record IdentityFiles(string Certificate, string Key, string CaCertificate);

/// <summary>One SL/ML pair: HPE's <c>slnodedef</c>.</summary>
public sealed record ProfileNode
{
    /// <summary>HPE's <c>idx</c>: its index in the profile (0 or more, unique).</summary>
    public required int Index { get; init; }

    /// <summary>The SL node's identity (HPE's <c>identity</c>), issued with role <c>sl</c>.</summary>
    public required IdentityFiles Identity { get; init; }

    /// <summary>The SL node's name: the name in its certificate.</summary>
    public required string Name { get; init; }

    /// <summary>HPE's <c>slhostname</c>: the host peers reach its file server at (in its certificate).</summary>
    public required string HostName { get; init; }

    /// <summary>HPE's <c>slhostip</c>: the IP address its file server listens on.</summary>
    public required string ListenAddress { get; init; }

    /// <summary>HPE's <c>slport</c>: its file server's port (30305 by default).</summary>
    public required int FilePort { get; init; }

    /// <summary>HPE's <c>privatedata.src</c>: this node's private data directory, given to its ML program.</summary>
    public required string PrivateData { get; init; }

    /// <summary>This project's <c>modeldir</c>: the SL node's directory and the ML program's model directory.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>HPE's <c>slenvvars</c>: environment for the SL node, over the profile's <c>envvars</c>.</summary>
    public required IReadOnlyDictionary<string, string> SlEnvVars { get; init; }

    /// <summary>HPE's <c>usrenvvars</c>: environment for the ML program, over the task's <c>Envvars</c>.</summary>
    public required IReadOnlyDictionary<string, string> UserEnvVars { get; init; }
}
