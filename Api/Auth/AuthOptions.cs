using System.ComponentModel.DataAnnotations;
using System.Text;

namespace GovSg.Api.Auth;

public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The server-side secret every key hash is keyed with. Never in the repository: set Auth__KeyPepper.</summary>
    [Required(ErrorMessage = "Auth:KeyPepper (env Auth__KeyPepper) is required: a random secret of at least 32 characters.")]
    [MinLength(32, ErrorMessage = "Auth:KeyPepper must be at least 32 characters.")]
    public string KeyPepper { get; set; } = "";

    /// <summary>How long a verified key is trusted before it is looked up again; bounds how late a revocation bites.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a key id that was not found is answered 401 without asking the database again (SPEC §7). Key ids are
    /// random, so a real key is never created under an id remembered here; zero turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan UnknownKeyCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    public byte[] PepperBytes => Encoding.UTF8.GetBytes(KeyPepper);
}
