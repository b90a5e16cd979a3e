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
    /// another); the line and paragraph separators; and the other characters Unicode names default-ignorable, which
    /// show nothing either though they are letters or marks (the Hangul fillers, the combining grapheme joiner, the
    /// variation selectors).
    /// </summary>
    public static bool HasControlCharacters(string text) =>
        text.EnumerateRunes().Any(rune => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator || IsIgnorableLetterOrMark(rune.Value));

    private static bool IsIgnorableLetterOrMark(int value) =>
        value is 0x034F or 0x115F or 0x1160 or 0x3164 or 0xFFA0 or (>= 0x17B4 and <= 0x17B5) or (>= 0x180B and <= 0x180F)
            or (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF);
}
