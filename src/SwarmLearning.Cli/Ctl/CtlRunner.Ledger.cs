using System.Globalization;
using System.Text;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Cli.Ctl;

// Nodes and the ledger itself: list nodes, show blocks, verify the whole chain.
internal sealed partial class CtlRunner
{
    private async Task<CtlResult> ListNodesAsync(CancellationToken cancellationToken)
    {
        var members = await Session.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
        var views = members
            .OrderBy(m => m.Role, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new NodeView(m.Role, m.Name, m.Host, m.ApiPort, m.PeerPort, m.FilePort, m.Fingerprint, CtlFormat.Time(m.LastHeartbeat), m.Active, m.Revoked, m.Administrator))
            .ToList();
        static string Ports(NodeView n) => string.Join('/', new[] { n.ApiPort, n.PeerPort, n.FilePort }.Where(p => p is not null));
        return new CtlResult(views, CtlFormat.Table(["ROLE", "NAME", "HOST", "PORTS", "STATUS", "LAST HEARTBEAT", "FINGERPRINT"],
            views.Select(n => new[]
            {
                n.Role, n.Name, n.Host, Ports(n) is { Length: > 0 } p ? p : null, n.Revoked ? "revoked" : n.Active ? "active" : "inactive", n.LastHeartbeat, n.Fingerprint[..16],
            })));
    }

