using SwarmLearning.Node.Exchange;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// The file server sends at most <see cref="SwarmLearningNodeOptions.MaxConcurrentServes"/> models at once; a request
/// beyond that waits its turn and is then served whole, and a peer that gives up waiting takes no slot.
/// </summary>
public sealed class ServeSlotsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_request_beyond_the_limit_waits_until_a_send_ends()
    {
        var slots = new ServeSlots(2);
        var waited = new List<int>();
        var first = await slots.EnterAsync(waited.Add, CancellationToken.None);
        var second = await slots.EnterAsync(waited.Add, CancellationToken.None);
        Assert.Empty(waited);

        var third = slots.EnterAsync(waited.Add, CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal([1], waited);
        Assert.Equal(1, slots.Waiting);

        first.Dispose();
        first.Dispose(); // a second dispose releases nothing more
        using var entered = await third.WaitAsync(Bounded.Patience);
        Assert.Equal(0, slots.Waiting);
        var fourth = slots.EnterAsync(null, CancellationToken.None).AsTask();
        Assert.False(fourth.IsCompleted);
        second.Dispose();
        using var last = await fourth.WaitAsync(Bounded.Patience);
        Assert.Equal(2, slots.MostSending);
    }

    [Fact]
    public async Task A_peer_that_gives_up_waiting_takes_no_slot()
    {
        var slots = new ServeSlots(1);
        var held = await slots.EnterAsync(null, CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var waiting = Task.Run(async () => await slots.EnterAsync(null, giveUp.Token));
        var deadline = DateTime.UtcNow + Bounded.Patience;
        while (slots.Waiting == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the second request never waited");
            await Task.Delay(5);
        }

        await giveUp.CancelAsync();
#pragma warning disable VSTHRD003 // the waiting request, started above
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
#pragma warning restore VSTHRD003
        Assert.Equal(0, slots.Waiting);

        held.Dispose();
        var next = slots.EnterAsync(null, CancellationToken.None).AsTask();
        Assert.True(next.IsCompletedSuccessfully); // the slot is free at once: the one that gave up did not take it
        (await next).Dispose();
    }

    [Fact]
    public async Task Without_a_limit_nothing_waits()
    {
        var slots = new ServeSlots(0);
        var entered = new List<ServeSlots.Slot>();
        for (var i = 0; i < 50; i++)
        {
            entered.Add(await slots.EnterAsync(_ => Assert.Fail("nothing should wait"), CancellationToken.None));
        }

        Assert.Equal(50, slots.MostSending);
        entered.ForEach(s => s.Dispose());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1025)]
    public void A_limit_out_of_range_is_refused_in_words(int limit)
    {
        var options = new SwarmLearningNodeOptions { SwarmNetwork = "localhost:30304", MaxConcurrentServes = limit };
        Assert.Contains(options.Validate(), e => e.Contains($"--max-concurrent-serves is {limit}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_fetch_that_waits_for_a_slot_gets_the_whole_model_verified_once_the_slot_frees()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var (sl1, sl2) = await OneSlotServerAndPeerAsync(swarm);
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(5), CancellationToken.None);
        var sl1Member = sl2.Node.Ledger.State.Members[sl1.Node.Identity.Fingerprint];

        // Something else is being sent: the fetch queues behind it.
        var busy = await sl1.Node.ServeSlots.EnterAsync(null, CancellationToken.None);
        var fetch = sl2.Node.Exchange.FetchAsync(sl1Member, published.Hash, published.Size, CancellationToken.None);
        var deadline = DateTime.UtcNow + Bounded.Patience;
        while (sl1.Node.ServeSlots.Waiting == 0)
        {
            Assert.False(fetch.IsCompleted, $"the fetch ended before it waited for a slot: {fetch.Exception?.GetBaseException().Message}");
            Assert.True(DateTime.UtcNow < deadline, $"the fetch did not reach sl1's file server within {Bounded.Patience.TotalSeconds} s");
            await Task.Delay(10);
        }

        Assert.False(fetch.IsCompleted);
        busy.Dispose();
        var model = await Bounded.WithinAsync(fetch, "the queued fetch to end once the slot was free");

        Assert.Equal(Models.Tiny(5)["fc.weight"].Values, model["fc.weight"].Values);
        Assert.True(sl2.Node.Store.Contains(published.Hash));
        Assert.Equal(1, sl1.Node.ServeSlots.MostSending);
    }

    [Fact]
    public async Task A_request_that_waits_as_long_as_a_fetch_may_is_answered_busy_with_the_reason()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var (sl1, sl2) = await OneSlotServerAndPeerAsync(swarm);
        sl1.Node.ServeLimitOverride = TimeSpan.FromSeconds(1);
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(4), CancellationToken.None);

        using (await sl1.Node.ServeSlots.EnterAsync(null, CancellationToken.None))
        {
            var e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
                sl2.Node.Exchange.FetchAsync(sl2.Node.Ledger.State.Members[sl1.Node.Identity.Fingerprint], published.Hash, published.Size, CancellationToken.None));
            Assert.Contains("answered 503", e.Message, StringComparison.Ordinal);
            Assert.Contains("'sl1' was busy sending models to other peers (1 at once, --max-concurrent-serves) for all of the 1 s", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, sl1.Node.ServeSlots.Waiting);
        Assert.False(sl2.Node.Store.Contains(published.Hash));
        Assert.Contains(swarm.Log.LinesOf("sl1"), l => l.Contains($"answered 503 to 'sl2' for model {published.Hash[..12]}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_peer_that_stops_reading_loses_its_slot_when_a_fetch_of_that_size_would_have_given_up()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var (sl1, sl2) = await OneSlotServerAndPeerAsync(swarm);
        sl1.Node.ServeLimitOverride = TimeSpan.FromSeconds(5);
        var published = await sl1.Node.Exchange.PublishAsync(Huge(0.5f), CancellationToken.None);

        // 64 MB asked for and never read: the send stalls once the socket buffers (up to 32 + 4 MiB here) are full,
        // holding the only slot.
        var client = swarm.FileClient(sl2.Node.Identity);
        using var stalled = await client.GetAsync(new Uri($"https://localhost:{sl1.Node.Options.FilePort}/v1/models/{published.Hash}"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(1, sl1.Node.ServeSlots.MostSending);
        await swarm.Log.WaitForLineAsync($"gave up sending model {published.Hash[..12]} to 'sl2' after 5 s");

        // The slot is free again: a fetch is served whole, and the stalled response ends short.
        var model = await Bounded.WithinAsync(
            sl2.Node.Exchange.FetchAsync(sl2.Node.Ledger.State.Members[sl1.Node.Identity.Fingerprint], published.Hash, published.Size, CancellationToken.None),
            "a fetch once the stalled send was given up");
        Assert.Equal(0.5f, model["huge.weight"].Values[^1]);
        var body = await stalled.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        long read = 0;
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                read += n;
            }
        });
        Assert.True(read < published.Size, $"the stalled response delivered all {published.Size} bytes");
    }

    /// <summary>sl1 sends one model at a time; sl2 is an ordinary peer.</summary>
    private static async Task<(RunningLearningNode Server, RunningLearningNode Peer)> OneSlotServerAndPeerAsync(TestSwarm swarm)
    {
        var options = swarm.Options("sl1");
        options.MaxConcurrentServes = 1;
        return (await swarm.StartSlAsync("sl1", options), await swarm.StartSlAsync("sl2"));
    }

    /// <summary>A model of 16 Mi parameters (64 MiB of f32), more than loopback's socket buffers hold.</summary>
    private static TensorModel Huge(float value)
    {
        var weight = new float[4096 * 4096];
        Array.Fill(weight, value);
        return new TensorModel([new NamedTensor("huge.weight", TensorDType.F32, new TensorShape(4096, 4096), weight)]);
    }
}
