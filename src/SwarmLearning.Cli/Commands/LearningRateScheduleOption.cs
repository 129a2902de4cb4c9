using System.CommandLine;
using SwarmLearning.Training;

namespace SwarmLearning.Cli.Commands;

/// <summary><c>--lr-schedule</c>, shared by <c>swarm train</c> and <c>swarm simulate</c>.</summary>
internal static class LearningRateScheduleOption
{
    /// <summary>Each schedule and its name on the command line, in the JSON and in the log lines.</summary>
    private static readonly (string Name, LearningRateSchedule Schedule)[] Names =
    [
        ("constant", LearningRateSchedule.Constant),
        ("cosine", LearningRateSchedule.Cosine),
        ("final-step", LearningRateSchedule.FinalStep),
    ];

    public static Option<string> Create()
    {
        var option = new Option<string>("--lr-schedule")
        {
            Description = "constant | cosine (from --lr at the first step down to 0 at the last, over --epochs) | final-step (--lr, then --lr / 10 for the last tenth of the steps).",
            DefaultValueFactory = _ => "constant",
        };
        option.AcceptOnlyFromAmong([.. Names.Select(n => n.Name)]);
        return option;
    }

    /// <summary>The option accepts only the names of <see cref="Names"/>, so the parse cannot fail.</summary>
    public static LearningRateSchedule Parse(string? name) => Names.FirstOrDefault(n => n.Name == name).Schedule;

    /// <summary>The option's name for <paramref name="schedule"/>.</summary>
    public static string NameOf(LearningRateSchedule schedule) => Names.First(n => n.Schedule == schedule).Name;
}
