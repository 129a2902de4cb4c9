using System.Globalization;
using System.Text;
using SwarmLearning.Identity;

namespace SwarmLearning.Operator.Tests.Harness;

/// <summary>Identity files, data directories and profiles written for a test, under its temporary directory.</summary>
internal sealed class Files : IDisposable
{
    private readonly CertificateAuthority _ca;

    public Files(CertificateAuthority? ca = null)
    {
        _ca = ca ?? CertificateAuthority.Create("optest", TimeSpan.FromDays(30));
        _ownsCa = ca is null;
        Certs = Directory.CreateDirectory(Dir.File("certs")).FullName;
        File.WriteAllText(Path.Combine(Certs, "ca.crt"), _ca.Certificate.ExportCertificatePem());
    }

    private readonly bool _ownsCa;

    public TempDirectory Dir { get; } = new();

    public string Certs { get; }

    /// <summary>Writes CERTS/NAME.crt and .key for an identity (issued by the test CA unless given).</summary>
    public string Identity(string name, SwarmRole role, SwarmIdentity? identity = null)
    {
        var crt = Path.Combine(Certs, $"{name}.crt");
        if (!File.Exists(crt))
        {
            if (identity is null)
            {
                using var issued = _ca.Issue(role, name, ["localhost", "127.0.0.1"], TimeSpan.FromDays(7));
                issued.Save(crt, Path.Combine(Certs, $"{name}.key"));
            }
            else
            {
                identity.Save(crt, Path.Combine(Certs, $"{name}.key"));
            }
        }

        return crt;
    }

    /// <summary>A CSV data directory: three well-separated clusters in 5 features (150 training rows, 30 test rows).</summary>
    public string Data(string name, int seed)
    {
        var dir = Directory.CreateDirectory(Dir.File(name)).FullName;
        var random = new Random(seed);
        string Rows(int count)
        {
            var text = new StringBuilder("f0,f1,f2,f3,f4,label\n");
            for (var i = 0; i < count; i++)
            {
                var label = i % 3;
                var values = Enumerable.Range(0, 5).Select(f => ((f == label ? 2.0 : 0.0) + (random.NextDouble() - 0.5) * 2).ToString("F4", CultureInfo.InvariantCulture));
                text.Append(string.Join(',', values)).Append(',').Append(label).Append('\n');
            }

            return text.ToString();
        }

        File.WriteAllText(Path.Combine(dir, "train.csv"), Rows(150));
        File.WriteAllText(Path.Combine(dir, "test.csv"), Rows(30));
        return dir;
    }

    /// <summary>HPE's identity attributes for NAME's files.</summary>
    public static string IdentityYaml(string name, string indent) =>
        $"""
        {indent}- aType: CERT
        {indent}  mType: BIND
        {indent}  src: <CURRENT-PATH>/certs/{name}.crt
        {indent}- aType: KEY
        {indent}  mType: BIND
        {indent}  src: <CURRENT-PATH>/certs/{name}.key
        {indent}- aType: CACERT
        {indent}  mType: BIND
        {indent}  src: <CURRENT-PATH>/certs/ca.crt
        """;

    /// <summary>A profile with one node per (name, port, data directory), as HPE writes them.</summary>
    public string Profile(string swop, int snPort, params (string Name, int Port, string Data)[] nodes)
    {
        var text = new StringBuilder($"""
            groupname: {swop}-group
            taskrunner: defaulttaskbb.taskdb.sml.hpe
            policyuri: ~
            resourcemgr:
              mgrtype: DOCKER
              accessinfo:
                accesstype: FROMENV
            network: host-net
            apls:
              locator:
                host: localhost
                port: ~
            apisrv:
              locator:
                host: localhost
                port: {snPort}
            identity:
            {IdentityYaml(swop, "  ")}
            workdir: <CURRENT-PATH>/{swop}
            envvars:
              - SL_LOG_LEVEL: INFO
            nodes:

            """);
        foreach (var (k, (name, port, data)) in nodes.Index())
        {
            text.Append($"""
                  - slnodedef:
                      idx: {k}
                      identity:
                {IdentityYaml(name, "        ")}
                      slhostname: localhost
                      slhostip: 127.0.0.1
                      slport: {port}
                      privatedata:
                        src: {data}
                        mType: BIND
                      modeldir: <CURRENT-PATH>/{swop}-models/{name}
                      slenvvars: ~
                      usrhostname: ml-{name}
                      usrenvvars:
                        - NODE_NOTE: {name}

                """);
        }

        var path = Dir.File($"{swop}.yaml");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    public void Dispose()
    {
        if (_ownsCa)
        {
            _ca.Dispose();
        }

        Dir.Dispose();
    }
}
