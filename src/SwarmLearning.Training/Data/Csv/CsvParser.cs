using System.Text;

namespace SwarmLearning.Training.Data.Csv;

/// <summary>One field of a CSV record: its content's byte range (inside the quotes, for a quoted field) and where it starts.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
internal readonly record struct CsvField(int Start, int End, bool Quoted, bool HasEscapedQuotes, int Line, int LineStart, int Offset);

/// <summary>A record's raw byte range (without its line ending) and the line it starts on.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
internal readonly record struct CsvRecord(int Start, int End, int Line);

/// <summary>
/// Splits UTF-8 CSV bytes into records and fields by RFC 4180: comma separators; records end at LF or CRLF; a field
/// in double quotes may hold commas, line breaks and doubled quotes (<c>""</c>). A leading UTF-8 byte-order mark
/// is skipped. Errors (an unterminated quote, a stray quote) name the file, line and column.
/// </summary>
internal sealed class CsvParser
{
    private readonly byte[] _bytes;
    private readonly string _source;
    private int _position;
    private int _line = 1;
    private int _lineStart;
    private bool _sawLineEnding;

    public CsvParser(byte[] bytes, string source)
    {
        _bytes = bytes;
        _source = source;
        if (bytes is [0xEF, 0xBB, 0xBF, ..])
        {
            _position = _lineStart = 3;
        }
    }

    /// <summary>The line ending of the first record: CRLF or LF (LF when the first record has none).</summary>
    public string FirstLineEnding { get; private set; } = "\n";

    public byte[] Bytes => _bytes;

    /// <summary>True when everything left is line endings (trailing empty lines) or nothing.</summary>
    public bool AtEndIgnoringBlankLines()
    {
        for (var p = _position; p < _bytes.Length; p++)
        {
            if (_bytes[p] is not (byte)'\n' and not (byte)'\r')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads the next record's fields into <paramref name="fields"/>; false at the end of the data.</summary>
    public bool Next(List<CsvField> fields, out CsvRecord record)
    {
        fields.Clear();
        if (_position >= _bytes.Length)
        {
            record = default;
            return false;
        }

        var recordStart = _position;
        var recordLine = _line;
        while (true)
        {
            var field = ReadField();
            fields.Add(field);
            if (_position >= _bytes.Length)
            {
                record = new CsvRecord(recordStart, _bytes.Length, recordLine);
                return true;
            }

            var b = _bytes[_position];
            if (b == (byte)',')
            {
                _position++;
                continue;
            }

            // ReadField stops only at a comma, a line ending or the end.
            var crlf = b == (byte)'\r';
            record = new CsvRecord(recordStart, _position, recordLine);
            if (!_sawLineEnding)
            {
                FirstLineEnding = crlf ? "\r\n" : "\n";
                _sawLineEnding = true;
            }

            _position += crlf ? 2 : 1;
            _line++;
            _lineStart = _position;
            return true;
        }
    }

    /// <summary>The 1-based character column of byte <paramref name="offset"/> on a line starting at <paramref name="lineStart"/>.</summary>
    public int ColumnOf(int lineStart, int offset) => Encoding.UTF8.GetCharCount(_bytes, lineStart, offset - lineStart) + 1;

    /// <summary>The text of a field: quotes removed and doubled quotes undone.</summary>
    public string Text(CsvField field)
    {
        var text = Encoding.UTF8.GetString(_bytes, field.Start, field.End - field.Start);
        return field.HasEscapedQuotes ? text.Replace("\"\"", "\"", StringComparison.Ordinal) : text;
    }

    private CsvField ReadField()
    {
        var line = _line;
        var lineStart = _lineStart;
        var offset = _position;
        if (_position < _bytes.Length && _bytes[_position] == (byte)'"')
        {
            return ReadQuoted(line, lineStart, offset);
        }

        var start = _position;
        while (_position < _bytes.Length)
        {
            var b = _bytes[_position];
            if (b == (byte)',' || b == (byte)'\n' || (b == (byte)'\r' && _position + 1 < _bytes.Length && _bytes[_position + 1] == (byte)'\n'))
            {
                break;
            }

            if (b == (byte)'"')
            {
                throw new DataFormatException(_source, line, ColumnOf(lineStart, _position), "a double quote inside an unquoted field; enclose the whole field in double quotes and double the quote (\"\")");
            }

            _position++;
        }

        return new CsvField(start, _position, Quoted: false, HasEscapedQuotes: false, line, lineStart, offset);
    }

    private CsvField ReadQuoted(int line, int lineStart, int offset)
    {
        _position++;
        var start = _position;
        var escaped = false;
        while (true)
        {
            if (_position >= _bytes.Length)
            {
                throw new DataFormatException(_source, line, ColumnOf(lineStart, offset), "a quoted field is never closed: the file ends inside it; add the closing double quote");
            }

            var b = _bytes[_position];
            if (b == (byte)'"')
            {
                if (_position + 1 < _bytes.Length && _bytes[_position + 1] == (byte)'"')
                {
                    escaped = true;
                    _position += 2;
                    continue;
                }

                var end = _position;
                _position++;
                if (_position < _bytes.Length && _bytes[_position] is not ((byte)',' or (byte)'\n')
                    && !(_bytes[_position] == (byte)'\r' && _position + 1 < _bytes.Length && _bytes[_position + 1] == (byte)'\n'))
                {
                    throw new DataFormatException(_source, _line, ColumnOf(_lineStart, _position), "text after the closing double quote of a quoted field; a quoted field ends at a comma or the end of the line (write \"\" for a quote inside it)");
                }

                return new CsvField(start, end, Quoted: true, escaped, line, lineStart, offset);
            }

            if (b == (byte)'\n')
            {
                _line++;
                _lineStart = _position + 1;
            }

            _position++;
        }
    }
}
