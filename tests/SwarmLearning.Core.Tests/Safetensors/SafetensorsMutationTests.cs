using System.Buffers.Binary;
using System.Text;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>
/// A bounded, seeded fuzz test: valid files with bytes flipped, replaced, inserted or deleted must either open and
/// read cleanly or be refused with a <see cref="ModelFormatException"/>; any other exception, or a hang, is a bug.
/// </summary>
public sealed class SafetensorsMutationTests : IDisposable
{
    private const int Mutants = 2000;
    private const int Seed = 2000;
    private static readonly byte[] JsonBytes = Encoding.ASCII.GetBytes("{}[]\":,-.0123456789eE \\u_FBI");

    // Limits that the seed files just meet, so that mutants cross them and the limit checks fire on small files too.
    private static readonly SafetensorsLimits Tight = new()
    {
        MaxHeaderBytes = 256,
        MaxTensors = 3,
        MaxRank = 3,
        MaxNameBytes = 12,
        MaxMetadataEntries = 2,
    };

    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public SafetensorsMutationTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Mutated_files_are_either_read_cleanly_or_refused_with_a_model_format_error()
    {
        var seeds = BuildSeedFiles();
        var path = _dir.File("mutant.safetensors");

        // A hang in the reader would otherwise stall the whole run; the bound is generous, the loop takes about a second.
        var outcome = await Task.Run(() => Run(seeds, path)).WaitAsync(TimeSpan.FromMinutes(2));

        _output.WriteLine($"{outcome.Accepted} accepted, {outcome.Refused} refused, {outcome.Problems.Count} distinct problems");
        foreach (var failure in outcome.Failures.Take(20))
        {
            _output.WriteLine(failure);
        }

        Assert.Empty(outcome.Failures);
        Assert.Equal(Mutants * 2, outcome.Accepted + outcome.Refused);

        // Both outcomes occur, and refusals come from many different checks: the mutants reach deep into the parser.
        Assert.InRange(outcome.Accepted, 1, (Mutants * 2) - 1);
        Assert.InRange(outcome.Problems.Count, 20, int.MaxValue);
    }

    private static Outcome Run(byte[][] seeds, string path)
    {
        var random = new Random(Seed);
        var outcome = new Outcome();
        for (var m = 0; m < Mutants; m++)
        {
            var source = seeds[random.Next(seeds.Length)];
            var (bytes, description) = Mutate(source, random);
            File.WriteAllBytes(path, bytes);
            foreach (var limits in new[] { SafetensorsLimits.Default, Tight })
            {
                try
                {
                    using var file = SafetensorsFile.Open(path, limits);
                    file.VerifyValues();
                    var model = file.LoadModel();
                    if (model.ParameterCount != file.ParameterCount || model.Tensors.Count != file.Tensors.Count)
                    {
                        outcome.Failures.Add($"mutant {m} ({description}): the loaded model disagrees with the file's header");
                    }

                    outcome.Accepted++;
                }
                catch (ModelFormatException e)
                {
                    outcome.Refused++;
                    if (e.File != path || !e.Message.StartsWith(path + ": ", StringComparison.Ordinal))
                    {
                        outcome.Failures.Add($"mutant {m} ({description}): the error does not name the file: {e.Message}");
                    }

                    outcome.Problems.Add(ProblemKind(e.Problem));
                }
#pragma warning disable CA1031 // Any other exception is exactly what this test looks for.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    outcome.Failures.Add($"mutant {m} ({description}), limits {(ReferenceEquals(limits, Tight) ? "tight" : "default")}: {e.GetType().Name}: {e.Message}");
                }
            }
        }

