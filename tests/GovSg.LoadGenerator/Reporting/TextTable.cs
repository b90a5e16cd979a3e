namespace GovSg.LoadGenerator.Reporting;

/// <summary>
/// A plain-text table: the first column left-aligned, the others right-aligned, a rule under the header. A section is a
/// row of its own, printed across the columns.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private const string Gap = "  ";

    private readonly List<string[]> _rows = [];

    public void Section(string title) => _rows.Add([title]);

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"a row needs {headers.Length} cells", nameof(cells));
        }

        _rows.Add(cells);
    }

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select((header, column) =>
            _rows.Where(row => row.Length == headers.Length).Select(row => row[column].Length).Append(header.Length).Max()).ToArray();
        output.WriteLine(Line(headers, widths));
        output.WriteLine(string.Join(Gap, widths.Select(width => new string('-', width))));
        foreach (var row in _rows)
        {
            output.WriteLine(row.Length == headers.Length ? Line(row, widths) : row[0]);
        }

        output.WriteLine();
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join(Gap, cells.Select((cell, column) => column == 0 ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column]))).TrimEnd();
}
