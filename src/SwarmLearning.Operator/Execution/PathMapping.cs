namespace SwarmLearning.Operator.Execution;

/// <summary>
/// What a container's mounts would show, for a process: HPE mounts a node's private data at the task's
/// <c>PrivateContent</c> and each <c>SharedContent</c> Src at its Tgt. A process has no mounts, so a path that starts
/// with a mount point (the whole path, or the mount point and a <c>/</c>) is rewritten to the host directory behind it,
/// wherever the task names paths: <c>WorkingDir</c>, each word of <c>Command</c>, and <c>Envvars</c> values.
/// The longest matching mount point wins.
/// </summary>
internal sealed class PathMapping
{
    private readonly List<(string Target, string Source)> _mounts = [];

    public IReadOnlyList<(string Target, string Source)> Mounts => _mounts;

    public void Add(string target, string source) => _mounts.Add((target.TrimEnd('/') is { Length: > 0 } t ? t : "/", source));

    public string Map(string value)
    {
        foreach (var (target, source) in _mounts.OrderByDescending(m => m.Target.Length))
        {
            if (value == target)
            {
                return source;
            }

            if (value.StartsWith(target + "/", StringComparison.Ordinal))
            {
                return Path.Combine(source, value[(target.Length + 1)..]);
            }
        }

        return value;
    }
}
