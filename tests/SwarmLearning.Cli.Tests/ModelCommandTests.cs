using System.Security.Cryptography;
using System.Text.Json;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Cli.Tests;

public sealed class ModelCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Inspect_lists_tensors_and_the_hash()
    {
        var path = _harness.Simple("m.safetensors", 1);
        var (code, output, error) = await CliHarness.RunAsync("model", "inspect", path);
        Assert.True(code == 0, error);
        Assert.Contains("w", output, StringComparison.Ordinal);
        Assert.Contains("[2, 2]", output, StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Contains($"hash   {ModelHash.Of(bytes)} (BLAKE3", output, StringComparison.Ordinal);
        Assert.Contains($"sha256 {Convert.ToHexStringLower(SHA256.HashData(bytes))}", output, StringComparison.Ordinal);
        Assert.Contains("all values checked", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_json_describes_every_tensor()
    {
        var path = _harness.Simple("m.safetensors", 1);
        var (code, output, _) = await CliHarness.RunAsync("model", "inspect", "--json", path);
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(5, json.RootElement.GetProperty("parameters").GetInt64());
        var tensors = json.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Equal(["w", "b"], tensors);
    }

    [Fact]
    public async Task Inspect_refuses_a_model_holding_NaN_and_names_the_tensor()
    {
        var path = _harness.Model("nan.safetensors", ("ok", [1], [1]), ("w", [3], [1, 2, 3]));
        var bytes = await File.ReadAllBytesAsync(path);
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, bytes.Length - 4);
        await File.WriteAllBytesAsync(path, bytes);
        var (code, _, error) = await CliHarness.RunAsync("model", "inspect", path);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("nan.safetensors", error, StringComparison.Ordinal);
        Assert.Contains("'w'", error, StringComparison.Ordinal);
        Assert.Contains("NaN", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_prints_b3sum_style_lines()
    {
        var a = _harness.Simple("a.safetensors", 1);
        var b = _harness.Simple("b.safetensors", 2);
        var (code, output, _) = await CliHarness.RunAsync("model", "hash", a, b);
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal($"{ModelHash.Of(await File.ReadAllBytesAsync(a))}  {a}", lines[0]);
    }
}
