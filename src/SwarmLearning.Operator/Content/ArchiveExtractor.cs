using System.Formats.Tar;
using System.IO.Compression;

namespace SwarmLearning.Operator.Content;

/// <summary>
/// Extracts .tar, .tar.gz/.tgz and .zip archives into a directory. An entry whose path would land outside the
/// directory (<c>../x</c>, an absolute path, a link pointing out) is refused before anything of it is written.
/// </summary>
internal static class ArchiveExtractor
{
    /// <summary>Extracts <paramref name="archive"/> into <paramref name="destination"/>; returns the number of files written.</summary>
    /// <exception cref="SwarmException">The format is unknown, the archive is damaged, or an entry escapes.</exception>
    public static async Task<int> ExtractAsync(string archive, string destination, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        var name = archive.ToLowerInvariant();
        try
        {
            if (name.EndsWith(".zip", StringComparison.Ordinal))
            {
                return ExtractZip(archive, root);
            }

            if (name.EndsWith(".tar.gz", StringComparison.Ordinal) || name.EndsWith(".tgz", StringComparison.Ordinal))
            {
                var file = File.OpenRead(archive);
                await using (file.ConfigureAwait(false))
                {
                    var gzip = new GZipStream(file, CompressionMode.Decompress);
                    await using (gzip.ConfigureAwait(false))
                    {
                        return await ExtractTarAsync(gzip, archive, root, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (name.EndsWith(".tar", StringComparison.Ordinal))
            {
                var file = File.OpenRead(archive);
                await using (file.ConfigureAwait(false))
                {
                    return await ExtractTarAsync(file, archive, root, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new SwarmException($"{archive} is not a readable archive: {e.Message}", e);
        }

        throw new SwarmException($"{archive}: cannot tell the archive format from its name; EXTRACT takes .tar, .tar.gz, .tgz or .zip");
    }

    private static async Task<int> ExtractTarAsync(Stream stream, string archive, string root, CancellationToken cancellationToken)
    {
        var count = 0;
        var reader = new TarReader(stream);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var target = Inside(root, entry.Name, archive);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        await entry.ExtractToFileAsync(target, overwrite: true, cancellationToken).ConfigureAwait(false);
                        count++;
                        break;
                    case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                        // A link is followed later by whoever reads the content: its target must stay inside too.
                        var linkTarget = entry.EntryType == TarEntryType.HardLink
                            ? Inside(root, entry.LinkName, archive)
                            : Inside(root, Path.Combine(Path.GetDirectoryName(entry.Name) ?? string.Empty, entry.LinkName), archive, entry.Name);
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        if (File.Exists(target) || new FileInfo(target).LinkTarget is not null)
                        {
                            File.Delete(target);
                        }

                        if (entry.EntryType == TarEntryType.HardLink)
                        {
                            File.Copy(linkTarget, target);
                        }
                        else
                        {
                            File.CreateSymbolicLink(target, entry.LinkName);
                        }

                        count++;
                        break;
                    default:
                        // Headers (pax, GNU long names) are read by TarReader itself; devices and fifos are not content.
                        break;
                }
            }
        }

        return count;
    }

    private static int ExtractZip(string archive, string root)
    {
        using var zip = ZipFile.OpenRead(archive);

        // Every entry is checked before the first is written: a refused archive leaves nothing half-extracted.
        var entries = zip.Entries.Select(e => (Entry: e, Target: Inside(root, e.FullName, archive))).ToList();
        var count = 0;
        foreach (var (entry, target) in entries)
        {
            if (entry.FullName.EndsWith('/'))
            {
                Directory.CreateDirectory(target);
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target, overwrite: true);
            count++;
        }

        return count;
    }

    /// <summary>The full path of <paramref name="entry"/> under <paramref name="root"/>; refuses one outside it.</summary>
    private static string Inside(string root, string entry, string archive, string? linkOf = null)
    {
        var full = Path.GetFullPath(Path.Combine(root, entry));
        if (Path.IsPathRooted(entry) || (full != root && !full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
        {
            throw new SwarmException(linkOf is null
                ? $"{archive}: the entry '{entry}' would be written outside {root} (path traversal); nothing more is extracted. Rebuild the archive with paths relative to its top"
                : $"{archive}: the link '{linkOf}' points outside {root} (to '{entry}'); nothing more is extracted");
        }

        return full;
    }
}
