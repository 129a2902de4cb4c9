using System.CommandLine;
using SwarmLearning.Merging;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>--merge-momentum</c>, shared by <c>swarm simulate</c>, <c>swarm train --swarm</c> and <c>swarm demo</c>.</summary>
internal static class MergeMomentumOption
{
    /// <summary>The option, 0 when not given; <paramref name="description"/> says whose rounds it applies to.</summary>
    public static Option<double> Create(string description)
    {
        var option = new Option<double>("--merge-momentum") { Description = description };
        option.Validators.Add(r =>
        {
            if (!MergeMomentum.IsValid(r.GetValueOrDefault<double>()))
            {
                r.AddError("--merge-momentum must be at least 0 and below 1");
            }
        });
        return option;
    }
}
