using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Node.Storage;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

/// <summary>
/// Compiles the code only a leader runs before the node first leads. SL nodes run without tiered compilation, so each
/// method is compiled, fully optimised, on its first call: without this, a node's first round as leader compiled about
/// 280 methods (the merge, the streaming mean, the leader's state machines, the merged-model payload) between fetching
/// the submissions and publishing the merge, on the round's critical path (docs/performance.md, "Warm leaders").
/// </summary>
internal static class LeaderWarmUp
{
    /// <summary>
    /// Runs a small mean both ways a leader merges (while fetching, and with the merge engine), encodes and hashes the
    /// result as publishing does, serialises a merged-round payload, and compiles every method of the round engine's
    /// types. Touches no store, ledger or network; takes a fraction of a second of one core. Returns whether the two
    /// means came out bit for bit equal, as merging while fetching promises (<see cref="StreamingMean"/>).
    /// </summary>
    public static bool Run(CancellationToken cancellationToken)
    {
        // Six inputs: the heaviest as the reference, then one group of four and a remainder of one, as the kernels
        // split them; tensors long enough for their vector loops and tails.
        var models = Enumerable.Range(0, 6).Select(i => Model(i + 1)).ToArray();
        var weights = new double[] { 1, 2, 1, 1, 1, 1 };
        var mean = new StreamingMean(weights);
        mean.Add(mean.Reference, models[mean.Reference], cancellationToken);
        foreach (var input in mean.Order)
        {
            mean.Add(input, models[input], cancellationToken);
        }

        var streamed = mean.Result("warm-up");
        var (merged, _) = ModelMerger.Merge([.. models.Select((m, i) => new MergeInput(m, weights[i]))], new MergeOptions { Method = MergeMethod.Mean }, cancellationToken);
        var same = SafetensorsEncoding.Measure(streamed).Hash == SafetensorsEncoding.Measure(merged).Hash;
        _ = JsonSerializer.SerializeToUtf8Bytes(new MergedPayload
        {
            Contract = "warm-up",
            Round = 1,
            ModelHash = new string('0', 64),
            Size = 1,
            Contributors = ["a", "b"],
            MergeMethod = MergeMethod.Mean.ToName(),
        }, PayloadJson.Default.MergedPayload);

        foreach (var type in new[] { typeof(SwarmSession), typeof(RecycledArrays) })
        {
            Prepare(type, cancellationToken);
        }

        return same;
    }

    private static TensorModel Model(int seed)
    {
        var values = new float[4099];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (seed * 31 + i) % 17 * 0.125f;
        }

        return new TensorModel([new NamedTensor("w", TensorDType.F32, new TensorShape(values.Length), values)], name: "warm-up");
    }

    /// <summary>Compiles every non-generic method of <paramref name="type"/> and of its nested types (state machines, closures).</summary>
    private static void Prepare(Type type, CancellationToken cancellationToken)
    {
        if (type.ContainsGenericParameters)
        {
            return;
        }

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var method in type.GetMethods(all))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!method.IsAbstract && !method.ContainsGenericParameters && method.GetMethodBody() is not null)
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
            }
        }

        foreach (var nested in type.GetNestedTypes(all))
        {
            Prepare(nested, cancellationToken);
        }
    }
}
