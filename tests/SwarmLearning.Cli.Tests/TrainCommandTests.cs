using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SwarmLearning.Cli.Tests;

public sealed class TrainCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    /// <summary>A CSV data directory: three well-separated clusters in 5 features; 150 training and 30 test rows.</summary>
    private string CsvData()
    {
        var dir = Path.Combine(_harness.Directory, "csv");
        Directory.CreateDirectory(dir);
        var random = new Random(3);
        string Rows(int count)
        {
            var text = new StringBuilder("f0,f1,f2,f3,f4,label\n");
            for (var i = 0; i < count; i++)
            {
                var label = i % 3;
                var values = Enumerable.Range(0, 5).Select(f => ((f == label ? 3.0 : 0.0) + (random.NextDouble() - 0.5)).ToString("F4", CultureInfo.InvariantCulture));
                text.Append(string.Join(',', values)).Append(',').Append(label).Append('\n');
            }

            return text.ToString();
        }

        File.WriteAllText(Path.Combine(dir, "train.csv"), Rows(150));
        File.WriteAllText(Path.Combine(dir, "test.csv"), Rows(30));
        return dir;
    }

    [Theory]
    [InlineData("constant")]
    [InlineData("cosine")]
    [InlineData("final-step")]
    public async Task The_learning_rate_schedule_is_reported_by_the_name_it_was_given(string schedule)
    {
        var (code, text, error) = await CliHarness.RunAsync("train", "--data", CsvData(), "--epochs", "1", "--lr-schedule", schedule, "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(schedule, json.RootElement.GetProperty("learningRateSchedule").GetString());
    }

    [Fact]
    public async Task Training_reports_every_epoch_and_the_test_metrics_and_saves_a_model_that_loads_back()
    {
        var data = CsvData();
        var model = Path.Combine(_harness.Directory, "model.safetensors");
        var (code, text, error) = await CliHarness.RunAsync("train", "--data", data, "--model", "mlp", "--epochs", "8", "--out", model, "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(8, root.GetProperty("epochs").GetArrayLength());
        var first = root.GetProperty("epochs")[0];
        Assert.Equal(150, first.GetProperty("samples").GetInt64());
        Assert.True(first.GetProperty("samplesPerSecond").GetDouble() > 0);
        var test = root.GetProperty("test");
        Assert.Equal(30, test.GetProperty("samples").GetInt64());
        Assert.True(test.GetProperty("accuracy").GetDouble() >= 0.9, text);
        Assert.True(test.GetProperty("macroF1").GetDouble() >= 0.9, text);
        Assert.True(root.GetProperty("epochs")[7].GetProperty("loss").GetDouble() < first.GetProperty("loss").GetDouble(), "the loss falls");

        // The saved model, loaded back with --init and evaluated with no training, scores exactly the same.
        var (code2, text2, error2) = await CliHarness.RunAsync("train", "--data", data, "--epochs", "0", "--init", model, "--json");
        Assert.True(code2 == 0, error2);
        using var json2 = JsonDocument.Parse(text2);
        Assert.Equal(test.GetProperty("loss").GetDouble(), json2.RootElement.GetProperty("test").GetProperty("loss").GetDouble());
        Assert.Equal(root.GetProperty("modelHash").GetString(), ModelHash(model));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_model_file()
    {
        var data = CsvData();
        var a = Path.Combine(_harness.Directory, "a.safetensors");
        var b = Path.Combine(_harness.Directory, "b.safetensors");
        var c = Path.Combine(_harness.Directory, "c.safetensors");
        Assert.Equal(0, (await CliHarness.RunAsync("train", "-d", data, "-e", "2", "-o", a, "--seed", "5")).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("train", "-d", data, "-e", "2", "-o", b, "--seed", "5")).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("train", "-d", data, "-e", "2", "-o", c, "--seed", "6")).Code);
        Assert.Equal(ModelHash(a), ModelHash(b));
        Assert.NotEqual(ModelHash(a), ModelHash(c));
    }

    [Fact]
    public async Task Text_output_names_the_data_the_model_and_the_results()
    {
        var data = CsvData();
        var model = Path.Combine(_harness.Directory, "m.safetensors");
        var (code, text, error) = await CliHarness.RunAsync("train", "--data", data, "--epochs", "2", "--optimizer", "sgd", "--out", model);
        Assert.True(code == 0, error);
        Assert.Contains("150 training and 30 test samples of 5 features, 3 classes", text, StringComparison.Ordinal);
        Assert.Contains("sgd lr 0.01", text, StringComparison.Ordinal);
        Assert.Contains("epoch   2/2", text, StringComparison.Ordinal);
        Assert.Contains("macro-F1", text, StringComparison.Ordinal);
        Assert.Contains("saved    " + model, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mistakes_get_one_line_errors_that_say_what_to_do()
    {
        var data = CsvData();
        var existing = Path.Combine(_harness.Directory, "exists.safetensors");
        await File.WriteAllTextAsync(existing, "x");

        var (code, _, error) = await CliHarness.RunAsync("train", "--data", data, "--model", "cnn");
        Assert.Equal(1, code);
        Assert.Contains("use --model mlp", error, StringComparison.Ordinal);

        (code, _, error) = await CliHarness.RunAsync("train", "--data", data, "--out", existing);
        Assert.Equal(1, code);
        Assert.Contains("pass --force", error, StringComparison.Ordinal);

        (code, _, error) = await CliHarness.RunAsync("train", "--data", Path.Combine(_harness.Directory, "nowhere"));
        Assert.Equal(1, code);
        Assert.Contains("nowhere", error, StringComparison.Ordinal);

        var other = _harness.Simple("other.safetensors", 1f);
        (code, _, error) = await CliHarness.RunAsync("train", "--data", data, "--epochs", "0", "--init", other);
        Assert.Equal(1, code);
        Assert.Contains("fc1.weight", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);

        (code, _, error) = await CliHarness.RunAsync("train", "--data", data, "--epochs", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--epochs must be at least 0", error, StringComparison.Ordinal);

        (code, _, error) = await CliHarness.RunAsync("train", "--data", data, "--model", "resnet");
        Assert.Equal(2, code);
        Assert.Contains("resnet", error, StringComparison.Ordinal);
    }

    private static string ModelHash(string path) => SwarmLearning.Safetensors.ModelHash.Compute(path);
}
