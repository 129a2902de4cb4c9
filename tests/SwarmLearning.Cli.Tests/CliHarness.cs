using System.CommandLine;
using System.Diagnostics;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Cli.Tests;

/// <summary>Runs the CLI in-process or as a real process, and makes model files in a temporary directory.</summary>
internal sealed class CliHarness : IDisposable
{
    public CliHarness()
    {
        Directory = Path.Combine(Path.GetTempPath(), "swarm-cli-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SwarmCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built swarm executable as a separate process, for at most a minute.</summary>
    public static Task<(int Code, string Out, string Error)> RunProcessAsync(params string[] args) =>
        RunProcessAsync(TimeSpan.FromSeconds(60), args);

    /// <summary>Runs the built swarm executable as a separate process; past <paramref name="timeout"/> its tree is killed and the test fails.</summary>
    public static async Task<(int Code, string Out, string Error)> RunProcessAsync(TimeSpan timeout, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "swarm.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"swarm {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s. Output:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Writes a model whose tensors are filled with the given constant values per tensor.</summary>
    public string Model(string name, params (string Tensor, long[] Shape, float[] Values)[] tensors)
    {
        var path = Path.Combine(Directory, name);
        var model = new TensorModel(tensors.Select(t => new NamedTensor(t.Tensor, TensorDType.F32, new TensorShape(t.Shape), t.Values)));
        SafetensorsWriter.Write(path, model);
        return path;
    }

    /// <summary>A two-tensor model: "w" of shape [2, 2] and a scalar "b", all values derived from <paramref name="v"/>.</summary>
    public string Simple(string name, float v) =>
        Model(name, ("w", [2, 2], [v, v + 1, v + 2, v + 3]), ("b", [], [v * 10]));

    public static float[] Values(string path, string tensor)
    {
        using var file = SafetensorsFile.Open(path);
        var index = file.IndexOf(tensor);
        var values = new float[file.Tensors[index].ElementCount];
        file.ReadF32(index, 0, values);
        return values;
    }

    public static IEnumerable<Command> AllCommands(Command command)
    {
        yield return command;
        foreach (var sub in command.Subcommands.SelectMany(AllCommands))
        {
            yield return sub;
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Leave it for the OS to clean; a test must not fail on cleanup.
        }
    }
}