    private async Task<CtlResult> ShowBlocksAsync(ShowBlocks s, CancellationToken cancellationToken)
    {
        var from = s.From;
        if (from < 0)
        {
            var height = (await Session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Height;
            from = Math.Max(0, height - s.Limit + 1);
        }

        var blocks = await Session.Client.GetBlocksAsync(from, s.Limit, cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);
        var text = CtlFormat.Table(["HEIGHT", "TIME", "TXS", "HASH", "TRANSACTIONS"], blocks.Select(b => new[]
        {
            b.Height.ToString(CultureInfo.InvariantCulture), CtlFormat.Time(b.Timestamp), b.Transactions.Count.ToString(CultureInfo.InvariantCulture), b.Hash[..16],
            string.Join(", ", b.Transactions.Select(t => $"{t.Type} ({CtlFormat.NameOf(members, t.Sender)})")),
        }));
        return new CtlResult(blocks, text);
    }

    private async Task<CtlResult> ShowBlockAsync(ShowBlock s, CancellationToken cancellationToken)
    {
        var block = await Session.Client.GetBlockAsync(s.Height, cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);
        var text = new StringBuilder()
            .Append("block ").AppendLine(block.Height.ToString(CultureInfo.InvariantCulture))
            .Append("  time      ").AppendLine(CtlFormat.Time(block.Timestamp))
            .Append("  hash      ").AppendLine(block.Hash)
            .Append("  previous  ").AppendLine(block.PreviousHash)
            .Append("  state     ").AppendLine(block.StateHash)
            .Append("  orderer   ").AppendLine(CtlFormat.NameOf(members, block.Orderer));
        foreach (var t in block.Transactions)
        {
            text.Append("  ").Append(t.Type).Append(" from ").Append(CtlFormat.NameOf(members, t.Sender)).Append(" #").Append(t.Sequence).Append(": ").AppendLine(t.Payload.GetRawText());
        }

        return new CtlResult(block, text.ToString().TrimEnd());
    }

    private async Task<CtlResult> VerifyAsync(VerifyLedger s, CancellationToken cancellationToken)
    {
        var view = s.Directory is { } directory
            ? await VerifyDirectoryAsync(Resolve(directory)).ConfigureAwait(false)
            : await VerifySnAsync(cancellationToken).ConfigureAwait(false);
        var text = view.Valid
            ? $"{view.Source}: the chain verifies: {view.Blocks} block(s), every signature, contract rule and state hash, head {view.HeadHash?[..16]} at height {view.Height}"
            : $"{view.Source}: the chain does NOT verify at height {view.BadHeight}: {view.Problem}";
        return new CtlResult(view, text, Failed: !view.Valid);
    }

    /// <summary>
    /// Fetches the SN's chain block by block (their signed encodings) and verifies it from genesis as a joining SN
    /// would: signatures, contract rules, state hashes, and that the SN's head is the one verified.
    /// </summary>
    private async Task<VerifyView> VerifySnAsync(CancellationToken cancellationToken)
    {
        var source = $"the SN at {Session.Sn}";
        var status = await Session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var chain = LedgerChain.CreateInMemory(Session.Trust);
        await using (chain.ConfigureAwait(false))
        {
            long expected = 0;
            try
            {
                await foreach (var block in Session.Client.StreamBlocksAsync(0, TimeSpan.Zero, cancellationToken).ConfigureAwait(false))
                {
                    if (block.Height != expected)
                    {
                        return new VerifyView(source, false, expected, chain.Height, chain.Head?.HashHex, status.HeadHash, expected, $"the SN sent block {block.Height} where block {expected} belongs");
                    }

                    await chain.AppendAsync(block, cancellationToken).ConfigureAwait(false);
                    expected++;
                    if (block.Height >= status.Height)
                    {
                        break;
                    }
                }
            }
            catch (BlockRejectedException e)
            {
                return new VerifyView(source, false, expected, chain.Height, chain.Head?.HashHex, status.HeadHash, e.Height, e.Message);
            }
            catch (LedgerFormatException e)
            {
                return new VerifyView(source, false, expected, chain.Height, chain.Head?.HashHex, status.HeadHash, expected, e.Message);
            }

            if (chain.Height < status.Height)
            {
                return new VerifyView(source, false, expected, chain.Height, chain.Head?.HashHex, status.HeadHash, chain.Height + 1,
                    $"the SN reports height {status.Height} but sent blocks up to {chain.Height} only");
            }

            var head = chain.GetBlock(status.Height).HashHex;
            return head == status.HeadHash
                ? new VerifyView(source, true, expected, status.Height, head, status.HeadHash, null, null)
                : new VerifyView(source, false, expected, status.Height, head, status.HeadHash, status.Height, $"the SN reports head {status.HeadHash} but its blocks verify to {head}");
        }
    }

    /// <summary>
    /// Verifies a ledger directory on disk (an SN's, stopped) without changing it: the chain file is copied to a temporary
    /// directory and opened there, which re-verifies every block as an SN does at start.
    /// </summary>
    private static async Task<VerifyView> VerifyDirectoryAsync(string directory)
    {
        var file = Path.Combine(directory, "chain.dat");
        if (!File.Exists(file))
        {
            throw new SwarmException($"{directory} holds no ledger (no chain.dat); give an SN's ledger directory (its --data DIR/ledger)");
        }

        var copy = Path.Combine(Path.GetTempPath(), $"swarm-ctl-verify-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        try
        {
            File.Copy(file, Path.Combine(copy, "chain.dat"));
            LedgerChain chain;
            try
            {
                chain = LedgerChain.Open(copy);
            }
            catch (LedgerCorruptException e)
            {
                return new VerifyView(directory, false, e.Height, e.Height - 1, null, null, e.Height, e.InnerException?.Message ?? e.Message);
            }
            catch (LedgerStoreCorruptException e)
            {
                return new VerifyView(directory, false, e.Height, e.Height - 1, null, null, e.Height, e.Message.Replace(copy, directory, StringComparison.Ordinal));
            }

            await using (chain.ConfigureAwait(false))
            {
                var torn = chain.Recovery.TornBytesCut > 0 ? $" (a torn last write of {chain.Recovery.TornBytesCut} bytes would be cut at the SN's next start)" : "";
                return new VerifyView(directory + torn, true, chain.Height + 1, chain.Height, chain.Head?.HashHex, null, null, null);
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }
}
