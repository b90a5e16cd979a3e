using System.ComponentModel.DataAnnotations;

namespace GovSg.Hosting;

internal sealed class DatabaseOptions
{
    public const string SectionName = "ConnectionStrings";

    [Required(ErrorMessage = "ConnectionStrings:Postgres (env ConnectionStrings__Postgres) is required.")]
    public string Postgres { get; set; } = "";
}
