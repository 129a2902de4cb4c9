using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using SwarmLearning.Identity;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Operator.Profile;

/// <summary>
/// Loads and validates an operator profile (docs/operator.md). Every problem is reported at once, each naming its field
/// path and line; HPE's container-only fields are accepted and listed in <see cref="LoadedProfile.Ignored"/>.
/// </summary>
public static partial class ProfileLoader
{
    /// <summary>The macro HPE's templates use for the profile's directory.</summary>
    public const string CurrentPathMacro = "<CURRENT-PATH>";

    private static readonly string[] TopKeys = ["groupname", "taskrunner", "apisrv", "identity", "workdir", "envvars", "nodes"];
    private static readonly string[] TopIgnored = ["policyuri", "resourcemgr", "network", "apls", "dns"];
    private static readonly string[] NodeKeys = ["idx", "identity", "slhostname", "slhostip", "slport", "privatedata", "modeldir", "slenvvars", "usrenvvars"];
    private static readonly string[] NodeIgnored = ["slfsservice", "sllabels", "slnetworkopts", "usrhostname", "usrlabels", "usrnetworkopts", "usrcontaineropts"];
    private static readonly string[] IdentityTypes = ["CERT", "KEY", "CACERT"];
    private static readonly string[] AttributeKeys = ["aType", "mType", "src", "tgt", "subPath"];

