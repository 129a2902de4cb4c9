using Microsoft.AspNetCore.Http;
using SwarmLearning.Node.Exchange;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Channel;

/// <summary>
/// Models on the local channel: request bodies are read into memory in one pass with the validating safetensors
/// parser, hashed on the way (or, without a Content-Length, streamed to a temporary file and read back); answers are
/// streamed from the model store (the exact bytes whose hash the ledger records) or, for a model the ledger does not
/// name, from a temporary file.
/// </summary>
internal static class ChannelModels
{
    public const string ContentType = "application/octet-stream";
    public const string RoundHeader = "Swarm-Round";
    public const string HashHeader = "Swarm-Model-Hash";
    public const string ContributedHeader = "Swarm-Contributed";
    public const string TrainingOverHeader = "Swarm-Training-Over";
    public const string TempPrefix = ".channel-";

    /// <summary>
    /// Reads a safetensors body of <paramref name="length"/> bytes (its Content-Length, if it has one); throws
    /// <see cref="ModelFormatException"/> (naming the problem, not a temp file) when it is not a valid model.
    /// </summary>
    /// <remarks>
    /// The body is hashed as it arrives. When its bytes are the encoding this project writes (the .NET and Python
    /// clients send that), their model hash is the one the model would be published under, and the store is told so
    /// (<see cref="ModelStore.RememberEncoding"/>): publishing the model then costs no second pass over it, and the
    /// hashing overlaps the transfer from the ML program instead of following it.
    /// </remarks>
    public static async Task<TensorModel> ReadAsync(Stream body, long? length, ModelStore store, CancellationToken cancellationToken)
    {
        if (length is not { } known)
        {
            return await ReadViaFileAsync(body, store.Directory, cancellationToken).ConfigureAwait(false);
        }

        var hash = ModelHash.Create();
        var read = await SafetensorsStreamReader.ReadAsync(body, known, "the request body", hash, copy: null, cancellationToken).ConfigureAwait(false);
        if (read.Invalid is { } e)
        {
            throw e;
        }

        // Kestrel ends a body at its Content-Length and fails the read of one that ends early; this is the backstop.
        var model = read.Model ?? throw new ModelFormatException("the request body", null, $"the body ended after {read.Received} of the {known} bytes its Content-Length announced");
        if (read.Canonical)
        {
            store.RememberEncoding(model, new PublishedModel(ModelHash.Finish(hash), known));
        }

        return model;
    }

    private static async Task<TensorModel> ReadViaFileAsync(Stream body, string tempDirectory, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(tempDirectory, $"{TempPrefix}{Guid.NewGuid():N}.tmp");
        try
        {
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await body.CopyToAsync(file, 1 << 16, cancellationToken).ConfigureAwait(false);
            }

            return await Task.Run(() =>
            {
                using var model = SafetensorsFile.Open(temp);
                return model.LoadModel();
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelFormatException e)
        {
            throw new ModelFormatException("the request body", e.Tensor, e.Problem, e);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Answers a sync with the model and the headers of the protocol.</summary>
    public static async Task WriteAsync(HttpResponse response, SyncResult result, ModelStore store, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers[RoundHeader] = result.Round.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers[HashHeader] = result.Hash;
        response.Headers[ContributedHeader] = result.Contributed ? "true" : "false";
        response.Headers[TrainingOverHeader] = result.TrainingOver ? "true" : "false";

        var stored = ModelHash.IsValid(result.Hash) ? store.OpenRead(result.Hash) : null;
        if (stored is not null)
        {
            await ModelBody.SendAsync(response, stored, ContentType, cancellationToken).ConfigureAwait(false);
            return;
        }

        var temp = Path.Combine(store.Directory, $"{TempPrefix}{Guid.NewGuid():N}.out.tmp");
        try
        {
            await Task.Run(() => SafetensorsWriter.Write(temp, result.Model), cancellationToken).ConfigureAwait(false);
            var file = new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await ModelBody.SendAsync(response, file, ContentType, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Deletes temporary files a previous run left in the model directory (a crash mid-request or mid-transfer): the
    /// channel's, the store's and the final model's. Only for the directory's owner, when nothing else writes there.
    /// </summary>
    public static void DeleteLeftovers(string directory)
    {
        foreach (var path in Directory.EnumerateFiles(directory, "*.tmp"))
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
