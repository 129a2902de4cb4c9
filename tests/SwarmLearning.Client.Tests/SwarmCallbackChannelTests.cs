using System.Text.Json;
using SwarmLearning.Client.Channel;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Client.Tests;

/// <summary>The callback against a fake SL node on a Unix socket: what it sends, what it reads, when it syncs.</summary>
public sealed class SwarmCallbackChannelTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ListLogger _logger = new();
    private FakeSlNode _node = null!;

    public async Task InitializeAsync() => _node = await FakeSlNode.StartAsync(_dir.Path, TestModels.Make(100, "start"));

    public async Task DisposeAsync() => await _node.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private SwarmCallbackOptions Options(int syncFrequency = 3) => new()
    {
        SyncFrequency = syncFrequency,
        MinPeers = 2,
        Loopback = false,
        SlSocket = _node.SocketPath,
        TotalEpochs = 5,
    };

    private SwarmCallback Callback(SwarmCallbackOptions options, RecordingAdapter model) => new(options, model, _logger);

    private byte[] SafetensorsBytes(Tensors.TensorModel model)
    {
        var path = _dir.File(Guid.NewGuid().ToString("N") + ".safetensors");
        SafetensorsWriter.Write(path, model);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public async Task Train_begin_opens_a_session_with_HPEs_parameters_and_loads_the_starting_model()
    {
        var local = TestModels.Make(1);
        var model = new RecordingAdapter(local);
        var options = Options() with
        {
            TrainingContract = "mnist.contract",
            MergeMethod = "GeoMedian",
            MergeMomentum = 0.25,
            NodeWeightage = 40,
            CheckinModelOnTrainEnd = "inactive",
            UseAdaptiveSync = true,
            AdsValData = () => (0.5, 0.9),
        };
        await using var callback = Callback(options, model);
        Assert.Empty(_node.Requests); // nothing is sent before OnTrainBegin

        await callback.OnTrainBeginAsync();

        Assert.Equal(["GET /v1/info", "POST /v1/sessions", $"POST /v1/sessions/{_node.Session}/begin"], _node.Requests.Select(r => $"{r.Method} {r.Path}"));
        var session = _node.Requests[1];
        Assert.Equal("application/json", session.ContentType?.Split(';')[0]);
        var json = session.Json;
        Assert.Equal(3, json.GetProperty("syncFrequency").GetInt32());
        Assert.Equal(2, json.GetProperty("minPeers").GetInt32());
        Assert.Equal("mnist.contract", json.GetProperty("trainingContract").GetString());
        Assert.True(json.GetProperty("useAdaptiveSync").GetBoolean());
        Assert.Equal("inactive", json.GetProperty("checkinModelOnTrainEnd").GetString());
        Assert.Equal(40, json.GetProperty("nodeWeightage").GetInt32());
        Assert.Equal("geomedian", json.GetProperty("mergeMethod").GetString());
        Assert.Equal(0.25, json.GetProperty("mergeMomentum").GetDouble());
        Assert.Equal(5, json.GetProperty("totalEpochs").GetInt32());
        Assert.Equal(2, json.GetProperty("apiVersion").GetInt32());

        // The begin body is the adapter's weights as a safetensors file, byte for byte.
        var begin = _node.Requests[2];
        Assert.Equal("application/octet-stream", begin.ContentType);
        Assert.Equal(SafetensorsBytes(local), begin.Body);

        // What came back is loaded, and its headers are read.
        Assert.Equal(TestModels.Flat(_node.Start), TestModels.Flat(model.Current));
        Assert.Equal("sl1", callback.Node?.Node);
        Assert.Equal(_node.Session, callback.SessionId);
        Assert.Equal(0, callback.LastResult?.Round);
        Assert.Equal("", callback.LastResult?.ModelHash);
        Assert.False(callback.LastResult?.Contributed);
        Assert.False(callback.IsTrainingOver);
        Assert.Equal(3, callback.BatchesBeforeNextSync);
    }

    [Fact]
    public async Task The_first_sync_comes_after_syncFrequency_batches_then_every_interval_progress_returns()
    {
        var model = new RecordingAdapter(TestModels.Make(1));
        await using var callback = Callback(Options(syncFrequency: 3), model);
        await callback.OnTrainBeginAsync();
        _node.Intervals.Enqueue(5);
        _node.Intervals.Enqueue(2);
        _node.Intervals.Enqueue(4);

        var syncedAfter = new List<int>();
        for (var batch = 1; batch <= 14; batch++)
        {
            model.Step(0.5f);
            var before = _node.Of("sync").Count();
            await callback.OnBatchEndAsync();
            if (_node.Of("sync").Count() > before)
            {
                syncedAfter.Add(batch);
            }
        }

        Assert.Equal([3, 8, 10, 14], syncedAfter);
        Assert.Equal(4, callback.SyncCount);
        Assert.Equal(4, _node.Of("progress").Count());
        Assert.Equal(3, callback.SyncInterval); // the queue ran out: the fake answers syncFrequency
        Assert.Equal(14, callback.BatchesDone);
    }

    [Fact]
    public async Task A_sync_sends_the_local_weights_loads_the_merged_model_then_reports_its_validation_loss()
    {
        var model = new RecordingAdapter(TestModels.Make(1));
        float[]? evaluated = null;
        var options = Options(syncFrequency: 2) with
        {
            AdsValData = () =>
            {
                evaluated = TestModels.Flat(model.Current);
                return (0.25, 0.75);
            },
        };
        await using var callback = Callback(options, model);
        await callback.OnTrainBeginAsync();
        model.Step(2);
        var local = TestModels.Flat(model.Current);
        await callback.OnBatchEndAsync();
        Assert.Empty(_node.Of("sync"));
        await callback.OnBatchEndAsync();

        var sync = Assert.Single(_node.Of("sync"));
        Assert.Equal(local, TestModels.Flat(LoadModel(sync.Body)));
        var merged = TestModels.Flat(TestModels.Mean(LoadModel(sync.Body), _node.Start));
        Assert.Equal(merged, TestModels.Flat(model.Current));
        Assert.Equal(merged, evaluated); // adsValData ran on the merged model

        var progress = Assert.Single(_node.Of("progress")).Json;
        Assert.Equal(0.25, progress.GetProperty("loss").GetDouble());
        Assert.Equal(0.75, progress.GetProperty("metric").GetDouble());
        Assert.Equal(0, progress.GetProperty("epochsDone").GetInt32());
        Assert.Equal(5, progress.GetProperty("totalEpochs").GetInt32());
        Assert.Equal(1, callback.LastResult?.Round);
        Assert.True(callback.LastResult?.Contributed);
        Assert.Equal(ModelHash.Of(SafetensorsBytes(_node.Answers[^1])), callback.LastResult?.ModelHash);
        Assert.Equal(1, _logger.Count("Merge Done: round 1"));
    }

    [Fact]
    public async Task Without_adsValData_loss_and_metric_are_reported_as_0()
    {
        await using var callback = Callback(Options(syncFrequency: 1), new RecordingAdapter(TestModels.Make(1)));
        await callback.OnTrainBeginAsync();
        await callback.OnBatchEndAsync();
        var progress = Assert.Single(_node.Of("progress")).Json;
        Assert.Equal(0, progress.GetProperty("loss").GetDouble());
        Assert.Equal(0, progress.GetProperty("metric").GetDouble());
    }

    [Fact]
    public async Task Epoch_end_counts_the_epoch_and_reports_progress_unless_adaptive_sync_is_on()
    {
        var options = Options(syncFrequency: 100) with { AdsValData = () => (0.5, 0.5) };
        await using (var callback = Callback(options, new RecordingAdapter(TestModels.Make(1))))
        {
            await callback.OnTrainBeginAsync();
            await callback.OnEpochEndAsync();
            await callback.OnEpochEndAsync();
            Assert.Equal(2, callback.EpochsCompleted);
            Assert.Equal([1, 2], _node.Of("progress").Select(p => p.Json.GetProperty("epochsDone").GetInt32()));
        }

        var before = _node.Of("progress").Count();
        await using (var adaptive = Callback(options with { UseAdaptiveSync = true }, new RecordingAdapter(TestModels.Make(1))))
        {
            await adaptive.OnTrainBeginAsync();
            await adaptive.OnEpochEndAsync();
            Assert.Equal(1, adaptive.EpochsCompleted);
            Assert.Equal(before, _node.Of("progress").Count());
        }
    }

    [Fact]
    public async Task Train_end_sends_the_final_weights_waits_past_every_timeout_and_loads_the_final_model()
    {
        // The other nodes finish well after every limit a call other than /end has. The limits leave a loaded
        // machine ample time for the quick calls before /end.
        _node.EndDelay = TimeSpan.FromSeconds(3);
        var model = new RecordingAdapter(TestModels.Make(1));
        var options = Options(syncFrequency: 1) with
        {
            SyncTimeout = TimeSpan.FromSeconds(1.5),
            RequestTimeout = TimeSpan.FromSeconds(1.5),
            WaitLogInterval = TimeSpan.FromMilliseconds(500),
        };
        await using var callback = Callback(options, model);
        await callback.OnTrainBeginAsync();
        await callback.OnBatchEndAsync();
        model.Step(3);
        var final = TestModels.Flat(model.Current);

        await callback.OnTrainEndAsync();

        var end = Assert.Single(_node.Of("end"));
        Assert.Equal(final, TestModels.Flat(LoadModel(end.Body)));
        Assert.Equal(TestModels.Flat(_node.Answers[^1]), TestModels.Flat(model.Current));
        Assert.True(callback.IsTrainingOver);
        Assert.True(callback.LastResult?.TrainingOver);
        var lines = _logger.Messages.ToList();
        var waiting = lines.IndexOf("Final merging starts at training end. Waiting for other peers to complete ...");
        var done = lines.IndexOf("All peers and Swarm training rounds finished. Final Swarm model was loaded.");
        Assert.True(waiting >= 0 && done > waiting, string.Join('\n', lines));
        Assert.True(_logger.Count("Still waiting for the SL node's answer to POST /v1/sessions/") >= 1, "a long wait is logged");

        await callback.DisposeAsync();
        Assert.DoesNotContain(_node.Requests, r => r.Method == "DELETE"); // an ended session is not abandoned
    }

    [Fact]
    public async Task A_sync_that_gets_no_answer_in_time_fails_with_a_clear_message()
    {
        _node.SyncGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Options(syncFrequency: 1) with { SyncTimeout = TimeSpan.FromSeconds(1) };
        await using var callback = Callback(options, new RecordingAdapter(TestModels.Make(1)));
        await callback.OnTrainBeginAsync();
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnBatchEndAsync());
        _node.SyncGate.SetResult();
        Assert.StartsWith("Sync Swarm call to SL node failed - no answer from the SL node at ", e.Message, StringComparison.Ordinal);
        Assert.Contains("within 1 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_SL_nodes_refusal_of_the_session_surfaces_with_its_message()
    {
        const string refusal = "syncFrequency must be an integer greater than 0, not 0";
        _node.Fault = request => request == "POST /v1/sessions" ? (400, JsonSerializer.Serialize(new { error = "invalid", message = refusal }), "application/json") : null;
        await using var callback = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.Equal($"Init Swarm call to SL node failed - {refusal}", e.Message);
        var inner = Assert.IsType<SwarmChannelException>(e.InnerException);
        Assert.Equal("invalid", inner.Kind);
        Assert.Equal(400, inner.StatusCode);
        Assert.Contains(_logger.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message == e.Message);
    }

    [Theory]
    [InlineData("sync", "Sync", 503, "unavailable", "the SN at https://sn1:30304 does not answer; the SL node retries every 5 s")]
    [InlineData("progress", "Sync", 409, "conflict", "another call of session s is running")]
    [InlineData("end", "End", 500, "failed", "the merge of round 2 failed: leader sl3 crashed")]
    public async Task Errors_of_later_calls_carry_the_nodes_message_in_HPEs_words(string action, string call, int status, string kind, string message)
    {
        _node.Fault = request => request.EndsWith("/" + action, StringComparison.Ordinal) ? (status, JsonSerializer.Serialize(new { error = kind, message }), "application/json") : null;
        await using var callback = Callback(Options(syncFrequency: 1), new RecordingAdapter(TestModels.Make(1)));
        await callback.OnTrainBeginAsync();
        var e = await Assert.ThrowsAsync<SwarmException>(async () =>
        {
            await callback.OnBatchEndAsync();
            await callback.OnTrainEndAsync();
        });
        Assert.Equal($"{call} Swarm call to SL node failed - {message}", e.Message);
        Assert.Equal(kind, Assert.IsType<SwarmChannelException>(e.InnerException).Kind);
    }

    [Fact]
    public async Task An_answer_that_is_not_the_channels_error_shape_is_reported_with_its_status()
    {
        _node.Fault = request => request.EndsWith("/begin", StringComparison.Ordinal) ? (502, "upstream broke", "text/plain") : null;
        await using var callback = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.StartsWith("Sync Swarm call to SL node failed - the SL node at ", e.Message, StringComparison.Ordinal);
        Assert.Contains("with 502 Bad Gateway: upstream broke", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_SL_node_that_is_not_there_is_named_with_what_to_do()
    {
        var options = Options() with { SlSocket = _dir.File("nobody.sock") };
        await using var callback = Callback(options, new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.StartsWith($"Init Swarm call to SL node failed - cannot reach the SL node at {_dir.File("nobody.sock")}: there is no socket there.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Is 'swarm sl' running", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_socket_nobody_listens_on_is_reported_as_refused()
    {
        // A bound socket that does not listen: the file exists, connections are refused (an SL node that died).
        var path = _dir.File("dead.sock");
        using var dead = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        dead.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        await using var callback = Callback(Options() with { SlSocket = path }, new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.StartsWith($"Init Swarm call to SL node failed - cannot reach the SL node at {path}: Connection refused.", e.Message, StringComparison.Ordinal);
        Assert.Equal("unreachable", Assert.IsType<SwarmChannelException>(e.InnerException).Kind);
    }

    [Fact]
    public async Task A_different_API_version_is_refused_before_a_session_opens()
    {
        _node.ApiVersion = 1;
        await using var callback = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.Equal("Init Swarm call to SL node failed - Mismatch in the Swarm API version between the ML program (2) and the SL node (1)", e.Message);
        Assert.Null(_node.Session);
    }

    [Fact]
    public async Task A_model_answer_without_the_Swarm_headers_is_a_protocol_error()
    {
        _node.OmitHeaders = true;
        await using var callback = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.Contains("without a valid Swarm-Round header", e.Message, StringComparison.Ordinal);
        Assert.Equal("protocol", Assert.IsType<SwarmChannelException>(e.InnerException).Kind);
    }

    [Fact]
    public async Task A_model_answer_that_is_not_safetensors_is_refused_and_nothing_is_loaded()
    {
        _node.CorruptModels = true;
        var model = new RecordingAdapter(TestModels.Make(1));
        await using var callback = Callback(Options(), model);
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnTrainBeginAsync());
        Assert.Contains("with a model that is not valid", e.Message, StringComparison.Ordinal);
        Assert.Empty(model.Sets);
    }

    [Fact]
    public async Task A_program_that_stops_before_train_end_abandons_its_session()
    {
        var callback = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        await callback.OnTrainBeginAsync();
        var session = callback.SessionId;
        await callback.DisposeAsync();
        var delete = Assert.Single(_node.Requests, r => r.Method == "DELETE");
        Assert.Equal($"/v1/sessions/{session}", delete.Path);
        Assert.Null(_node.Session);
        Assert.Equal(1, _logger.Count("abandoned"));
    }

    [Fact]
    public async Task When_the_swarm_finishes_first_syncs_stop_and_train_end_keeps_the_last_merged_model()
    {
        _node.TrainingOverFromRound = 1;
        var model = new RecordingAdapter(TestModels.Make(1));
        await using var callback = Callback(Options(syncFrequency: 1), model);
        await callback.OnTrainBeginAsync();
        await callback.OnBatchEndAsync();
        Assert.True(callback.IsTrainingOver);
        var merged = TestModels.Flat(model.Current);
        for (var i = 0; i < 3; i++)
        {
            model.Step(1);
            await callback.OnBatchEndAsync();
        }

        await callback.OnTrainEndAsync();
        Assert.Single(_node.Of("sync"));
        Assert.Empty(_node.Of("progress"));
        Assert.Empty(_node.Of("end"));
        Assert.Single(_node.Requests, r => r.Method == "DELETE");
        Assert.Equal(merged, TestModels.Flat(model.Current));
        Assert.Equal(1, _logger.Count("Swarm training is over before local training. Exit gracefully."));
    }

    [Fact]
    public async Task A_second_session_on_the_same_node_is_refused_with_the_nodes_message()
    {
        await using var first = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        await first.OnTrainBeginAsync();
        await using var second = Callback(Options(), new RecordingAdapter(TestModels.Make(1)));
        var e = await Assert.ThrowsAsync<SwarmException>(() => second.OnTrainBeginAsync());
        Assert.Equal($"Init Swarm call to SL node failed - session {first.SessionId} is already open on this SL node", e.Message);
    }

    [Fact]
    public async Task A_local_model_with_NaN_is_not_sent()
    {
        var model = new RecordingAdapter(TestModels.Make(1));
        await using var callback = Callback(Options(syncFrequency: 1), model);
        await callback.OnTrainBeginAsync();
        model.Current.NamedTensors[1].Values[0] = float.NaN;
        var e = await Assert.ThrowsAsync<SwarmException>(() => callback.OnBatchEndAsync());
        Assert.Contains("the local model cannot be sent to the SL node: tensor 'fc1.bias'", e.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Of("sync"));
    }

    private Tensors.TensorModel LoadModel(byte[] body)
    {
        var path = _dir.File(Guid.NewGuid().ToString("N") + ".safetensors");
        File.WriteAllBytes(path, body);
        using var file = SafetensorsFile.Open(path);
        return file.LoadModel();
    }
}
