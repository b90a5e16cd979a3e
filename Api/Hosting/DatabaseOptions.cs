using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace GovSg.Hosting;

internal sealed class DatabaseOptions : IValidatableObject
{
    public const string SectionName = "ConnectionStrings";

    [Required(ErrorMessage = "ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is required.")]
    public string Postgres { get; set; } = "";

    /// <summary>
    /// A connection string Npgsql cannot use (a misspelt keyword, a port that is not a number, no host, a maximum pool
    /// smaller than the minimum) is refused at start, as a missing one is, rather than failing the first statement or
    /// the start with an unhandled exception. It is checked by building a data source from it, which connects to nothing.
    /// Npgsql's own messages name the keyword, never its value.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? refusal = null;
        try
        {
            using var _ = new NpgsqlDataSourceBuilder(Postgres).Build();
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            refusal = exception.Message;
        }

        if (refusal is not null)
        {
            yield return new ValidationResult(
                $"ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is not a connection string Npgsql can use: {refusal}",
                [nameof(Postgres)]);
        }
    }
}
