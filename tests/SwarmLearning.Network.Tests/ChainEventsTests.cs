using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network.Tests;

/// <summary>Events are handed out in whole blocks, so a reader that pages through them misses none.</summary>
public sealed class ChainEventsTests
{
    [Fact]
    public async Task A_page_of_events_ends_with_the_whole_of_its_last_block_even_past_the_limit()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var chain = sentinel.Node.Chain;

        // Registrations sent at once: the orderer gathers what arrives while it writes a block, so some block records
        // several member.registered events. Burst again, a few times at most, until one does.
        List<LedgerEvent> inBlock = [];
        for (var burst = 0; burst < 5 && inBlock.Count < 2; burst++)
        {
            var clients = Enumerable.Range(0, 6).Select(i => net.Client(sentinel, $"sl{burst}x{i}", SwarmRole.Sl)).ToList();
            await Task.WhenAll(clients.Select(client => client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
            {
                Role = SwarmRoles.ToName(client.Identity.Role),
                Name = client.Identity.Name,
                Certificate = Convert.ToBase64String(client.Identity.Certificate.RawData),
                Host = "localhost",
                FilePort = 30305,
            }, PayloadJson.Default.RegisterPayload)));
            inBlock = chain.EventsFrom(0, int.MaxValue).GroupBy(e => e.Height).Where(g => g.Count() >= 2).Select(g => g.ToList()).FirstOrDefault() ?? [];
        }

        Assert.True(inBlock.Count >= 2, "no block recorded two events in five bursts of six registrations");
        var height = inBlock[0].Height;

        // A page limited to one event still ends with every event of that block.
        var page = chain.EventsFrom(height, max: 1);
        Assert.Equal(inBlock.Select(e => e.Member), page.Where(e => e.Height == height).Select(e => e.Member));

        // Paging from genesis one event at a time, each next page from the last height + 1, sees every event once.
        var all = chain.EventsFrom(0, int.MaxValue);
        var paged = new List<LedgerEvent>();
        for (long from = 0; ;)
        {
            var batch = chain.EventsFrom(from, max: 1);
            if (batch.Count == 0)
            {
                break;
            }

            paged.AddRange(batch);
            from = batch[^1].Height + 1;
        }

        Assert.Equal(all.Select(e => (e.Height, e.Kind, e.Member)), paged.Select(e => (e.Height, e.Kind, e.Member)));
    }
}
