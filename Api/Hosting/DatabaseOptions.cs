using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace GovSg.Hosting;

internal sealed class DatabaseOptions : IValidatableObject
{
    public const string SectionName = "ConnectionStrings";

    [Required(ErrorMessage = "ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is required.")]
    public string Postgres { get; set; } = "";

    /// <summary>
    /// A connection string Npgsql cannot read (a misspelt keyword, a port that is not a number) is refused at start, as a
    /// missing one is, rather than failing the first statement. Npgsql's own message names the keyword, never its value.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? refusal = null;
        try
        {
            _ = new NpgsqlConnectionStringBuilder(Postgres);
        }
        catch (ArgumentException exception)
        {
            refusal = exception.Message;
        }

        if (refusal is not null)
        {
            yield return new ValidationResult(
                $"ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is not a connection string Npgsql reads: {refusal}",
                [nameof(Postgres)]);
        }
    }
}
