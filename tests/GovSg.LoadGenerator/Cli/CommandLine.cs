using System.Globalization;

namespace GovSg.LoadGenerator.Cli;

/// <summary>
/// <c>&lt;verb&gt; --name value --flag ...</c>. A repeated option takes its last value, so a script's defaults can be
/// overridden by appending options. Options nobody reads are refused, so a typo never silently runs the wrong benchmark.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private CommandLine(string verb) => Verb = verb;

    public string Verb { get; }

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException("name a verb first: send, drain, discard, ceilings, reads or cpu");
        }

        var line = new CommandLine(args[0]);
        for (var i = 1; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || args[i].Length == 2)
            {
                throw new UsageException($"unexpected argument '{args[i]}'");
            }

            var hasValue = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            line._values[args[i][2..]] = hasValue ? args[++i] : null;
        }

        return line;
    }

    public string? String(string name) => Read(name, out var value) ? value ?? throw Missing(name) : null;

    public bool Flag(string name) =>
        Read(name, out var value) && (value is null ? true : throw new UsageException($"--{name} takes no value"));

    public int? Int(string name, int min, int max)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
               && value >= min && value <= max
            ? value
            : throw new UsageException($"--{name} must be a whole number from {min} to {max}");
    }

    /// <summary><c>500ms</c>, <c>20s</c>, <c>5m</c>, <c>1h</c>; a bare number is seconds.</summary>
    public TimeSpan? Duration(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        var (number, unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], TimeSpan.FromMilliseconds(1)),
            _ when text.EndsWith('s') => (text[..^1], TimeSpan.FromSeconds(1)),
            _ when text.EndsWith('m') => (text[..^1], TimeSpan.FromMinutes(1)),
            _ when text.EndsWith('h') => (text[..^1], TimeSpan.FromHours(1)),
            _ => (text, TimeSpan.FromSeconds(1)),
        };
        return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count)
            ? unit * count
            : throw new UsageException($"--{name} must be a duration such as 500ms, 20s, 5m or 1h");
    }

    /// <summary>Refuses the options no part of the chosen verb asked for.</summary>
    public void EnsureAllRead()
    {
        var unknown = _values.Keys.Where(key => !_read.Contains(key)).Select(key => $"--{key}").ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"'{Verb}' does not take {string.Join(", ", unknown)}");
        }
    }

    private bool Read(string name, out string? value)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out value);
    }

    private static UsageException Missing(string name) => new($"--{name} needs a value");
}
