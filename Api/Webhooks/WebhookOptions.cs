using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Webhooks;

public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>The token Meta echoes in the verification handshake.</summary>
    [Required(ErrorMessage = "Webhooks:VerifyToken (env Webhooks__VerifyToken) is required.")]
    public string VerifyToken { get; set; } = "";

    /// <summary>The app secret(s) webhooks are signed with; two during a rotation.</summary>
    [Required, MinLength(1, ErrorMessage = "Webhooks:AppSecrets needs at least one secret (env Webhooks__AppSecrets__0)."),
     MaxLength(2, ErrorMessage = "Webhooks:AppSecrets takes at most two secrets (old and new, while rotating).")]
    public string[] AppSecrets { get; set; } = [];

    /// <summary>Our WhatsApp phone number id; statuses for any other number are ignored.</summary>
    [Required(ErrorMessage = "Webhooks:PhoneNumberId is required.")]
    public string PhoneNumberId { get; set; } = "";

    /// <summary>How long to wait for the broker to confirm the statuses before answering 503 so Meta retries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
