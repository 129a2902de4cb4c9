// Merging models with the SwarmLearning library: what a round's leader does, in a few lines.
// Three sites hold the same small model; they are merged with a weighted coordinate-wise median and the result
// is written as safetensors, hashed as the ledger will record it, and read back.
using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

static TensorModel Site(string name, float shift) => new(
    [
        new NamedTensor("layer.weight", TensorDType.F32, new TensorShape(2, 3), [1 + shift, 2 + shift, 3 + shift, 4 + shift, 5 + shift, 6 + shift]),
        new NamedTensor("layer.bias", TensorDType.F32, new TensorShape(2), [shift, -shift]),
    ],
    name: name);

MergeInput[] inputs =
[
    MergeInput.WithNodeWeightage(Site("hospital-a", 0.0f), nodeWeightage: 2),
    MergeInput.WithNodeWeightage(Site("hospital-b", 0.1f), nodeWeightage: 1),
    MergeInput.WithNodeWeightage(Site("hospital-c", 9.0f), nodeWeightage: 1), // an outlier
];

var output = Path.Combine(Path.GetTempPath(), "merged-example.safetensors");
var (file, result) = ModelMerger.MergeToFile(inputs, new MergeOptions { Method = MergeMethod.CoordMedian }, output);
Console.WriteLine($"{result.Method.ToName()} of {result.InputCount} models -> {file.Path} ({file.Length} bytes)");
Console.WriteLine($"hash {file.Hash}");

using var merged = SafetensorsFile.Open(output);
var weights = new float[6];
merged.ReadF32(merged.IndexOf("layer.weight"), 0, weights);
Console.WriteLine($"layer.weight = [{string.Join(", ", weights)}]  (the outlier is ignored)");