    /// <summary>Loads the profile at <paramref name="path"/>.</summary>
    /// <exception cref="ProfileException">The file cannot be read, or the profile is not valid: every problem is listed.</exception>
    public static LoadedProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfileException(path, [$"cannot read it: {e.Message}"]);
        }

        return Parse(text, Path.GetDirectoryName(Path.GetFullPath(path))!, path);
    }

    /// <summary>Parses profile text; relative paths and <c>&lt;CURRENT-PATH&gt;</c> resolve against <paramref name="directory"/>.</summary>
    /// <exception cref="ProfileException">The profile is not valid: every problem is listed.</exception>
    public static LoadedProfile Parse(string text, string directory, string source = "the profile")
    {
        ArgumentNullException.ThrowIfNull(text);
        var f = new YamlFields();
        var root = YamlFields.Parse(text, out var syntax);
        if (syntax is not null)
        {
            throw new ProfileException(source, [$"is not YAML: {syntax}"]);
        }

        var top = f.Mapping(root, "(profile)");
        f.OnlyKeys(top, "", TopKeys, TopIgnored);
        var group = f.Text(top, "groupname", "", max: 64);
        if (group is not null && !IsName(group))
        {
            f.Error("groupname", YamlFields.Child(top, "groupname"), $"\"{group}\" is not a name: 1 to 64 letters, digits, '.', '_' or '-'");
        }

        var runner = f.Text(top, "taskrunner", "", max: 128);
        var locator = f.Mapping(YamlFields.Child(f.Mapping(YamlFields.Child(top, "apisrv"), "apisrv"), "locator"), "apisrv.locator");
        f.OnlyKeys(locator, "apisrv.locator", ["host", "port"], ["service"]);
        var snHost = f.Text(locator, "host", "apisrv.locator", max: 253);
        var snPort = YamlFields.IsNull(YamlFields.Child(locator, "port")) ? 30304 : f.Integer(locator, "port", "apisrv.locator", 1, 65535);
        var identity = Identity(f, YamlFields.Child(top, "identity"), "identity", directory, SwarmRole.Swop, out _);
        var work = f.Text(top, "workdir", "", required: false) is { } w ? ResolvePath(f, w, "workdir", YamlFields.Child(top, "workdir"), directory) : null;
        var envVars = f.EnvVars(top, "envvars", "");

        var nodes = new List<ProfileNode>();
        var nodeList = YamlFields.Child(top, "nodes");
        if (top is not null && YamlFields.IsNull(nodeList))
        {
            f.Error("nodes", nodeList ?? top, "required: at least one SL/ML pair (slnodedef)");
        }
        else if (nodeList is not null and not YamlSequenceNode)
        {
            f.Error("nodes", nodeList, "must be a list of slnodedef entries");
        }
        else if (nodeList is YamlSequenceNode seq)
        {
            if (seq.Children.Count == 0)
            {
                f.Error("nodes", seq, "lists no node; give at least one slnodedef");
            }

            for (var i = 0; i < seq.Children.Count; i++)
            {
                if (Node(f, seq.Children[i], $"nodes[{i}]", directory) is { } node)
                {
                    nodes.Add(node);
                }
            }

            Unique(f, nodes, n => n.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), "idx");
            Unique(f, nodes, n => n.Name, "identity (the SL node's name)");
            Unique(f, nodes, n => n.FilePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "slport");
            Unique(f, nodes, n => n.ModelDirectory, "modeldir");
        }

        if (f.Errors.Count > 0)
        {
            throw new ProfileException(source, f.Errors);
        }

        var profile = new OperatorProfile
        {
            GroupName = group!,
            TaskRunner = runner!,
            SnHost = snHost!,
            SnPort = snPort!.Value,
            Identity = identity!,
            WorkDirectory = work ?? Path.Combine(directory, $"swop-{group}"),
            EnvVars = envVars,
            Nodes = [.. nodes.OrderBy(n => n.Index)],
        };
        return new LoadedProfile(profile, f.Ignored);
    }

    private static ProfileNode? Node(YamlFields f, YamlNode item, string path, string directory)
    {
        var outer = f.Mapping(item, path);

        // HPE wraps each node as "- slnodedef: {...}"; a bare mapping is accepted too.
        var map = outer;
        if (outer is not null && outer.Children.Count == 1 && YamlFields.Child(outer, "slnodedef") is { } inner)
        {
            path += ".slnodedef";
            map = f.Mapping(inner, path);
        }

        if (map is null)
        {
            return null;
        }

        var errors = f.Errors.Count;
        f.OnlyKeys(map, path, NodeKeys, NodeIgnored);
        var idx = f.Integer(map, "idx", path, 0, 10_000);
        var identity = Identity(f, YamlFields.Child(map, "identity"), $"{path}.identity", directory, SwarmRole.Sl, out var name);
        var host = f.Text(map, "slhostname", path, required: false, max: 253) ?? "localhost";
        var listen = f.Text(map, "slhostip", path, required: false, max: 64) ?? "127.0.0.1";
        if (!System.Net.IPAddress.TryParse(listen, out _))
        {
            f.Error($"{path}.slhostip", YamlFields.Child(map, "slhostip"), $"\"{listen}\" is not an IP address");
        }

        var port = YamlFields.IsNull(YamlFields.Child(map, "slport")) ? 30305 : f.Integer(map, "slport", path, 1, 65535);
        var privateMap = f.Mapping(YamlFields.Child(map, "privatedata"), $"{path}.privatedata");
        f.OnlyKeys(privateMap, $"{path}.privatedata", ["src", "mType"]);
        var privateData = f.Text(privateMap, "src", $"{path}.privatedata") is { } p ? ResolvePath(f, p, $"{path}.privatedata.src", YamlFields.Child(privateMap, "src"), directory) : null;
        if (privateData is not null && !Directory.Exists(privateData))
        {
            f.Error($"{path}.privatedata.src", YamlFields.Child(privateMap, "src"), $"the directory {privateData} does not exist; create it and put this node's data there");
        }

        var model = f.Text(map, "modeldir", path) is { } m ? ResolvePath(f, m, $"{path}.modeldir", YamlFields.Child(map, "modeldir"), directory) : null;
        var slEnv = f.EnvVars(map, "slenvvars", path);
        var userEnv = f.EnvVars(map, "usrenvvars", path);
        if (f.Errors.Count > errors)
        {
            return null;
        }

        return new ProfileNode
        {
            Index = idx!.Value,
            Identity = identity!,
            Name = name!,
            HostName = host,
            ListenAddress = listen,
            FilePort = port!.Value,
            PrivateData = privateData!,
            ModelDirectory = model!,
            SlEnvVars = slEnv,
            UserEnvVars = userEnv,
        };
    }

    /// <summary>HPE's identity attributes (aType CERT, KEY, CACERT with a src path); checks the certificate's role.</summary>
    private static IdentityFiles? Identity(YamlFields f, YamlNode? node, string path, string directory, SwarmRole role, out string? name)
    {
        name = null;
        if (YamlFields.IsNull(node))
        {
            f.Error(path, node, "required: a list of attributes with aType CERT, KEY and CACERT and their src files");
            return null;
        }

        if (node is not YamlSequenceNode seq)
        {
            f.Error(path, node, "must be a list of attributes ({aType, src})");
            return null;
        }

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var at = $"{path}[{i}]";
            var attribute = f.Mapping(seq.Children[i], at);
            f.OnlyKeys(attribute, at, AttributeKeys);
            var type = f.Text(attribute, "aType", at);
            var src = f.Text(attribute, "src", at);
            var sub = f.Text(attribute, "subPath", at, required: false);
            if (type is null || src is null)
            {
                continue;
            }

            if (type is not ("CERT" or "KEY" or "CACERT"))
            {
                f.Error($"{at}.aType", YamlFields.Child(attribute, "aType"), $"\"{type}\" is not one of CERT, KEY, CACERT (CAPATH and SPIFFE_SOCKETPATH are not supported)");
                continue;
            }

            var file = ResolvePath(f, sub is null ? src : Path.Combine(src, sub), $"{at}.src", YamlFields.Child(attribute, "src"), directory);
            if (file is not null && !File.Exists(file))
            {
                f.Error($"{at}.src", YamlFields.Child(attribute, "src"), $"the {type} file {file} does not exist");
            }
            else if (file is not null && !files.TryAdd(type, file))
            {
                f.Error($"{at}.aType", YamlFields.Child(attribute, "aType"), $"{type} is given twice");
            }
        }

        foreach (var missing in IdentityTypes.Where(t => !files.ContainsKey(t)))
        {
            if (f.Errors.Count == 0 || !f.Errors[^1].StartsWith(path, StringComparison.Ordinal))
            {
                f.Error(path, seq, $"has no {missing} attribute");
            }
        }

        if (!files.TryGetValue("CERT", out var cert) || !files.TryGetValue("KEY", out var key) || !files.TryGetValue("CACERT", out var ca))
        {
            return null;
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(cert));
            if (!SwarmIdentity.TryReadRole(certificate, out var actual, out var certName))
            {
                f.Error(path, seq, $"{cert} is not a swarm identity (no role in it); issue one with swarm certs issue --role {SwarmRoles.ToName(role)}");
                return null;
            }

            if (actual != role)
            {
                f.Error(path, seq, $"{cert} is a {SwarmRoles.ToName(actual)} identity ('{certName}'); this one must be issued with --role {SwarmRoles.ToName(role)}");
                return null;
            }

            name = certName;
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        {
            f.Error(path, seq, $"cannot read the certificate {cert}: {e.Message}");
            return null;
        }

        return new IdentityFiles(cert, key, ca);
    }

    private static void Unique(YamlFields f, List<ProfileNode> nodes, Func<ProfileNode, string> key, string what)
    {
        foreach (var group in nodes.GroupBy(key, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            f.Error("nodes", null, $"{what} '{group.Key}' is used by more than one node (idx {string.Join(", ", group.Select(n => n.Index))}); each node needs its own");
        }
    }

    /// <summary>Expands <c>&lt;CURRENT-PATH&gt;</c>, refuses other macros left unreplaced, and resolves against the profile's directory.</summary>
    private static string? ResolvePath(YamlFields f, string value, string path, YamlNode? node, string directory)
    {
        var expanded = value.Replace(CurrentPathMacro, directory, StringComparison.Ordinal);
        if (Macro().Match(expanded) is { Success: true } macro)
        {
            f.Error(path, node, $"the macro {macro.Value} is not replaced; replace it with a path (only {CurrentPathMacro} is expanded)");
            return null;
        }

        return Path.GetFullPath(expanded, directory);
    }

    private static bool IsName(string s) => s.Length is > 0 and <= 64 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    [GeneratedRegex("<[A-Z][A-Z0-9_-]*>")]
    private static partial Regex Macro();
}

/// <summary>A loaded profile, with the HPE fields it holds that processes do not use.</summary>
public sealed record LoadedProfile(OperatorProfile Profile, IReadOnlyList<string> Ignored);

/// <summary>A profile that cannot be used; the message lists every problem, each naming its field.</summary>
public sealed class ProfileException : SwarmException
{
    /// <summary>Creates it for <paramref name="source"/> with its <paramref name="problems"/>.</summary>
    public ProfileException(string source, IReadOnlyList<string> problems)
        : base($"{source} is not a valid operator profile:{Environment.NewLine}{string.Join(Environment.NewLine, problems.Select(p => "  " + p))}") =>
        Problems = problems;

    /// <summary>Creates one with a single problem.</summary>
    public ProfileException(string message)
        : base(message) => Problems = [message];

    /// <summary>Creates one with a single problem and its cause.</summary>
    public ProfileException(string message, Exception innerException)
        : base(message, innerException) => Problems = [message];

    /// <summary>Creates one with no details; prefer the overload that lists the problems.</summary>
    public ProfileException() => Problems = [];

    /// <summary>Each problem, with its field path.</summary>
    public IReadOnlyList<string> Problems { get; }
}
