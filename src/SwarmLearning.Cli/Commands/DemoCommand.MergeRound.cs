using System.CommandLine;
using System.Numerics.Tensors;
using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm demo merge-round</c>: one merge round of a six-site swarm, played out with real files. Each site's model (a
/// Fashion-MNIST-sized MLP, one shared starting point plus what that site learned) is written as safetensors, one site
/// is poisoned, and the round is merged with every method, showing how far each result lands from what the honest
/// sites agree on. It was the whole demo before SN and SL nodes existed; it stays as the quickest look at what the
/// robust merge methods are for.
/// </summary>
internal static partial class DemoCommand
{
    private static Command MergeRound(CliIo io)
    {
        var directory = new Option<string>("--dir")
        {
            Description = "Where to write the round's model files.",
            DefaultValueFactory = _ => "demo-output",
        };
        var sites = new Option<int>("--sites")
        {
            Description = "Number of sites (one of them poisoned).",
            DefaultValueFactory = _ => 6,
        };
        sites.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 4 or > 64)
            {
                r.AddError("--sites must be from 4 to 64");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var command = new Command("merge-round", "Play one merge round of a local swarm with real model files: six sites, one poisoned, every merge method.")
        {
            directory, sites, json,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(() =>
            Task.FromResult(RunMergeRound(io, parse.GetValue(directory)!, parse.GetValue(sites), parse.GetValue(json), cancellationToken))));
        return command;
    }

    private static int RunMergeRound(CliIo io, string directory, int siteCount, bool json, CancellationToken cancellationToken)
    {
        var round = Path.Combine(directory, "round-1");
        try
        {
            Directory.CreateDirectory(round);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new SwarmException($"{round}: cannot create the demo's directory: {e.Message}; choose another with --dir", e);
        }
        var o = io.Out;
        if (!json)
        {
            o.WriteLine("SwarmLearning demo: one merge round of a local swarm");
            o.WriteLine($"  {siteCount} sites train the same 784-256-10 MLP on private data; site {siteCount} is poisoned (its update scaled x100).");
            o.WriteLine("  Each site's model is written as safetensors, then the round is merged with every method.");
            o.WriteLine();
        }

        var start = Initialise(new Random(42));
        var paths = new List<string>();
        for (var s = 1; s <= siteCount; s++)
        {
            var poisoned = s == siteCount;
            var model = Train(start, new Random(1000 + s), poisoned);
            var path = Path.Combine(round, $"site-{s}.safetensors");
            var file = SafetensorsWriter.Write(path, model);
            paths.Add(path);
            if (!json)
            {
                o.WriteLine($"  site {s}{(poisoned ? " (poisoned)" : string.Empty),-11} {path}  hash {file.Hash[..16]}…");
            }
        }

        var files = paths.Select(p => SafetensorsFile.Open(p)).ToArray();
        try
        {
            var honest = ModelMerger.Merge([.. files[..^1].Select(f => new MergeInput(f))], new MergeOptions(), cancellationToken).Model;
            var spread = files[..^1].Average(f => Distance(f.LoadModel(), honest));
            var rows = new List<object>();
            if (!json)
            {
                o.WriteLine();
                o.WriteLine($"  {"method",-12} {"time",9}  {"distance to honest consensus",-30} merged file");
            }

            foreach (var (method, name) in MergeMethods.All)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var output = Path.Combine(round, $"merged-{name}.safetensors");
                var inputs = files.Select(f => new MergeInput(f)).ToArray();
                // β = 0.2 trims one model from each end with 5 to 9 sites; the default 0.1 trims none below 10 sites.
                var options = new MergeOptions { Method = method, TrimFraction = 0.2 };
                var (file, result) = ModelMerger.MergeToFile(inputs, options, output, cancellationToken: cancellationToken);
                using var merged = SafetensorsFile.Open(output);
                var relative = Distance(merged.LoadModel(), honest) / spread;
                rows.Add(new { method = name, seconds = result.Elapsed.TotalSeconds, distanceToHonestConsensus = relative, path = output, modelHash = file.Hash });
                if (!json)
                {
                    // An honest site's own model lies about 1 spread from the consensus; the poisoned one far beyond.
                    var verdict = relative < 3 ? "robust" : "dragged by the poisoned site";
                    o.WriteLine($"  {name,-12} {result.Elapsed.TotalMilliseconds,7:F1}ms  {relative,8:F2} x spread  {verdict,-28} {output}");
                }
            }

            if (json)
            {
                io.WriteJson(new { sites = siteCount, poisonedSite = siteCount, honestSpread = spread, results = rows });
            }
            else
            {
                o.WriteLine();
                o.WriteLine("  'spread' is the honest sites' mean distance from their own consensus. Inspect any file with");
                o.WriteLine($"  ./swarm model inspect {paths[0]}   or merge them yourself with ./swarm merge --help.");
            }
        }
        finally
        {
            foreach (var f in files)
            {
                f.Dispose();
            }
        }

        return SwarmCli.Success;
    }

    /// <summary>He-initialised 784-256-10 MLP, the shared starting point of the round.</summary>
    private static TensorModel Initialise(Random random) => new(
    [
        Gaussian(random, "fc1.weight", new TensorShape(256, 784), MathF.Sqrt(2f / 784)),
        Gaussian(random, "fc1.bias", new TensorShape(256), 0),
        Gaussian(random, "fc2.weight", new TensorShape(10, 256), MathF.Sqrt(2f / 256)),
        Gaussian(random, "fc2.bias", new TensorShape(10), 0),
    ]);

    /// <summary>What a site's local training contributes, modelled as a site-specific step; a poisoned site scales it ×100.</summary>
    private static TensorModel Train(TensorModel start, Random random, bool poisoned) => new(start.NamedTensors.Select(t =>
    {
        var values = (float[])t.Values.Clone();
        var step = Gaussian(random, t.Name, t.Info.Shape, 0.01f).Values;
        if (poisoned)
        {
            TensorPrimitives.Multiply(step, 100f, step);
        }

        TensorPrimitives.Add(values, step, values);
        return new NamedTensor(t.Info, values);
    }));

    private static NamedTensor Gaussian(Random random, string name, TensorShape shape, float scale)
    {
        var values = new float[shape.ElementCount];
        for (var i = 0; i < values.Length; i++)
        {
            // Box–Muller: two uniforms give a standard normal.
            var u = 1 - random.NextDouble();
            var v = random.NextDouble();
            values[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }

        return new NamedTensor(name, TensorDType.F32, shape, values);
    }

    private static double Distance(TensorModel a, TensorModel b)
    {
        double sum = 0;
        for (var t = 0; t < a.NamedTensors.Count; t++)
        {
            var d = TensorPrimitives.Distance(a.NamedTensors[t].Values, b[a.NamedTensors[t].Name].Values);
            sum += (double)d * d;
        }

        return Math.Sqrt(sum);
    }
}
