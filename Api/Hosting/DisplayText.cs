using System.Globalization;
using System.Text;

namespace GovSg.Hosting;

/// <summary>Text that agencies set and others see: on operators' terminals (<c>admin</c>) and agencies' pages.</summary>
public static class DisplayText
{
    /// <summary>
    /// Controls, and the characters that show nothing or break the line: C0 and C1 controls; format characters (the
    /// bidirectional controls, where U+202E would show the text reversed or reorder what follows it on the line, and the
    /// invisible ones, such as zero-width spaces, the soft hyphen and tag characters, with which one label can pass for
    /// another); and the line and paragraph separators.
    /// </summary>
    public static bool HasControlCharacters(string text) =>
        text.EnumerateRunes().Any(rune => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
}
