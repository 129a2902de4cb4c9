using System.Text;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Transactions;

/// <summary>
/// The strict payload parse (PayloadJson, as the contracts call it): optional fields keep their documented defaults, and
/// values the contracts cannot use are refused as malformed payloads that name the field. Each case is a finding of
/// the fuzz harness (docs/fuzzing.md) that used to escape the contracts as an exception other than a refusal.
/// </summary>
public sealed class PayloadJsonTests : IDisposable
{
    private readonly TestSwarm _swarm = new();

    public void Dispose() => _swarm.Dispose();

    [Fact]
    public void Optional_fields_left_out_take_their_documented_defaults_not_zero_or_false()
    {
        // The source generator sets every init-only property; fields with initializers lost them (makeMeAdmin false,
        // weight 0, a genesis with no defaultContract gave null and a NullReferenceException in the contracts).
        var ready = Parse("""{"contract":"c","round":1,"weight":2,"minPeers":1}""", PayloadJson.Default.ReadyPayload);
        Assert.True(ready.MakeMeAdmin);
        var end = Parse("""{"contract":"c","mode":"snapshot"}""", PayloadJson.Default.TrainingEndPayload);
        Assert.Equal(1, end.Weight);
        Assert.True(end.MakeMeAdmin);
        var defaults = Parse("{}", PayloadJson.Default.LedgerDefaults);
        Assert.Equal(new LedgerDefaults(), defaults);
        Assert.Equal(30, defaults.FullQuorumWaitSeconds);
        Assert.Equal(LedgerDefaults.HpeDefaultContract, defaults.DefaultContract);
        Assert.Equal(LedgerDefaults.HpeDefaultTaskRunner, defaults.DefaultTaskRunner);
    }

