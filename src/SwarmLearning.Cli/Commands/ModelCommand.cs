using System.CommandLine;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>swarm model</c>: look into model files: validate and list tensors, or hash.</summary>
internal static class ModelCommand
{
    public static Command Create(CliIo io)
    {
        var command = new Command("model", "Inspect, validate and hash safetensors model files.");
        command.Subcommands.Add(Inspect(io));
        command.Subcommands.Add(Hash(io));
        return command;
    }

    private static Command Inspect(CliIo io)
    {
        var file = new Argument<string>("file") { Description = "A safetensors model file." };
        var headerOnly = new Option<bool>("--header-only") { Description = "Validate the header only; do not read every value." };
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("inspect", "Validate a model file (header and, unless --header-only, every value) and list its tensors.")
        {
            file, headerOnly, json,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(() =>
            Task.FromResult(RunInspect(io, parse.GetValue(file)!, parse.GetValue(headerOnly), parse.GetValue(json), cancellationToken))));
        return command;
    }

    private static int RunInspect(CliIo io, string path, bool headerOnly, bool asJson, CancellationToken cancellationToken)
    {
        using var model = SafetensorsFile.Open(path);
        var verified = !headerOnly;
        if (verified)
        {
            using var bar = new ProgressBar(io.Error, !asJson && io.CanShowProgress);
            var total = model.Length;
            model.VerifyValues(new InlineProgress(done => bar.Report("verify", done, total, 1)), cancellationToken);
        }

        var (modelHash, sha256) = ModelHash.ComputeWithSha256(path);
        if (asJson)
        {
            io.WriteJson(new
            {
                path,
                bytes = model.Length,
                modelHash,
                sha256,
                valuesVerified = verified,
                parameters = model.ParameterCount,
                metadata = model.Metadata,
                tensors = model.Tensors.Select(t => new
                {
                    name = t.Name,
                    dtype = t.DType.ToSafetensorsName(),
                    shape = t.Shape.Dimensions.ToArray(),
                    elements = t.ElementCount,
                }),
            });
            return SwarmCli.Success;
        }

        var o = io.Out;
        var nameWidth = Math.Max(6, model.Tensors.Count == 0 ? 0 : model.Tensors.Max(t => t.Name.Length));
        o.WriteLine($"{"tensor".PadRight(nameWidth)}  dtype  {"shape",-20} {"elements",12}");
        foreach (var t in model.Tensors)
        {
            o.WriteLine($"{t.Name.PadRight(nameWidth)}  {t.DType.ToSafetensorsName(),-5}  {t.Shape,-20} {t.ElementCount,12:N0}");
        }

        o.WriteLine();
        o.WriteLine($"{model.Tensors.Count} tensors, {model.ParameterCount:N0} parameters, {model.Length:N0} bytes");
        foreach (var (key, value) in model.Metadata)
        {
            o.WriteLine($"metadata {key} = {value}");
        }

        o.WriteLine($"hash   {modelHash} ({ModelHash.Algorithm}, as the ledger records it)");
        o.WriteLine($"sha256 {sha256}");
        o.WriteLine(verified ? "valid: header and all values checked (finite)" : "valid header (values not read)");
        return SwarmCli.Success;
    }

    private static Command Hash(CliIo io)
    {
        var files = new Argument<string[]>("files") { Arity = ArgumentArity.OneOrMore, Description = "Files to hash." };
        var command = new Command("hash", "Print the content hash of model files (BLAKE3, the hash the ledger records), as b3sum does.") { files };
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            foreach (var path in parse.GetValue(files)!)
            {
                var hash = await ModelHash.ComputeAsync(path, cancellationToken).ConfigureAwait(false);
                await io.Out.WriteLineAsync($"{hash}  {path}").ConfigureAwait(false);
            }

            return SwarmCli.Success;
        }));
        return command;
    }

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
