using System.Text.Json;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Cli.Tests;

public sealed class MergeCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Theory]
    [InlineData("mean", new float[] { 4, 5, 6, 7 }, 40f)]
    [InlineData("coordmedian", new float[] { 2, 3, 4, 5 }, 20f)]
    [InlineData("trimmedmean", new float[] { 2, 3, 4, 5 }, 20f)]
    public async Task Merge_writes_the_merged_model(string method, float[] expectedW, float expectedB)
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 2), _harness.Simple("c.safetensors", 10)];
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, stdout, error) = await CliHarness.RunAsync(["merge", "--method", method, "--trim", "0.34", "--out", output, .. inputs]);
        Assert.True(code == 0, error);
        Assert.Contains(method, stdout, StringComparison.Ordinal);
        Assert.Equal(expectedW, CliHarness.Values(output, "w"), new ToleranceComparer(1e-5f));
        Assert.Equal(expectedB, CliHarness.Values(output, "b")[0], 1e-4f);
    }

    [Fact]
    public async Task Weights_shift_the_mean_toward_the_heavier_model()
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 4)];
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, _, error) = await CliHarness.RunAsync(["merge", "-w", "3,1", "-o", output, .. inputs]);
        Assert.True(code == 0, error);
        Assert.Equal(1f, CliHarness.Values(output, "w")[0], 1e-6f);
    }

    [Fact]
    public async Task Krum_and_geomedian_ignore_an_outlier()
    {
        string[] inputs =
        [
            _harness.Simple("a.safetensors", 1), _harness.Simple("b.safetensors", 1.1f), _harness.Simple("c.safetensors", 0.9f),
            _harness.Simple("d.safetensors", 1.05f), _harness.Simple("evil.safetensors", 1000),
        ];
        foreach (var method in new[] { "krum", "geomedian" })
        {
            var output = Path.Combine(_harness.Directory, $"{method}.safetensors");
            var (code, stdout, error) = await CliHarness.RunAsync(["merge", "-m", method, "-o", output, "--json", .. inputs]);
            Assert.True(code == 0, error);
            using var json = JsonDocument.Parse(stdout);
            Assert.Equal(method, json.RootElement.GetProperty("method").GetString());
            Assert.InRange(CliHarness.Values(output, "w")[0], 0.85f, 1.15f);
        }
    }

    [Fact]
    public async Task Json_output_reports_the_file_hash()
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 2)];
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, stdout, error) = await CliHarness.RunAsync(["merge", "--json", "-o", output, .. inputs]);
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(stdout);
        var expected = ModelHash.Of(await File.ReadAllBytesAsync(output));
        Assert.Equal(expected, json.RootElement.GetProperty("modelHash").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("inputs").GetArrayLength());
    }

    [Fact]
    public async Task Mismatched_shapes_fail_with_one_line_naming_file_and_tensor()
    {
        var a = _harness.Simple("a.safetensors", 0);
        var b = _harness.Model("b.safetensors", ("w", [4], [1, 2, 3, 4]), ("b", [], [1]));
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, _, error) = await CliHarness.RunAsync("merge", "-o", output, a, b);
        Assert.Equal(SwarmCli.Failure, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("b.safetensors", line, StringComparison.Ordinal);
        Assert.Contains("'w'", line, StringComparison.Ordinal);
        Assert.Contains("shape", line, StringComparison.Ordinal);
        Assert.False(File.Exists(output), "no output may appear when a merge fails");
    }

    [Fact]
    public async Task A_missing_file_is_named()
    {
        var missing = Path.Combine(_harness.Directory, "nope.safetensors");
        var (code, _, error) = await CliHarness.RunAsync("merge", "-o", Path.Combine(_harness.Directory, "o.safetensors"), missing);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("nope.safetensors", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupt_file_is_named_without_a_stack_trace()
    {
        var good = _harness.Simple("a.safetensors", 0);
        var bad = Path.Combine(_harness.Directory, "bad.safetensors");
        await File.WriteAllBytesAsync(bad, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'{', (byte)'}']);
        var (code, _, error) = await CliHarness.RunAsync("merge", "-o", Path.Combine(_harness.Directory, "o.safetensors"), good, bad);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("bad.safetensors", error, StringComparison.Ordinal);
        Assert.Contains("header length", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--method", "average")]
    [InlineData("--select", "many")]
    public async Task Bad_options_are_usage_errors(string option, string value)
    {
        var a = _harness.Simple("a.safetensors", 0);
        var (code, _, error) = await CliHarness.RunAsync("merge", option, value, "-o", Path.Combine(_harness.Directory, "o.safetensors"), a);
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains("swarm merge --help", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Weight_count_must_match_the_models()
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 2)];
        var (code, _, error) = await CliHarness.RunAsync(["merge", "-w", "1,2,3", "-o", Path.Combine(_harness.Directory, "o.safetensors"), .. inputs]);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("--weights has 3 value(s) but 2 model(s)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_output_is_kept_unless_forced()
    {
        var a = _harness.Simple("a.safetensors", 0);
        var output = Path.Combine(_harness.Directory, "keep.safetensors");
        await File.WriteAllTextAsync(output, "precious");
        var (code, _, error) = await CliHarness.RunAsync("merge", "-o", output, a);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("--force", error, StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(output));

        (code, _, error) = await CliHarness.RunAsync("merge", "-o", output, "--force", a);
        Assert.True(code == 0, error);
        Assert.Equal([0f, 1, 2, 3], CliHarness.Values(output, "w"));
    }

    [Fact]
    public async Task Frozen_tensors_pass_through_from_the_first_model()
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 2)];
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, _, error) = await CliHarness.RunAsync(["merge", "--freeze", "b", "-o", output, .. inputs]);
        Assert.True(code == 0, error);
        Assert.Equal(0f, CliHarness.Values(output, "b")[0]);
        Assert.Equal(1f, CliHarness.Values(output, "w")[0]);
    }

    [Fact]
    public async Task The_real_executable_exits_non_zero_with_the_reason_on_stderr()
    {
        var a = _harness.Simple("a.safetensors", 0);
        var missing = Path.Combine(_harness.Directory, "absent.safetensors");
        var (code, stdout, error) = await CliHarness.RunProcessAsync("merge", "-o", Path.Combine(_harness.Directory, "o.safetensors"), a, missing);
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("absent.safetensors", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_output_path_is_a_clear_error()
    {
        var a = _harness.Simple("a.safetensors", 0);
        var (code, _, error) = await CliHarness.RunAsync("merge", "--out", "", a);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("file name is empty", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Freeze_takes_one_name_per_occurrence_and_leaves_the_models_alone()
    {
        string[] inputs = [_harness.Simple("a.safetensors", 0), _harness.Simple("b.safetensors", 2)];
        var output = Path.Combine(_harness.Directory, "out.safetensors");
        var (code, _, error) = await CliHarness.RunAsync(["merge", "-o", output, "--freeze", "b", .. inputs]);
        Assert.True(code == 0, error);
        Assert.Equal(0f, CliHarness.Values(output, "b")[0]);
    }

    [Fact]
    public async Task Models_without_tensors_merge_to_an_empty_model()
    {
        string[] inputs = [_harness.Model("a.safetensors"), _harness.Model("b.safetensors")];
        var output = Path.Combine(_harness.Directory, "empty.safetensors");
        var (code, _, error) = await CliHarness.RunAsync(["merge", "-m", "coordmedian", "-o", output, .. inputs]);
        Assert.True(code == 0, error);
        using var merged = SafetensorsFile.Open(output);
        Assert.Empty(merged.Tensors);
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float obj) => 0;
    }
}
