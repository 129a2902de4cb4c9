using System.Text;

namespace SwarmLearning.Operator.Execution;

/// <summary>
/// Splits HPE's <c>Command</c> into words as a shell would for plain words and quotes ('…' literally, "…" with \"
/// and \\), without expansions: a container runtime passes CMD words to the entrypoint the same way.
/// </summary>
internal static class CommandWords
{
    public static List<string> Split(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c is '\'' or '"')
            {
                var close = i + 1;
                while (close < command.Length && command[close] != c)
                {
                    if (c == '"' && command[close] == '\\' && close + 1 < command.Length && command[close + 1] is '"' or '\\')
                    {
                        close++;
                    }

                    word.Append(command[close]);
                    close++;
                }

                if (close >= command.Length)
                {
                    throw new FormatException($"Body.Command: the quote {c} opened at character {i + 1} is not closed");
                }

                i = close;
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