    [Fact]
    public void A_genesis_whose_defaults_leave_out_the_task_runner_creates_the_HPE_one()
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(_swarm.State.Genesis, PayloadJson.Default.GenesisPayload);
        var json = Encoding.UTF8.GetString(payload).Replace($",\"defaultTaskRunner\":\"{LedgerDefaults.HpeDefaultTaskRunner}\"", "", StringComparison.Ordinal);
        Assert.DoesNotContain("defaultTaskRunner", json, StringComparison.Ordinal);
        var genesis = Transaction.Create(_swarm.Sentinel, new byte[32], TransactionTypes.Genesis, 1, Encoding.UTF8.GetBytes(json));
        var state = ContractEngine.CreateGenesisState(genesis, TestSwarm.T0, []);
        Assert.True(state.TaskRunners.ContainsKey(LedgerDefaults.HpeDefaultTaskRunner));
    }

    [Theory]
    [InlineData(TransactionTypes.RoundMerged, """{"contract":"c","round":1,"modelHash":"h","size":1,"contributors":[null],"mergeMethod":"mean"}""", "$.contributors")]
    [InlineData(TransactionTypes.RoundMerged, """{"contract":"c","round":1,"modelHash":"h","size":1,"contributors":["a",1],"mergeMethod":"mean"}""", "$.contributors")]
    [InlineData(TransactionTypes.TaskCreate, """{"name":"t","taskType":"RUN_SWARM","author":"a","prereq":"ROOTTASK","outcome":"o","body":{"a":"\ud800"}}""", "$.body")]
    [InlineData(TransactionTypes.TaskCreate, """{"name":"t","taskType":"RUN_SWARM","author":"a","prereq":"ROOTTASK","outcome":"o","body":{"\udc00":1}}""", "$.body")]
    public void Values_the_contracts_cannot_use_are_refused_as_malformed_payloads_naming_the_field(string type, string json, string path)
    {
        var e = Assert.Throws<TransactionRejectedException>(() => ApplyPayload(type, json));
        Assert.Equal(RejectionKind.Invalid, e.Kind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_administrator_in_a_genesis_is_refused_naming_the_field()
    {
        var payload = _swarm.State.Genesis with { Administrators = [null!] };
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, PayloadJson.Default.GenesisPayload);
        Assert.Contains("\"administrators\":[null]", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        var genesis = Transaction.Create(_swarm.Sentinel, new byte[32], TransactionTypes.Genesis, 1, json);
        var e = Assert.Throws<TransactionRejectedException>(() => ContractEngine.CreateGenesisState(genesis, TestSwarm.T0, []));
        Assert.Contains("$.administrators", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> DamagedCertificates => new()
    {
        { "not base64", "not valid base64" },
        { "", "does not decode" },
        { Convert.ToBase64String(new byte[40]), "does not decode" },
        { FuzzFoundCertificates.DoesNotLoad, "does not decode" },
        { FuzzFoundCertificates.BadPublicKey, "does not decode" },
        { FuzzFoundCertificates.BadValidityDates, "does not decode" },
        { FuzzFoundCertificates.BadBasicConstraints, "does not decode" },
        { FuzzFoundCertificates.BadSubject, "does not decode" },
    };

    [Theory]
    [MemberData(nameof(DamagedCertificates))]
    public void A_registration_whose_certificate_does_not_decode_is_refused_before_any_check_reads_it(string certificate, string problem)
    {
        // A hostile sender picks its fingerprint as the hash of whatever bytes it sends, so the contracts' fingerprint
        // check passes and the certificate reached the X.509 decoder, which threw CryptographicException.
        var json = JsonSerializer.Serialize(new { role = "sl", name = "sl1", certificate });
        var e = Assert.Throws<TransactionRejectedException>(() => ApplyPayload(TransactionTypes.Register, json));
        Assert.Contains("$.certificate", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_genesis_trusting_a_CA_certificate_that_does_not_decode_is_refused_naming_the_entry()
    {
        var payload = _swarm.State.Genesis with { Authorities = [FuzzFoundCertificates.BadBasicConstraints] };
        var genesis = Transaction.Create(_swarm.Sentinel, new byte[32], TransactionTypes.Genesis, 1, JsonSerializer.SerializeToUtf8Bytes(payload, PayloadJson.Default.GenesisPayload));
        var e = Assert.Throws<TransactionRejectedException>(() => ContractEngine.CreateGenesisState(genesis, TestSwarm.T0, []));
        Assert.Contains("$.authorities", e.Message, StringComparison.Ordinal);
        Assert.Contains("entry 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_payloads_still_round_trip_through_the_converters()
    {
        var register = new RegisterPayload { Role = "sl", Name = "sl1", Certificate = Convert.ToBase64String(_swarm.Identity("sl1", SwarmRole.Sl).Certificate.RawData) };
        Assert.Equal(register, Parse(JsonSerializer.Serialize(register, PayloadJson.Default.RegisterPayload), PayloadJson.Default.RegisterPayload));
        var genesis = Parse(JsonSerializer.Serialize(_swarm.State.Genesis, PayloadJson.Default.GenesisPayload), PayloadJson.Default.GenesisPayload);
        Assert.Equal(_swarm.State.Genesis.Authorities, genesis.Authorities);
        var task = Parse("""{"name":"t","taskType":"RUN_SWARM","author":"a","prereq":"ROOTTASK","outcome":"o","body":{"a":["\u00e9",1,{"b":null}]}}""", PayloadJson.Default.TaskPayload);
        Assert.Equal("é", task.Body.GetProperty("a")[0].GetString());
    }

    private static T Parse<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(json, type) ?? throw new InvalidOperationException("null");

    private void ApplyPayload(string type, string json)
    {
        var sender = _swarm.Identity("sl1", SwarmRole.Sl);
        var tx = Transaction.Create(sender, _swarm.State.ChainId.Span, type, 1, Encoding.UTF8.GetBytes(json));
        _ = type switch
        {
            TransactionTypes.Register => (object)ContractEngine.ParsePayload(tx, PayloadJson.Default.RegisterPayload),
            TransactionTypes.RoundMerged => ContractEngine.ParsePayload(tx, PayloadJson.Default.MergedPayload),
            TransactionTypes.TaskCreate => ContractEngine.ParsePayload(tx, PayloadJson.Default.TaskPayload),
            _ => throw new ArgumentException(type, nameof(type)),
        };
    }

    /// <summary>Damaged certificates the fuzz harness made by mutating real ones; each loads partly, then fails.</summary>
    private static class FuzzFoundCertificates
    {
        public const string DoesNotLoad =
        "MIICFDCCAbmgAwIBAgIQT84S0YeYsur83x9ji4CbIjAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNTA2NTUwMFoXDTI4MDExNTA3MDAwMFowMzEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzELMAkGA1UECwwCc2wxDDAKBgNVBAMMA3NsMzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKcx26cNGFzm7fHAyuwmdUVD1lkn"
        + "Jd5Y00rqfj/EpHvYqNPmIsqXU1bk/Ie/uFixrwPDCQndF254rUvL8uoEJrKjgbEwga4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8E"
        + "BAMCB4AwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMC8GA1UdEQQoMCaGGXVybjpzd2FybWxlYXJuaW5nOnJvbGU6c2yC"
        + "CWxvY2FsaG9zdDAdBgNVHQ4EFgQUvs6/qGePg7Ocpwq65oKVOdR+iyowHwYDVR0jBBgwFoAUQM0LymaTua6x+xCLLmjloBM2w2Qw"
        + "CgYIKoZIzj0EAwIDSQ==";

        public const string BadPublicKey =
        "MIICFDCCAbmgAwIBAgIQT84S0YeYsur83x9ji4CbIjAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNTA2NTUwMFoXDTI4MDExNTA3MDAwMFowMzEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzELMAkGA1UECwwCc2wxDDAKBgNVBAMMA3NsMzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKcx26cNGFzm7fHAyuwmdUVD1lkn"
        + "Jd5Y00rqfj/EpHvYqNPmIsqXU1bk/Ie/uFixrwPDCQndF0h4rUvL8uoEJrKjgbEwga4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8E"
        + "BAMCB4AwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMC8GA1UdEQQoMCaGGXVybjpzd2FybWxlYXJuaW5nOnJvbGU6c2yC"
        + "CWxvY2FsaG9zdDAdBgNVHQ4EFgQUvs6/qGePg7Ocpwq65oKVOdR+iyowHwYDVR0jBBgwFoAUQM0LymaTua6x+xCLLmjloBM2w2Qw"
        + "CgYIKoZuzj0EAwIDSQAwRgIhAMXkCySvh/RZUnu53x3dtnQDfpB/nf4DpAnACKZ5IbFQAiEArHuI+K9IO8th4jbg0Q6PecPG+pS8"
        + "grA1VDiGjDC1F1k=";

        public const string BadValidityDates =
        "MIIBpDCCAUmgAwIBAgIQaLBTORdHuO1ddwtToNMY6DAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNDA3NTUwMFoXDTM3MDExMTA4MDhwMFowMDEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzEWMBQGA1UEAwwNZnV6eiBTd2FybSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxqVoOCmkv1Yo3rqqHkWB04P/DFhJ4l"
        + "Jc6x59TUssAQvcqBSflVrTKHKndzkdFXfMd/0SGegi2okGecu3CswOSjRTBDMBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0PAQH/"
        + "BAQDAgEGMB0GA1UdDgQWBBRAzQvKZpO5rrH7EIsuaOWgEzbDZDAKBggqhkjOPQQDAgNJADBGAiEAy+31yGJ8mGq7CUKL3EydVv65"
        + "ta7T7r/scwxlfRxK9DgCIQDaEEq9LsK1VPiu7q5hQ1clh++58mljaDQbBSVUQl3xCg==";

        public const string BadSubject =
        "MIICFDCCAbmgAwIBAgIQbx3toxJfb/RzwGyHgQbibTAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNTA2NTUwMFoXDTI4MDExNTA3MDAwMFoQMzEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzELMAkGA1UECwwCc2wxDDAKBgNVBAMMA3NsMzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJUfjfFaZorwX+yMQ+/M3ZdqhYLB"
        + "dAKYW5IwWlNqv2G7cKSq9mCd1tGWZHWfQG2OtwFHctpJZMjiC0BC688aPqCjgbEwga4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8E"
        + "BAMCB4AwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMC8GA1UdEQQoMCaGGXVybjpzd2FybWxlYXJuaW5nOnJvbGU6c2yC"
        + "CWxvY2FsaG9zdDAdBgNVHQ4EFgQUBHvx1F0SsNril5GCvXTPKU7zM34wHwYDVR0jBBgwFoAUYqRrV2J7uxlAvKOlJJ591fMYONQw"
        + "CgYIKoZIzj0EAwIDSQAwRgIhAI9PaeQmlk1jZvnHHFBGLGZaLtpYelxK5sbd0tKXZwkRAiEAr6aUo+w8wvRDNXYEgGuo2/J067Vt"
        + "KzCv/pSLzol4j+c=";

        public const string BadBasicConstraints =
        "MIIBpDCCAUmgAwIBAgIQaLBTORdHuO1ddwtToNMY6DAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNDA3NTUwMFoXDTM3MDExMTA4MDAwMFowMDEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzEWMBQGA1UEAwwNZnV6eiBTd2FybSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxqVoOCmkv1Yo3rqqHkWB04P/DFhJ4l"
        + "Jc6x59TUssAQvcqBSflVrTKHKndzkdFXfMd/0SGegi2okGecu3CswOSjRTBDMBIGA1UdEwEB/wQIMAYBAf8FAQAwDgYDVR0PAQH/"
        + "BAQDAgEGMB0GA1UdDgQWBBRAzQvKZpO5rrH7EIsuaOWgEzbDZDAKBggqhkjOPQQDAgNJADBGAiEAy+31yGJ8mGq7CUKL3EydVv65"
        + "ta7T7r/scwxlfRxK9DgCIQDaEEq9LsK1VPiu7q5hQ1clh++58mljaDQbBSVUQl3xCg==";
    }
}
