using Microsoft.AspNetCore.Http;

namespace SwarmLearning.Node.Exchange;

/// <summary>
/// Sends a model's bytes as a response body: read straight into the response's own buffers
/// (<see cref="HttpResponse.BodyWriter"/>), so a model held in memory is copied once on its way to the socket (or to
/// TLS), where <see cref="Stream.CopyToAsync(Stream)"/> would copy it into a buffer of its own first. Used by the file
/// server and the local channel alike.
/// </summary>
internal static class ModelBody
{
    /// <summary>How much is read before the response is flushed (which waits when the peer reads more slowly).</summary>
    private const int FlushBytes = 1 << 20;

    /// <summary>The buffer asked of the response for each read.</summary>
    private const int ReadBytes = 1 << 16;

    /// <summary>
    /// Writes all of <paramref name="model"/> (whose <see cref="Stream.Length"/> is known) as the body of
    /// <paramref name="response"/>, with <paramref name="contentType"/> and the length set first; disposes it. Returns
    /// false when the response ended before the last byte: the peer went away, or a flush was cancelled.
    /// </summary>
    public static async Task<bool> SendAsync(HttpResponse response, Stream model, string contentType, CancellationToken cancellationToken)
    {
        await using (model.ConfigureAwait(false))
        {
            response.ContentType = contentType;
            response.ContentLength = model.Length;
            var writer = response.BodyWriter;
            var unflushed = 0;
            while (true)
            {
                var read = await model.ReadAsync(writer.GetMemory(ReadBytes), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                unflushed += read;
                if (unflushed >= FlushBytes)
                {
                    unflushed = 0;
                    var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        return false; // the peer went away, or the flush was cancelled
                    }
                }
            }

            var last = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return !last.IsCanceled;
        }
    }
}
