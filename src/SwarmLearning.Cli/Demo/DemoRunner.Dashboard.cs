using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Demo;

// The dashboard while the demo runs: the ctl server in this process, as the demo's swci identity, on 127.0.0.1.
internal sealed partial class DemoRunner
{
    private CtlRunner? _ctl;
    private CtlServer? _dashboard;

    /// <summary>
    /// Starts the dashboard before the swarm, so its address can be opened at once (it shows the swarm as it comes up).
    /// It uses the demo's swci identity, as <c>swarm ctl serve --sn … --certs … --name swci</c> would, and SWCI's port
    /// 30306 unless that is busy or another was asked for.
    /// </summary>
    private async Task<Uri> StartDashboardAsync(DemoSetup setup, CancellationToken cancellationToken)
    {
        var runner = new CtlRunner(
            new ContextStore(Path.Combine(_directory, "ctl", "contexts.json")),
            new CtlTarget(null, $"localhost:{setup.ApiPort}", setup.Certs, "swci"),
            new CtlRunnerOptions { WorkingDirectory = _directory });
        try
        {
            try
            {
                _dashboard = await CtlServer.StartAsync(new CtlServerOptions { Port = _options.DashboardPort ?? CtlServerOptions.DefaultPort }, runner, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (SwarmException) when (_options.DashboardPort is null)
            {
                // 30306 is taken (a 'swarm ctl serve', another demo): any free port will do.
                _dashboard = await CtlServer.StartAsync(new CtlServerOptions { Port = 0 }, runner, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            runner.Dispose();
            throw;
        }

        _ctl = runner;
        return _dashboard.Address;
    }

    private async Task StopDashboardAsync()
    {
        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync().ConfigureAwait(false);
            _dashboard = null;
        }

        _ctl?.Dispose();
        _ctl = null;
    }
}
