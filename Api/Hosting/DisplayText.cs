namespace GovSg.Hosting;

/// <summary>Text that agencies set and others see: on operators' terminals (<c>admin</c>) and agencies' pages.</summary>
public static class DisplayText
{
    /// <summary>
    /// C0 and C1 controls, and the bidirectional controls (marks, embeddings, overrides, isolates): U+202E would show the
    /// text reversed, or reorder what follows it on the line.
    /// </summary>
    public static bool HasControlCharacters(string text) =>
        text.Any(c => char.IsControl(c)
                      || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));
}
