using Microsoft.Extensions.Logging;

namespace SwarmLearning.Client.Tests;

/// <summary>HPE's parameter rules, defaults and messages (swarmlearning/client/swarm.py, SwarmCallbackBase).</summary>
public sealed class SwarmCallbackOptionsTests
{
    private static SwarmCallbackOptions Valid => new() { SyncFrequency = 128, MinPeers = 2, Loopback = true };

    private static string Error(SwarmCallbackOptions options) => Assert.Single(options.Validate());

    [Fact]
    public void Defaults_are_HPEs()
    {
        var options = Valid;
        Assert.Empty(options.Validate());
        Assert.Equal("defaultbb.cqdb.sml.hpe", options.TrainingContract);
        Assert.False(options.UseAdaptiveSync);
        Assert.Null(options.AdsValData);
        Assert.Equal("snapshot", options.CheckinModelOnTrainEnd);
        Assert.Equal(1, options.NodeWeightage);
        Assert.Equal("mean", options.MergeMethod);
        Assert.Null(options.TotalEpochs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void SyncFrequency_must_be_a_positive_integer(int value) =>
        Assert.Equal($"syncFrequency has to be a positive integer. Provided value: {value}", Error(Valid with { SyncFrequency = value }));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void MinPeers_must_be_a_positive_integer(int value) =>
        Assert.Equal($"minPeers have to be a positive integer. Provided value: {value}", Error(Valid with { MinPeers = value }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void An_empty_training_contract_is_refused(string? contract) =>
        Assert.StartsWith("Invalid Training Contract", Error(Valid with { TrainingContract = contract }), StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    [InlineData(-3)]
    public void Node_weightage_must_be_1_to_100(int value) =>
        Assert.Equal($"Node weightage should be a number between 1-100. Provided value: {value}", Error(Valid with { NodeWeightage = value }));

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public void Node_weightage_1_and_100_are_fine(int value) => Assert.Empty((Valid with { NodeWeightage = value }).Validate());

    [Theory]
    [InlineData("snapshot")]
    [InlineData("active")]
    [InlineData("inactive")]
    public void The_three_checkin_modes_are_accepted(string mode) => Assert.Empty((Valid with { CheckinModelOnTrainEnd = mode }).Validate());

    [Theory]
    [InlineData("Snapshot")] // HPE compares checkinModelOnTrainEnd as it is, unlike mergeMethod
    [InlineData("latest")]
    [InlineData("")]
    public void Other_checkin_modes_are_refused_with_the_allowed_list(string mode) =>
        Assert.Equal($"Invalid value checkinModelOnTrainEnd: {mode}. Allowed values: ['inactive', 'active', 'snapshot']", Error(Valid with { CheckinModelOnTrainEnd = mode }));

    [Theory]
    [InlineData("mean", "mean")]
    [InlineData("CoordMedian", "coordmedian")]
    [InlineData("GEOMEDIAN", "geomedian")]
    [InlineData("trimmedmean", "trimmedmean")]
    [InlineData("Krum", "krum")]
    public void Merge_methods_are_case_insensitive(string given, string sent)
    {
        var options = Valid with { MergeMethod = given };
        Assert.Empty(options.Validate());
        Assert.Equal(sent, options.NormalizedMergeMethod);
    }

    [Fact]
    public void An_unknown_merge_method_is_refused_with_the_allowed_list() =>
        Assert.Equal(
            "Invalid value mergeMethod: median. Allowed values: ['mean', 'coordmedian', 'geomedian', 'trimmedmean', 'krum']",
            Error(Valid with { MergeMethod = "Median" }));

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void A_merge_momentum_outside_zero_to_one_is_refused(double momentum) =>
        Assert.Equal(
            FormattableString.Invariant($"mergeMomentum has to be at least 0 and below 1. Provided value: {momentum}"),
            Error(Valid with { MergeMomentum = momentum }));

    [Fact]
    public void Adaptive_sync_needs_adsValData()
    {
        Assert.Equal("For adaptive sync, valid adsValData is mandatory", Error(Valid with { UseAdaptiveSync = true }));
        Assert.Empty((Valid with { UseAdaptiveSync = true, AdsValData = () => (0.5, 0.8) }).Validate());
    }

    [Fact]
    public void Total_epochs_may_be_left_out_but_not_negative()
    {
        Assert.Empty((Valid with { TotalEpochs = null }).Validate());
        Assert.Empty((Valid with { TotalEpochs = 0 }).Validate());
        Assert.Empty((Valid with { TotalEpochs = 12 }).Validate());
        Assert.Equal("totalEpochs has to be a positive integer (or left out when unknown). Provided value: -1", Error(Valid with { TotalEpochs = -1 }));
    }

    [Fact]
    public void Every_problem_is_listed()
    {
        var errors = (Valid with { SyncFrequency = 0, MinPeers = 0, NodeWeightage = 0, MergeMethod = "x" }).Validate();
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void The_constructor_throws_HPEs_message_and_logs_it()
    {
        var logger = new ListLogger();
        var e = Assert.Throws<SwarmException>(() => new SwarmCallback(Valid with { MinPeers = 0 }, new RecordingAdapter(TestModels.Make(0)), logger));
        Assert.Equal("minPeers have to be a positive integer. Provided value: 0", e.Message);
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Error && l.Message == e.Message);
    }

    [Fact]
    public void Missing_total_epochs_and_validation_data_are_warned_about()
    {
        var logger = new ListLogger();
        using (new SwarmCallback(Valid, new RecordingAdapter(TestModels.Make(0)), logger))
        {
            Assert.Equal(1, logger.Count("totalEpochs is not available through callback"));
            Assert.Equal(1, logger.Count("adsValData is not given"));
        }

        var quiet = new ListLogger();
        using (new SwarmCallback(Valid with { TotalEpochs = 3, AdsValData = () => (1, 0) }, new RecordingAdapter(TestModels.Make(0)), quiet))
        {
            Assert.Equal(0, quiet.Count("totalEpochs is not available"));
            Assert.Equal(0, quiet.Count("adsValData is not given"));
        }
    }
}
