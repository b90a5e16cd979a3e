using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Database;

public sealed class DatabaseLimitOptions
{
    public const string SectionName = "Database";

    /// <summary>
    /// PostgreSQL's <c>statement_timeout</c> for every statement the Api runs (SPEC §7): a request's database work is
    /// bounded, so a slow query or a lock held elsewhere ends in 503 instead of holding the request and a pooled
    /// connection. Zero turns it off; operator commands (<c>migrate</c>, <c>admin</c>) run without it unless it is set.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
