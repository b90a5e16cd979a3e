namespace GovSg.LoadGenerator.Reporting;

/// <summary>
/// A plain-text table: the first column left-aligned, the others right-aligned, a rule under the header. A row may leave
/// its last cells out; a section title is printed across the columns.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private const string Gap = "  ";

    private readonly List<(string[] Cells, bool IsSection)> _rows = [];

    public void Section(string title) => _rows.Add(([title], true));

    public void Add(params string[] cells)
    {
        if (cells.Length > headers.Length)
        {
            throw new ArgumentException($"a row has at most {headers.Length} cells", nameof(cells));
        }

        _rows.Add(([.. cells, .. Enumerable.Repeat("", headers.Length - cells.Length)], false));
    }

    public void WriteTo(TextWriter output)
    {
        var cells = _rows.Where(row => !row.IsSection).Select(row => row.Cells).Prepend(headers).ToList();
        var widths = headers.Select((_, column) => cells.Max(row => row[column].Length)).ToArray();
        output.WriteLine(Line(headers, widths));
        output.WriteLine(string.Join(Gap, widths.Select(width => new string('-', width))));
        foreach (var (row, isSection) in _rows)
        {
            output.WriteLine(isSection ? row[0] : Line(row, widths));
        }

        output.WriteLine();
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join(Gap, cells.Select((cell, column) => column == 0 ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column]))).TrimEnd();
}
