using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace GovSg.Tests.Deploy;

/// <summary>
/// deploy/SETTINGS.md, the operators' reference, against the options classes: a setting renamed, added, or given
/// another default or range shows here instead of in an incident.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    [Test]
    public void SettingsReference_ListsEverySettingOfBothServices_WithItsDefaultAndRange()
    {
        var documented = SettingsRows().ToDictionary(row => row.Name);
        var actual = new Dictionary<string, (string ReadBy, string Default, string Range)>();
        foreach (var project in new[] { "Api", "Dispatcher" })
        {
            foreach (var (name, setting) in SettingsOf(ProjectAssemblies[project]))
            {
                actual[name] = actual.TryGetValue(name, out var seen) ? seen with { ReadBy = "both" } : setting with { ReadBy = project };
            }
        }

        Assert.That(documented.Keys, Is.EquivalentTo(actual.Keys), "the settings SETTINGS.md lists are the ones the services read");
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, want) in actual)
            {
                Assert.That(documented.TryGetValue(name, out var row) ? (row.ReadBy, row.Default, row.Range) : default, Is.EqualTo(want), name);
            }
        }
    }

    /// <summary>The table's rows: name (an array's first index dropped), read by, default and range cells.</summary>
    private static IEnumerable<(string Name, string ReadBy, string Default, string Range)> SettingsRows() =>
        File.ReadLines(RepoPath("deploy", "SETTINGS.md"))
            .Select(line => SettingsRow().Match(line))
            .Where(match => match.Success)
            .Select(match => (match.Groups["name"].Value, match.Groups["by"].Value, match.Groups["default"].Value.Trim(),
                match.Groups["range"].Value.Trim()));

    /// <summary>Each settable option of an assembly's options classes, with its default and range as the table writes them.</summary>
    private static IEnumerable<(string Name, (string ReadBy, string Default, string Range) Setting)> SettingsOf(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes())
        {
            if (type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is not { IsLiteral: true } field)
            {
                continue;
            }

            var defaults = Activator.CreateInstance(type);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var value = property.GetValue(defaults);
                var text = value switch
                {
                    null or "" or Array { Length: 0 } => property.GetCustomAttribute<RequiredAttribute>() is null ? "(none)" : "(required)",
                    bool flag => flag ? "`true`" : "`false`",
                    TimeSpan time => $"`{time:c}`",
                    _ => $"`{Convert.ToString(value, CultureInfo.InvariantCulture)}`",
                };
                var range = property.GetCustomAttribute<System.ComponentModel.DataAnnotations.RangeAttribute>() is { } r
                    ? $"`{Convert.ToString(r.Minimum, CultureInfo.InvariantCulture)}`–`{Convert.ToString(r.Maximum, CultureInfo.InvariantCulture)}`"
                    : "";
                yield return ($"{field.GetRawConstantValue()}__{property.Name}", ("", text, range));
            }
        }
    }

    [GeneratedRegex(@"^\| `(?<name>[A-Za-z]+__[A-Za-z]+)(__0)?` \| (?<by>[^|]+) \| (?<default>[^|]+) \| (?<range>[^|]*) \|")]
    private static partial Regex SettingsRow();
}
