using System.CommandLine;
using SwarmLearning.Training;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>--lr-schedule</c>, shared by <c>swarm train</c> and <c>swarm simulate</c>.</summary>
internal static class LearningRateScheduleOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--lr-schedule")
        {
            Description = "constant | cosine (from --lr at the first step down to 0 at the last, over --epochs).",
            DefaultValueFactory = _ => "constant",
        };
        option.AcceptOnlyFromAmong("constant", "cosine");
        return option;
    }

    /// <summary>The option accepts only the two names, so the parse cannot fail.</summary>
    public static LearningRateSchedule Parse(string? name) =>
        string.Equals(name, "cosine", StringComparison.Ordinal) ? LearningRateSchedule.Cosine : LearningRateSchedule.Constant;
}
