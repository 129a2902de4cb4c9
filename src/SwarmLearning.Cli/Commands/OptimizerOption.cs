using System.CommandLine;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>--optimizer</c> and <c>--lr</c>, shared by <c>swarm train</c> and <c>swarm simulate</c>.</summary>
internal static class OptimizerOption
{
    public static Option<string> Create(string perNode = "")
    {
        var option = new Option<string>("--optimizer")
        {
            Description = $"The optimizer{perNode}: adam | sgd (SGD with momentum 0.9).",
            DefaultValueFactory = _ => "adam",
        };
        option.AcceptOnlyFromAmong([.. OptimizerKinds.Names]);
        return option;
    }

    /// <summary><c>--lr</c>: null when not given, for the optimizer's default (<see cref="LearningRate"/>).</summary>
    public static Option<float?> CreateLearningRate(string perNode = "")
    {
        var option = new Option<float?>("--lr")
        {
            Description = $"The learning rate{perNode}. Default: {OptimizerKinds.DefaultLearningRate("adam")} for adam, {OptimizerKinds.DefaultLearningRate("sgd")} for sgd.",
        };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<float?>() is { } lr && !(lr > 0 && lr < 10))
            {
                r.AddError("--lr must be a positive number below 10");
            }
        });
        return option;
    }

    /// <summary>The learning rate given, or the optimizer's default.</summary>
    public static float LearningRate(float? given, string optimizer) => given ?? OptimizerKinds.DefaultLearningRate(optimizer);
}
