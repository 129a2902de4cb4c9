using System.Text.Json;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Network.Client;

// The reads swarm ctl (SWCI) needs beyond those of SL nodes: every list the API serves, as JSON for the caller to shape.
public sealed partial class SwarmNetworkClient
{
    /// <summary>The training contracts, each as <c>GET /v1/contracts</c> shows it.</summary>
    public Task<List<JsonElement>> GetContractsAsync(CancellationToken cancellationToken = default) => GetAsync<List<JsonElement>>("/v1/contracts", cancellationToken);

    /// <summary>The tasks, each as <c>GET /v1/tasks</c> shows it.</summary>
    public Task<List<JsonElement>> GetTasksAsync(CancellationToken cancellationToken = default) => GetAsync<List<JsonElement>>("/v1/tasks", cancellationToken);

    /// <summary>The task runners, each as <c>GET /v1/taskrunners</c> shows it, with every operator's report.</summary>
    public Task<List<JsonElement>> GetTaskRunnersAsync(CancellationToken cancellationToken = default) => GetAsync<List<JsonElement>>("/v1/taskrunners", cancellationToken);

    /// <summary>One block, payloads as JSON.</summary>
    public Task<BlockView> GetBlockAsync(long height, CancellationToken cancellationToken = default) => GetAsync<BlockView>($"/v1/blocks/{height}", cancellationToken);
}
