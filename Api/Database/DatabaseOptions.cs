using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Database;

public sealed class DatabaseOptions
{
    public const string SectionName = "ConnectionStrings";

    [Required(ErrorMessage = "ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is required.")]
    public string Postgres { get; set; } = "";
}
