using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace SwarmLearning.Identity;

/// <summary>
/// Rules for component and swarm names. Names become certificate common names, file names (<c>NAME.crt</c>) and
/// ledger identities, so they are short and made of characters that are safe in all three.
/// </summary>
public static class SwarmNames
{
    /// <summary>The longest name allowed (the X.509 upper bound for a common name).</summary>
    public const int MaxLength = 64;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    /// <summary>True when <paramref name="name"/> is 1 to 64 characters of <c>[A-Za-z0-9._-]</c>.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) =>
        name is { Length: > 0 and <= MaxLength } && !name.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>Throws a <see cref="SwarmException"/> that says what is wrong with <paramref name="name"/>.</summary>
    /// <param name="name">The name to check.</param>
    /// <param name="what">What the name names, for the message ("component name", "swarm name").</param>
    public static void Validate(string? name, string what)
    {
        if (IsValid(name))
        {
            return;
        }

        var detail = string.IsNullOrEmpty(name) ? "it is empty"
            : name.Length > MaxLength ? $"it has {name.Length} characters"
            : $"'{name[name.AsSpan().IndexOfAnyExcept(Allowed)]}' is not allowed";
        throw new SwarmException($"{what} '{Truncate(name)}' is invalid ({detail}): use 1 to {MaxLength} letters, digits, '.', '_' or '-'");
    }

    internal static string Truncate(string? s) => s is null ? string.Empty : s.Length <= 80 ? s : s[..77] + "...";
}
