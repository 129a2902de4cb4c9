namespace SwarmLearning.Identity.Tests;

public sealed class SwarmRoleTests
{
    [Theory]
    [InlineData(SwarmRole.Sn, "sn")]
    [InlineData(SwarmRole.Sl, "sl")]
    [InlineData(SwarmRole.Swci, "swci")]
    [InlineData(SwarmRole.Swop, "swop")]
    public void Role_names_round_trip_in_any_case(SwarmRole role, string name)
    {
        Assert.Equal(name, SwarmRoles.ToName(role));
        Assert.True(SwarmRoles.TryParse(name, out var parsed));
        Assert.Equal(role, parsed);
        Assert.True(SwarmRoles.TryParse(name.ToUpperInvariant(), out parsed));
        Assert.Equal(role, parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("admin")]
    [InlineData("0")]
    [InlineData("Sn ")]
    public void Unknown_role_names_are_refused(string? name) => Assert.False(SwarmRoles.TryParse(name, out _));

    [Fact]
    public void All_lists_every_role_once() =>
        Assert.Equal(Enum.GetValues<SwarmRole>(), SwarmRoles.All);

    [Fact]
    public void A_value_that_is_no_role_has_no_name() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SwarmRoles.ToName((SwarmRole)42));
}
