using System.Text;

namespace SwarmLearning.Cli.Ctl;

// Contexts: which SN, as whom. Stored in the user's contexts file, one active.
internal sealed partial class CtlRunner
{
    /// <summary>The environment variables that give CREATE CONTEXT its identity when the statement and the flags do not.</summary>
    public const string CertsVariable = "SWARM_CTL_CERTS";

    public const string NameVariable = "SWARM_CTL_NAME";

    private CtlResult CreateContext(CreateContext s)
    {
        // HPE's CREATE CONTEXT names only the SN; the identity comes from the statement (subcommand), the runner's
        // --certs/--name, SWARM_CTL_CERTS/SWARM_CTL_NAME, or the context in use, in that order.
        var fallback = _current ?? Store.Active();
        var certs = s.Certs ?? target.Certs ?? Options.Environment(CertsVariable) ?? fallback?.Certs;
        var identity = s.Identity ?? target.Name ?? Options.Environment(NameVariable) ?? fallback?.Identity;
        if (certs is null || identity is null)
        {
            throw new SwarmException(
                $"context '{s.Name}' needs an identity: give --certs DIR --name IDENTITY (to 'swarm ctl run' or 'context create'), or set {CertsVariable} and {NameVariable}");
        }

        var context = new CtlContext(s.Name, s.Sn, Resolve(certs), identity);
        Store.Save(context);
        return new CtlResult(View(context), $"context '{context.Name}' created: SN {context.Sn}, identity '{context.Identity}' from {context.Certs}");
    }

    private CtlResult SwitchContext(SwitchContext s)
    {
        _current = Store.Switch(s.Name);
        return new CtlResult(View(_current), $"switched to context '{_current.Name}' (SN {_current.Sn}, identity '{_current.Identity}')");
    }

    private CtlResult DeleteContext(DeleteContext s)
    {
        Store.Delete(s.Name);
        if (_current?.Name == s.Name)
        {
            _current = null;
        }

        return new CtlResult(new MessageView("context.delete", s.Name), $"context '{s.Name}' deleted");
    }

    private CtlResult ContextInfo(GetContextInfo s)
    {
        var context = s.Name is { } name ? Store.Get(name) : _current ?? Store.Active()
            ?? throw new SwarmException($"no context is active; 'swarm ctl context create NAME --sn HOST --certs DIR --name IDENTITY' makes one ({Store.Path})");
        var view = View(context);
        return new CtlResult(view, $"context {view.Name}{(view.Active ? " (active)" : "")}\n  SN        {view.Sn}\n  identity  {view.Identity}\n  certs     {view.Certs}");
    }

    private CtlResult ListAllContexts()
    {
        var file = Store.Load();
        var views = file.Contexts.Select(c => new ContextView(c.Name, c.Sn, c.Certs, c.Identity, c.Name == file.Active)).ToList();
        var text = views.Count == 0
            ? $"no contexts yet ({Store.Path}); create one with CREATE CONTEXT or 'swarm ctl context create'"
            : CtlFormat.Table(["", "NAME", "SN", "IDENTITY", "CERTS"], views.Select(v => new[] { v.Active ? "*" : " ", v.Name, v.Sn, v.Identity, v.Certs }));
        return new CtlResult(views, text);
    }

    private async Task<CtlResult> VersionAsync(CancellationToken cancellationToken)
    {
        var status = await Session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var view = new VersionView(Session.Sn, status.Swarm, status.Node, status.Version, status.Height, status.HeadHash, CtlFormat.Time(status.Time));
        var text = new StringBuilder()
            .Append("SN ").Append(view.Node).Append(" at ").Append(view.Sn).Append(", version ").AppendLine(view.Version)
            .Append("swarm '").Append(view.Swarm).Append("', height ").Append(view.Height).Append(", head ").Append(view.HeadHash[..16]).Append(", block time ").Append(view.Time);
        return new CtlResult(view, text.ToString());
    }

    private ContextView View(CtlContext c) => new(c.Name, c.Sn, c.Certs, c.Identity, Store.Load().Active == c.Name);
}
