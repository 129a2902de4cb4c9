using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Cli.Ctl;

/// <summary>
/// Which SN to talk to and as whom, from the command line's flags over a context: <c>--sn</c>, <c>--certs</c> and
/// <c>--name</c> override the context named by <c>--context</c>, else the active one.
/// </summary>
internal sealed record CtlTarget(string? Context, string? Sn, string? Certs, string? Name)
{
    public static CtlTarget None { get; } = new(null, null, null, null);

    /// <summary>The SN address and identity to use, or an error naming what is missing and how to give it.</summary>
    public CtlContext Resolve(ContextStore store, CtlContext? current)
    {
        var context = Context is { } name ? store.Get(name) : current ?? store.Active();
        var sn = Sn ?? context?.Sn ?? $"localhost:{SwarmNetworkOptions.DefaultApiPort}";
        var certs = Certs ?? context?.Certs ?? "certs";
        var identity = Name ?? context?.Identity
            ?? throw new SwarmException(
                "no identity to act as: give --name NAME (with --certs DIR), or create a context first: 'swarm ctl context create NAME --sn HOST --certs DIR --name IDENTITY'");
        return new CtlContext(context?.Name ?? "(flags)", ContextStore.NormalizeAddress(sn), certs, identity);
    }
}

/// <summary>An identity and its client of one SN, disposed together.</summary>
internal sealed class CtlSession : IDisposable
{
    private CtlSession(CtlContext context, SwarmIdentity identity, SwarmTrust trust, SwarmNetworkClient client)
    {
        Context = context;
        Identity = identity;
        Trust = trust;
        Client = client;
    }

    public CtlContext Context { get; }

    public SwarmIdentity Identity { get; }

    public SwarmTrust Trust { get; }

    public SwarmNetworkClient Client { get; }

    public string Sn => Client.Address.GetLeftPart(UriPartial.Authority);

    public static CtlSession Open(CtlContext context)
    {
        var caFile = Path.Combine(context.Certs, "ca.crt");
        var certificate = Path.Combine(context.Certs, $"{context.Identity}.crt");
        if (!File.Exists(caFile) || !File.Exists(certificate))
        {
            throw new SwarmException(
                $"context '{context.Name}': identity '{context.Identity}' needs {certificate}, its .key and {caFile}; give --certs DIR, or 'swarm certs issue --role swci --name {context.Identity}'");
        }

        if (!SwarmNetworkOptions.TryParseHostPort(context.Sn, out var host, out var port))
        {
            throw new SwarmException($"context '{context.Name}': '{context.Sn}' is not HOST:PORT");
        }

        var trust = SwarmTrust.Load(caFile);
        var identity = SwarmIdentity.Load(certificate, Path.Combine(context.Certs, $"{context.Identity}.key"));
        var uri = new UriBuilder("https", host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host, port).Uri;
        return new CtlSession(context, identity, trust, new SwarmNetworkClient(uri, identity, trust));
    }

    /// <summary>Registers this identity first if the ledger does not list it yet: only members send transactions.</summary>
    public async Task EnsureMemberAsync(CancellationToken cancellationToken)
    {
        var members = await Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
        if (members.Exists(m => m.Fingerprint == Identity.Fingerprint.ToString()))
        {
            return;
        }

        try
        {
            await Client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
            {
                Role = SwarmRoles.ToName(Identity.Role),
                Name = Identity.Name,
                Certificate = Convert.ToBase64String(Identity.Certificate.RawData),
            }, PayloadJson.Default.RegisterPayload, cancellationToken).ConfigureAwait(false);
        }
        catch (TransactionRejectedException e)
        {
            throw new SwarmException($"'{Identity.Name}' cannot register with the SN at {Sn}: {e.Message}", e);
        }
    }

    /// <summary>Registers if needed, then submits a transaction; a refusal becomes an error naming the SN and what was refused.</summary>
    public async Task<TransactionReceipt> SubmitAsync<T>(string type, T payload, JsonTypeInfo<T> json, string what, CancellationToken cancellationToken)
    {
        await EnsureMemberAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Client.SubmitAsync(type, payload, json, cancellationToken).ConfigureAwait(false);
        }
        catch (TransactionRejectedException e)
        {
            throw new SwarmException($"the SN at {Sn} refused {what}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        Identity.Dispose();
    }
}
