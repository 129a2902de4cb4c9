using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Network.Peer;

/// <summary>
/// A follower's orderer: forwards each transaction to the sentinel's peer port, then waits until the block holding it
/// has reached this SN, so a client that submitted here can read its own write here.
/// </summary>
internal sealed partial class ForwardingOrderer(LedgerChain chain, IdentityHttpClient http, TimeSpan timeout, ILogger logger) : ITransactionOrderer
{
    public const string TransactionContentType = "application/vnd.swarmlearning.transaction";

    public async Task<TransactionReceipt> SubmitAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        var state = chain.State ?? throw new SwarmException("this SN has not received the genesis block yet; try again shortly");
        var orderer = state.Members[state.Orderer];
        if (orderer.Host is null || orderer.PeerPort is null)
        {
            throw new SwarmException($"the sentinel '{orderer.Name}' recorded no peer address on the ledger, so transactions cannot be forwarded to it; submit through the sentinel's API");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        TransactionReceipt receipt;
        try
        {
            using var content = new ReadOnlyMemoryContent(transaction.Encoded);
            content.Headers.ContentType = new MediaTypeHeaderValue(TransactionContentType);
            using var response = await http.Current.PostAsync(PeerHttp.PeerUri(orderer.Host, orderer.PeerPort.Value, "/peer/v1/transactions"), content, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = await ReadErrorAsync(response, deadline.Token).ConfigureAwait(false);
                if (ApiError.TryParseKind(error?.Error, out var kind))
                {
                    throw new TransactionRejectedException(kind, error!.Message);
                }

                throw new SwarmException($"the sentinel '{orderer.Name}' answered {(int)response.StatusCode}: {error?.Message ?? response.ReasonPhrase}");
            }

            receipt = await response.Content.ReadFromJsonAsync<TransactionReceipt>(LedgerJson.Options, deadline.Token).ConfigureAwait(false)
                ?? throw new SwarmException($"the sentinel '{orderer.Name}' answered with an empty receipt");
        }
        catch (HttpRequestException e)
        {
            throw new SwarmException($"the sentinel '{orderer.Name}' at {orderer.Host}:{orderer.PeerPort} is unreachable ({e.Message}); in the embedded ordering mode no transaction is ordered until it is back", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the sentinel '{orderer.Name}' did not order {transaction} within {timeout.TotalSeconds:0} s", e);
        }

        try
        {
            await chain.WaitForHeightAsync(receipt.Height, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            Log.NotReplicated(logger, receipt.TransactionId, receipt.Height, timeout.TotalSeconds);
            throw new TimeoutException($"{transaction} is in block {receipt.Height} on the sentinel, but this SN has not received that block within {timeout.TotalSeconds:0} s", e);
        }

        return receipt;
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Transaction {Id} is in block {Height} on the sentinel but has not reached this SN within {Seconds} s")]
        public static partial void NotReplicated(ILogger logger, string id, long height, double seconds);
    }

    private static async Task<ApiError?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<ApiError>(LedgerJson.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
