namespace SwarmLearning.Identity.Tests;

/// <summary>The node-side pieces of certificate rotation: the watched files, the holder and the HTTP client that follows it.</summary>
public sealed class IdentityRotationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CertificateAuthority _ca = TestPki.Ca();
    private readonly SwarmIdentity _current;
    private readonly SwarmTrust _trust;

    public IdentityRotationTests()
    {
        _current = TestPki.Issue(_ca, SwarmRole.Sl, "sl1");
        _current.Save(Certificate, Key);
        _trust = new SwarmTrust([_ca.Certificate]);
    }

    private string Certificate => _dir.File("sl1.crt");

    private string Key => _dir.File("sl1.key");

    public void Dispose()
    {
        _current.Dispose();
        _ca.Dispose();
        _dir.Dispose();
    }

    private SwarmIdentity? Poll(IdentityFiles files, DateTimeOffset? at = null) => files.Poll(_current, _trust, at ?? TestPki.Now);

    [Fact]
    public void A_new_pair_is_returned_once_it_has_stayed_the_same_for_one_poll()
    {
        var files = new IdentityFiles(Certificate, Key);
        Assert.Null(Poll(files)); // what the node started with
        using var next = TestPki.Issue(_ca, SwarmRole.Sl, "sl1");
        next.Save(Certificate, Key, overwrite: true);

        Assert.Null(Poll(files)); // just changed: maybe still being written
        using var found = Poll(files);
        Assert.NotNull(found);
        Assert.Equal(next.Fingerprint, found.Fingerprint);
        Assert.True(found.Certificate.HasPrivateKey);
        Assert.Null(Poll(files)); // judged: nothing new until the files change again
    }

    [Fact]
    public void A_pair_changed_again_before_the_next_poll_is_not_read_half_installed()
    {
        var files = new IdentityFiles(Certificate, Key);
        using var next = TestPki.Issue(_ca, SwarmRole.Sl, "sl1");
        File.WriteAllText(Certificate, next.Certificate.ExportCertificatePem()); // the key is not there yet
        Assert.Null(Poll(files));
        next.Save(Certificate, Key, overwrite: true);
        Assert.Null(Poll(files));
        using var found = Poll(files);
        Assert.Equal(next.Fingerprint, found?.Fingerprint);
    }

    [Fact]
    public void The_same_certificate_written_again_is_nothing_new()
    {
        var files = new IdentityFiles(Certificate, Key);
        File.WriteAllText(Certificate, _current.Certificate.ExportCertificatePem() + "\n");
        Assert.Null(Poll(files));
        Assert.Null(Poll(files));
    }

    [Theory]
    [InlineData("ca", "not issued by this swarm's CA")]
    [InlineData("name", "a rotation keeps the name")]
    [InlineData("role", "a rotation keeps the role")]
    [InlineData("expired", "expired")]
    [InlineData("key", "is not the private key of")]
    public void A_pair_that_cannot_replace_the_current_one_is_refused_once_naming_the_file(string what, string expected)
    {
        var files = new IdentityFiles(Certificate, Key);
        using var otherCa = TestPki.Ca("other");
        using var next = what switch
        {
            "ca" => TestPki.Issue(otherCa, SwarmRole.Sl, "sl1"),
            "name" => TestPki.Issue(_ca, SwarmRole.Sl, "sl2"),
            "role" => TestPki.Issue(_ca, SwarmRole.Swop, "sl1"),
            _ => TestPki.Issue(_ca, SwarmRole.Sl, "sl1"),
        };
        if (what == "key")
        {
            File.WriteAllText(Certificate, next.Certificate.ExportCertificatePem()); // the old key stays
        }
        else
        {
            next.Save(Certificate, Key, overwrite: true);
        }

        var at = what == "expired" ? TestPki.Now + (2 * TestPki.Year) : TestPki.Now; // the new one expired before it was installed
        Assert.Null(Poll(files, at));
        var e = Assert.Throws<SwarmException>(() => Poll(files, at));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(what == "key" ? Key : Certificate, e.Message, StringComparison.Ordinal);
        Assert.Null(Poll(files, at)); // judged once
        files.Retry();
        Assert.Throws<SwarmException>(() => Poll(files, at));
    }

    [Fact]
    public void The_holder_stages_promotes_and_abandons_identities_of_its_role_and_name()
    {
        using var holder = new IdentityHolder(_current);
        Assert.Same(_current, holder.Current);
        Assert.Null(holder.Staged);
        using var other = TestPki.Issue(_ca, SwarmRole.Sl, "sl2");
        Assert.Throws<ArgumentException>(() => holder.Stage(other));
        Assert.Throws<ArgumentException>(() => holder.Stage(_current));
        Assert.Throws<InvalidOperationException>(() => holder.Promote());

        var refused = TestPki.Issue(_ca, SwarmRole.Sl, "sl1");
        holder.Stage(refused);
        Assert.Same(refused, holder.Find(refused.Fingerprint));
        Assert.Same(_current, holder.Find(_current.Fingerprint));
        holder.Abandon();
        Assert.Null(holder.Staged);
        Assert.Null(holder.Find(refused.Fingerprint));
        Assert.Throws<ObjectDisposedException>(() => refused.Sign("x"u8));

        var next = TestPki.Issue(_ca, SwarmRole.Sl, "sl1");
        holder.Stage(next);
        Assert.Same(_current, holder.Current); // not in use before the ledger records the rotation
        Assert.Same(_current, holder.Promote());
        Assert.Same(next, holder.Current);
        Assert.Null(holder.Staged);

        holder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => next.Sign("x"u8)); // the holder's
        _ = _current.Sign("x"u8); // the caller's
    }

    [Fact]
    public void The_http_client_is_rebuilt_for_a_new_identity_and_only_then()
    {
        using var holder = new IdentityHolder(_current);
        var made = new List<SwarmIdentity>();
        using var clients = new IdentityHttpClient(holder, identity =>
        {
            made.Add(identity);
            return new HttpClient(SwarmTls.CreateClientHandler(identity, _trust));
        });
        var first = clients.Current;
        Assert.Same(first, clients.Current);

        holder.Stage(TestPki.Issue(_ca, SwarmRole.Sl, "sl1"));
        Assert.Same(first, clients.Current); // staged is not in use yet
        holder.Promote();
        var second = clients.Current;
        Assert.NotSame(first, second);
        Assert.Same(second, clients.Current);
        Assert.Equal([_current, holder.Current], made);
    }
}
