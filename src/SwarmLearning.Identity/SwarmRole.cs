using System.Diagnostics.CodeAnalysis;

namespace SwarmLearning.Identity;

/// <summary>The component a certificate identifies; it decides what the holder may do on the ledger.</summary>
public enum SwarmRole
{
    /// <summary>A Swarm Network node: holds and verifies the ledger, serves the API.</summary>
    Sn,

    /// <summary>A Swarm Learning node: one per ML program; serves models, runs the round protocol.</summary>
    Sl,

    /// <summary>The command interface (<c>swarm ctl</c>).</summary>
    Swci,

    /// <summary>The operator (<c>swarm operator</c>).</summary>
    Swop,
}

/// <summary>Role names as users and certificates spell them: <c>sn</c>, <c>sl</c>, <c>swci</c>, <c>swop</c>.</summary>
public static class SwarmRoles
{
    /// <summary>Every role, in declaration order.</summary>
    public static IReadOnlyList<SwarmRole> All { get; } = [SwarmRole.Sn, SwarmRole.Sl, SwarmRole.Swci, SwarmRole.Swop];

    /// <summary>The lowercase name of a role, e.g. <c>"sn"</c>.</summary>
    public static string ToName(SwarmRole r) => r switch
    {
        SwarmRole.Sn => "sn",
        SwarmRole.Sl => "sl",
        SwarmRole.Swci => "swci",
        SwarmRole.Swop => "swop",
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "not a swarm role"),
    };

    /// <summary>Parses a role name, case-insensitively; false for anything else (numbers included).</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, out SwarmRole r)
    {
        foreach (var role in All)
        {
            if (string.Equals(s, ToName(role), StringComparison.OrdinalIgnoreCase))
            {
                r = role;
                return true;
            }
        }

        r = default;
        return false;
    }
}
