namespace GovSg.LoadGenerator.Reads;

/// <summary>One documented query of <c>GET /v1/transactional/govsg</c> (SPEC §3.4), with its query string.</summary>
internal sealed record ReadShape(string Name, string Query)
{
    private static readonly string[] Statuses = ["UNSENT", "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR"];
    private static readonly string[] Operators = ["gt", "gte", "lt", "lte"];
    private static readonly string[] Sorts = ["+created_at", "-created_at", "+updated_at", "-updated_at"];

    /// <summary>Every shape the contract documents; dates are relative to <paramref name="now"/>, inside the seeded 90 days.</summary>
    public static IReadOnlyList<ReadShape> All(DateTime now)
    {
        string DaysAgo(int days) => now.AddDays(-days).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);

        var shapes = new List<ReadShape> { new("default (10, newest first)", "") };
        shapes.AddRange(Statuses.Select(status => Of($"status={status}", ("status", status))));
        shapes.AddRange(Operators.Select(op => Of($"created_at[{op}] 30 days ago", ($"created_at[{op}]", DaysAgo(30)))));
        shapes.Add(Of("created_at 60 to 30 days ago", ("created_at[gte]", DaysAgo(60)), ("created_at[lt]", DaysAgo(30))));
        shapes.Add(Of("created_at one day, 45 days ago", ("created_at[gte]", DaysAgo(45)), ("created_at[lt]", DaysAgo(44))));
        shapes.AddRange(Sorts.Select(sort => Of($"sort_by={sort}", ("sort_by", sort))));
        shapes.Add(Of("status=DELIVERED, sort_by=+created_at, limit=100",
            ("status", "DELIVERED"), ("sort_by", "+created_at"), ("limit", "100")));
        // A status with no rows and one with few, each sorted by updated_at: there is no (status, updated_at) index.
        shapes.Add(Of("status=UNSENT, sort_by=-updated_at", ("status", "UNSENT"), ("sort_by", "-updated_at")));
        shapes.Add(Of("status=ERROR, sort_by=+updated_at", ("status", "ERROR"), ("sort_by", "+updated_at")));
        shapes.Add(Of("status=ERROR, created_at 60 to 30 days ago, offset=1000", ("status", "ERROR"),
            ("created_at[gte]", DaysAgo(60)), ("created_at[lt]", DaysAgo(30)), ("offset", "1000")));
        shapes.Add(Of("limit=1000", ("limit", "1000")));
        shapes.Add(Of("offset=1000", ("offset", "1000")));
        shapes.Add(Of("offset=10000", ("offset", "10000")));
        return shapes;
    }

    // Escaped so that '+' arrives as '+' (%2B) rather than as a space, and the brackets as they are.
    private static ReadShape Of(string name, params (string Key, string Value)[] parameters) =>
        new(name, string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}")));
}