        return outcome;
    }

    private static (byte[] Bytes, string Description) Mutate(byte[] source, Random random)
    {
        var bytes = new List<byte>(source);
        var headerEnd = (int)Math.Min(8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(source), source.Length);
        var steps = new List<string>();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            if (bytes.Count == 0)
            {
                break;
            }

            if (random.Next(4) == 0 && headerEnd < bytes.Count)
            {
                // Values only: the header stays valid, so these mutants reach the value checks.
                var position = random.Next(headerEnd, bytes.Count);
                bytes[position] = (byte)random.Next(256);
                steps.Add($"set data byte {position} to 0x{bytes[position]:X2}");
                continue;
            }

            // Most positions fall in the prefix and header, where the parser's decisions are.
            var limit = random.Next(4) == 0 ? bytes.Count : Math.Min(headerEnd, bytes.Count);
            var at = random.Next(limit);
            switch (random.Next(8))
            {
                case 0:
                    var bit = random.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    steps.Add($"flip bit {bit} at {at}");
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    steps.Add($"set byte {at} to 0x{bytes[at]:X2}");
                    break;
                case 2:
                    bytes[at] = JsonBytes[random.Next(JsonBytes.Length)];
                    steps.Add($"set byte {at} to '{(char)bytes[at]}'");
                    break;
                case 3:
                    var inserted = Enumerable.Range(0, random.Next(1, 5)).Select(_ => JsonBytes[random.Next(JsonBytes.Length)]).ToArray();
                    bytes.InsertRange(at, inserted);
                    steps.Add($"insert '{Encoding.ASCII.GetString(inserted)}' at {at}");
                    break;
                case 4:
                    var count = Math.Min(random.Next(1, 5), bytes.Count - at);
                    bytes.RemoveRange(at, count);
                    steps.Add($"delete {count} at {at}");
                    break;
                case 5:
                    bytes.RemoveRange(at, bytes.Count - at);
                    steps.Add($"truncate to {at}");
                    break;
                case 6:
                    var declared = random.Next(3) == 0
                        ? (ulong)random.NextInt64()
                        : (ulong)Math.Max(0, headerEnd - 8 + random.Next(-12, 13));
                    var prefix = new byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(prefix, declared);
                    for (var i = 0; i < 8 && i < bytes.Count; i++)
                    {
                        bytes[i] = prefix[i];
                    }

                    steps.Add($"declare header length {declared}");
                    break;
                default:
                    var length = Math.Min(random.Next(1, 24), bytes.Count - at);
                    var slice = bytes.GetRange(at, length);
                    var to = random.Next(Math.Min(headerEnd, bytes.Count));
                    bytes.InsertRange(to, slice);
                    steps.Add($"copy {length} bytes from {at} to {to}");
                    break;
            }
        }

        return ([.. bytes], string.Join("; ", steps));
    }

    /// <summary>The problem with numbers and quoted names removed, to count distinct checks rather than distinct values.</summary>
    private static string ProblemKind(string problem)
    {
        var kind = new StringBuilder();
        var quoted = false;
        foreach (var c in problem)
        {
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && !char.IsDigit(c))
            {
                kind.Append(c);
            }
        }

        var json = kind.ToString().IndexOf("JSON", StringComparison.Ordinal);
        return json >= 0 ? kind.ToString()[..(json + 4)] : kind.ToString();
    }

    private byte[][] BuildSeedFiles()
    {
        var random = new Random(Seed);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt", ["round"] = "7" };
        TensorModel[] models =
        [
            new(
                [
                    new NamedTensor("w", TensorDType.F32, new TensorShape(2, 3), SafetensorsRoundTripTests.Values(random, 6, TensorDType.F32)),
                    new NamedTensor("b", TensorDType.BF16, new TensorShape(4), SafetensorsRoundTripTests.Values(random, 4, TensorDType.BF16)),
                    new NamedTensor("s", TensorDType.F16, TensorShape.Scalar, [0.5f]),
                ],
                metadata),
            new(
                [
                    new NamedTensor("h", TensorDType.F16, new TensorShape(5), SafetensorsRoundTripTests.Values(random, 5, TensorDType.F16)),
                    new NamedTensor("empty", TensorDType.BF16, new TensorShape(0, 3), []),
                    new NamedTensor("layer.weight", TensorDType.F32, new TensorShape(1, 1, 1), [1f]),
                ]),
            new([], new Dictionary<string, string>(StringComparer.Ordinal) { ["only"] = "metadata" }),
        ];

        var seeds = new List<byte[]>();
        for (var i = 0; i < models.Length; i++)
        {
            var path = _dir.File($"seed{i}.safetensors");
            SafetensorsWriter.Write(path, models[i]);
            seeds.Add(File.ReadAllBytes(path));
        }

        // A hand-written header: unpadded, entries out of data order.
        var hand = RawSafetensors.Write(
            _dir.File("seed-hand.safetensors"),
            """{"z":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            [.. RawSafetensors.F32(1, 2), .. RawSafetensors.Bits16(0x3C00, 0x4000)]);
        seeds.Add(File.ReadAllBytes(hand));

        // Every seed is valid, under both sets of limits, before it is mutated.
        foreach (var seed in seeds)
        {
            var path = _dir.File("check.safetensors");
            File.WriteAllBytes(path, seed);
            using var file = SafetensorsFile.Open(path, Tight);
            file.VerifyValues();
        }

        return [.. seeds];
    }

    private sealed class Outcome
    {
        public int Accepted { get; set; }

        public int Refused { get; set; }

        public List<string> Failures { get; } = [];

        public HashSet<string> Problems { get; } = new(StringComparer.Ordinal);
    }
}
