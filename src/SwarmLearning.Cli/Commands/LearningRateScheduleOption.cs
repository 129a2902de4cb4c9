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
            Description = "constant | cosine (from --lr at the first step down to 0 at the last, over --epochs) | final-step (--lr, then --lr / 10 for the last tenth of the steps).",
            DefaultValueFactory = _ => "constant",
        };
        option.AcceptOnlyFromAmong("constant", "cosine", "final-step");
        return option;
    }

    /// <summary>The option accepts only its three names, so the parse cannot fail.</summary>
    public static LearningRateSchedule Parse(string? name) => name switch
    {
        "cosine" => LearningRateSchedule.Cosine,
        "final-step" => LearningRateSchedule.FinalStep,
        _ => LearningRateSchedule.Constant,
    };

    /// <summary>The option's name for <paramref name="schedule"/>, as the JSON and the log lines print it.</summary>
    public static string NameOf(LearningRateSchedule schedule) => schedule switch
    {
        LearningRateSchedule.Cosine => "cosine",
        LearningRateSchedule.FinalStep => "final-step",
        _ => "constant",
    };
}
