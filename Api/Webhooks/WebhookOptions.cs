using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.Webhooks;

public sealed class WebhookOptions : IValidatableObject
{
    public const string SectionName = "Webhooks";

    /// <summary>
    /// The shortest app secret or verify token accepted at start (SPEC §9.1): anyone who guesses the app secret can
    /// sign webhooks. Meta's app secrets are 32 hex digits; a verify token is ours to choose.
    /// </summary>
    public const int MinSecretLength = 16;

    /// <summary>The token Meta echoes in the verification handshake.</summary>
    [Required(ErrorMessage = "Webhooks:VerifyToken (env Webhooks__VerifyToken) is required.")]
    [MinLength(MinSecretLength, ErrorMessage = "Webhooks:VerifyToken must be at least 16 characters.")]
    public string VerifyToken { get; set; } = "";

    /// <summary>The app secret(s) webhooks are signed with; two during a rotation.</summary>
    [Required, MinLength(1, ErrorMessage = "Webhooks:AppSecrets needs at least one secret (env Webhooks__AppSecrets__0)."),
     MaxLength(2, ErrorMessage = "Webhooks:AppSecrets takes at most two secrets (old and new, while rotating).")]
    public string[] AppSecrets { get; set; } = [];

    /// <summary>Our WhatsApp phone number id; statuses for any other number are ignored.</summary>
    [Required(ErrorMessage = "Webhooks:PhoneNumberId (env Webhooks__PhoneNumberId) is required.")]
    [RegularExpression("^[0-9]{1,32}$", ErrorMessage = "Webhooks:PhoneNumberId must be the sender number's id from WhatsApp Manager (digits).")]
    public string PhoneNumberId { get; set; } = "";

    /// <summary>
    /// How long a webhook's body may take to arrive once its signature header has passed the shape check: anyone can
    /// write a header of the right shape, and a body that trickles in holds its buffer (up to 1 MiB) while it does.
    /// Meta's arrive at once; a late one is refused and delivered again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the broker to confirm the statuses before answering 503 so Meta retries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the first webhook waiting to be published waits for others to share its publish (StatusPublisher). Zero,
    /// the default, publishes at once whatever queued up while the previous publish was confirmed. A window adds its
    /// length to every answer, so a sender holding c webhooks in flight gets at most c per window through: only for a
    /// sender known to hold many (Meta's concurrency is not documented). Meta expects a median under 250 ms (SPEC §6).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:00.200")]
    public TimeSpan PublishWindow { get; set; } = TimeSpan.Zero;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < AppSecrets.Length; i++)
        {
            if (AppSecrets[i] is not { Length: >= MinSecretLength })
            {
                yield return new ValidationResult(
                    $"Webhooks:AppSecrets:{i} (env Webhooks__AppSecrets__{i}) must be at least {MinSecretLength} characters.",
                    [nameof(AppSecrets)]);
            }
        }
    }
}
