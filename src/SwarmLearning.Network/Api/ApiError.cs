using Microsoft.AspNetCore.Http;
using SwarmLearning.Ledger.Contracts;

namespace SwarmLearning.Network.Api;

/// <summary>
/// The body of every error the SN answers: a machine-readable kind and a sentence saying what was wrong and what to do.
/// </summary>
/// <param name="Error">The kind: <c>invalid</c>, <c>badSignature</c>, <c>forbidden</c>, <c>replay</c>, <c>notFound</c>, <c>conflict</c>, <c>unavailable</c>, <c>timeout</c>, <c>rateLimited</c> (429, with a Retry-After).</param>
/// <param name="Message">What happened, for people.</param>
public sealed record ApiError(string Error, string Message)
{
    internal static int StatusOf(RejectionKind kind) => kind switch
    {
        RejectionKind.Invalid => StatusCodes.Status400BadRequest,
        RejectionKind.BadSignature => StatusCodes.Status403Forbidden,
        RejectionKind.Forbidden => StatusCodes.Status403Forbidden,
        RejectionKind.Replay => StatusCodes.Status409Conflict,
        RejectionKind.NotFound => StatusCodes.Status404NotFound,
        RejectionKind.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status400BadRequest,
    };

    internal static string NameOf(RejectionKind kind) => kind switch
    {
        RejectionKind.Invalid => "invalid",
        RejectionKind.BadSignature => "badSignature",
        RejectionKind.Forbidden => "forbidden",
        RejectionKind.Replay => "replay",
        RejectionKind.NotFound => "notFound",
        RejectionKind.Conflict => "conflict",
        _ => "invalid",
    };

    internal static bool TryParseKind(string? name, out RejectionKind kind)
    {
        foreach (var k in Enum.GetValues<RejectionKind>())
        {
            if (NameOf(k) == name)
            {
                kind = k;
                return true;
            }
        }

        kind = RejectionKind.Invalid;
        return false;
    }
}
