using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Network;

namespace SwarmLearning.Cli.Ctl;

/// <summary>
/// A named SWCI context: which SN to talk to (<see cref="Sn"/>, HOST:PORT of its API) and with which identity
/// (<see cref="Certs"/>/<see cref="Identity"/>.crt and .key, and the CA in <see cref="Certs"/>/ca.crt).
/// </summary>
internal sealed record CtlContext(string Name, string Sn, string Certs, string Identity);

/// <summary>
/// The contexts of this user, one of them active, in one JSON file: <c>$SWARM_CTL_CONFIG</c> if set, else
/// <c>$XDG_CONFIG_HOME/swarmlearning/contexts.json</c> (<c>~/.config/…</c> by default). Every change rewrites the file
/// through a temporary file and a rename, so a crash never leaves half a file.
/// </summary>
internal sealed class ContextStore(string path)
{
    /// <summary>The environment variable that names the contexts file.</summary>
    public const string PathVariable = "SWARM_CTL_CONFIG";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string Path { get; } = path;

    /// <summary>The contexts file this user's commands use, from the environment.</summary>
    public static string DefaultPath(Func<string, string?> environment)
    {
        if (environment(PathVariable) is { Length: > 0 } explicitPath)
        {
            return System.IO.Path.GetFullPath(explicitPath);
        }

        var config = environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return System.IO.Path.Combine(config, "swarmlearning", "contexts.json");
    }

    public ContextFile Load()
    {
        if (!File.Exists(Path))
        {
            return new ContextFile();
        }

        try
        {
            return JsonSerializer.Deserialize<ContextFile>(File.ReadAllText(Path), Json) ?? new ContextFile();
        }
        catch (JsonException e)
        {
            throw new SwarmException($"the contexts file {Path} is not valid JSON ({e.Message}); fix it, or delete it and create the contexts again", e);
        }
    }

    public CtlContext? Active()
    {
        var file = Load();
        return file.Active is { } name ? file.Contexts.Find(c => c.Name == name) : null;
    }

    public CtlContext Get(string name) =>
        Load().Contexts.Find(c => c.Name == name)
        ?? throw new SwarmException($"no context '{name}' in {Path}; 'swarm ctl context list' shows the contexts, 'swarm ctl context create' makes one");

    /// <summary>Adds a context, or replaces the one of that name. The first context becomes the active one.</summary>
    public void Save(CtlContext context)
    {
        var file = Load();
        file.Contexts.RemoveAll(c => c.Name == context.Name);
        file.Contexts.Add(context);
        file.Contexts.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        file.Active ??= context.Name;
        Write(file);
    }

    public CtlContext Switch(string name)
    {
        var file = Load();
        var context = Get(name);
        file.Active = name;
        Write(file);
        return context;
    }

    public void Delete(string name)
    {
        var file = Load();
        if (file.Contexts.RemoveAll(c => c.Name == name) == 0)
        {
            throw new SwarmException($"no context '{name}' in {Path}");
        }

        if (file.Active == name)
        {
            file.Active = null;
        }

        Write(file);
    }

    private void Write(ContextFile file)
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(file, Json));
        File.Move(temporary, Path, overwrite: true);
    }

    /// <summary>Turns HOST, HOST:PORT or [V6]:PORT into HOST:PORT with the SN API's default port.</summary>
    public static string NormalizeAddress(string address, int? port = null)
    {
        var withPort = port is { } p ? $"{(address.Contains(':', StringComparison.Ordinal) && !address.StartsWith('[') ? $"[{address}]" : address)}:{p}"
            : address.Contains(':', StringComparison.Ordinal) ? address : $"{address}:{SwarmNetworkOptions.DefaultApiPort}";
        if (!SwarmNetworkOptions.TryParseHostPort(withPort, out _, out _))
        {
            throw new SwarmException($"'{address}' is not an SN API address: give HOST or HOST:PORT (port {SwarmNetworkOptions.DefaultApiPort} by default)");
        }

        return withPort;
    }
}

/// <summary>What the contexts file holds.</summary>
internal sealed class ContextFile
{
    public int Version { get; set; } = 1;

    public string? Active { get; set; }

    public List<CtlContext> Contexts { get; set; } = [];
}
