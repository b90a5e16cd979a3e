using System.ComponentModel.DataAnnotations;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Where and how the Dispatcher calls the WhatsApp Cloud API. Pointing it at Meta instead of the simulator is a
/// change of <see cref="BaseUrl"/>, <see cref="PhoneNumberId"/> and <see cref="AccessToken"/> only.
/// </summary>
public sealed class WhatsAppOptions : IValidatableObject
{
    public const string SectionName = "WhatsApp";

    /// <summary>https://graph.facebook.com/ in production; the simulator's address locally.</summary>
    [Required] public Uri BaseUrl { get; set; } = new("https://graph.facebook.com/");

    /// <summary>
    /// Lets <see cref="BaseUrl"/> be plain http, for the local run and tests against the simulator only: the access
    /// token travels with every call, so production must use https (SPEC §9.1).
    /// </summary>
    public bool AllowInsecureBaseUrl { get; set; }

    [Required, RegularExpression(@"^v\d+\.\d+$")] public string ApiVersion { get; set; } = "v21.0";

    /// <summary>The sender number's id; the one every call goes to, so a placeholder refuses to start.</summary>
    [Required(ErrorMessage = "WhatsApp:PhoneNumberId (env WhatsApp__PhoneNumberId) is required.")]
    [RegularExpression("^[0-9]{1,32}$", ErrorMessage = "WhatsApp:PhoneNumberId must be the sender number's id from WhatsApp Manager (digits).")]
    public string PhoneNumberId { get; set; } = "";

    [Required(ErrorMessage = "WhatsApp:AccessToken (env WhatsApp__AccessToken) is required.")]
    public string AccessToken { get; set; } = "";

    /// <summary>
    /// A provider call's limit. At most 20 s: a stopping Dispatcher finishes its calls within its 30 s shutdown (and the
    /// 45 s grace period of its pod), and a call it must abandon becomes a reconciliation hold.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:20")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The WhatsApp number's throughput limit (80/s by default, up to 1,000/s once upgraded), shared by every dispatcher
    /// through one pace schedule in PostgreSQL (<c>provider_pace</c>).
    /// </summary>
    [Range(1, 100_000)] public int MessagesPerSecond { get; set; } = 80;

    /// <summary>
    /// Provider calls in flight at once, in batches of up to 50 commands, this ÷ 50 batches at a time (at least 2); the
    /// commands that wait while every batch is under way form the next, fuller ones. Throughput is at most this ÷ the
    /// provider's latency (1,000 at 300 ms is 3,300/s), so it must cover the number's limit with room for slow answers;
    /// the pace above still applies. Batch commands (<c>SendMessages</c>) run as many batches of their own beside
    /// these. More costs CPU at every rate: the Dispatcher holds twice this many commands fetched and consumed at once.
    /// </summary>
    [Range(1, 10_000)] public int MaxConcurrentSends { get; set; } = 1_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!BaseUrl.IsAbsoluteUri)
        {
            yield return new ValidationResult($"WhatsApp:BaseUrl must be an absolute https URL, not \"{BaseUrl}\".", [nameof(BaseUrl)]);
        }
        else if (BaseUrl.Scheme != Uri.UriSchemeHttps && !(AllowInsecureBaseUrl && BaseUrl.Scheme == Uri.UriSchemeHttp))
        {
            yield return new ValidationResult(
                "WhatsApp:BaseUrl must be https (WhatsApp:AllowInsecureBaseUrl=true allows http for local runs only).",
                [nameof(BaseUrl)]);
        }
    }
}
