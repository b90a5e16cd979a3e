using System.ComponentModel.DataAnnotations;

namespace GovSg.WhatsAppSimulator;

/// <summary>Start-up configuration, section <c>Simulator</c>; the defaults live in appsettings.json.</summary>
internal sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>The bearer token the send endpoint accepts.</summary>
    [Required]
    public string AccessToken { get; set; } = "";

    /// <summary>The only business phone number id the send endpoint knows.</summary>
    [Required]
    public string PhoneNumberId { get; set; } = "";

    [Required]
    public string DisplayPhoneNumber { get; set; } = "";

    /// <summary>The WhatsApp Business Account id, sent as <c>entry[].id</c> in webhooks.</summary>
    [Required]
    public string BusinessAccountId { get; set; } = "";

    /// <summary>The key of the webhooks' <c>X-Hub-Signature-256</c> HMAC.</summary>
    [Required]
    public string AppSecret { get; set; } = "";

    /// <summary>
    /// Whether webhooks echo a send's <c>biz_opaque_callback_data</c>, as Meta does; off, the simulator is a provider
    /// that never echoes it, and a sender cannot reconcile a call whose answer it missed.
    /// </summary>
    public bool EchoOpaqueData { get; set; } = true;

    /// <summary>Where status webhooks go; empty sends none until <c>PUT /_sim/settings</c> sets one.</summary>
    public string WebhookUrl { get; set; } = "";

    /// <summary>A JSON file in the format of deploy/local/templates.json; relative paths start at the content root.</summary>
    [Required]
    public string TemplatesFile { get; set; } = "";

    [Range(0, 600_000)]
    public int LatencyMs { get; set; }

    /// <summary>Accepted sends per second before 130429; 0 means unlimited.</summary>
    [Range(0, 1_000_000)]
    public int MessagesPerSecond { get; set; }

    /// <summary>The fraction of valid sends answered with a transient 131000.</summary>
    [Range(0.0, 1.0)]
    public double ErrorRate { get; set; }

    /// <summary>
    /// The fraction of sends answered <see cref="LateMs"/> later than usual, whatever the answer: a caller whose timeout
    /// is shorter gives up on calls that were accepted all the same.
    /// </summary>
    [Range(0.0, 1.0)]
    public double LateRate { get; set; }

    [Range(0, 600_000)]
    public int LateMs { get; set; }

    [Range(0, 86_400_000)]
    public int SentDelayMs { get; set; }

    [Range(0, 86_400_000)]
    public int DeliveredDelayMs { get; set; }

    [Range(0, 86_400_000)]
    public int ReadDelayMs { get; set; }

    /// <summary>The most statuses one webhook POST carries.</summary>
    [Range(1, 10_000)]
    public int WebhookMaxBatch { get; set; }

    /// <summary>The most webhook POSTs in flight at once.</summary>
    [Range(1, 1_000)]
    public int WebhookConcurrency { get; set; }

    [Range(1, 600_000)]
    public int WebhookTimeoutMs { get; set; }

    /// <summary>The wait before the first redelivery of an unacknowledged webhook; each later wait doubles.</summary>
    [Range(1, 3_600_000)]
    public int WebhookRetryInitialDelayMs { get; set; }

    /// <summary>How long after its first attempt a webhook is still redelivered (Meta keeps trying for days).</summary>
    [Range(0, 604_800_000)]
    public int WebhookRetryBudgetMs { get; set; }

    /// <summary>How many accepted sends <c>GET /_sim/sends</c> remembers; older ones are forgotten.</summary>
    [Range(1, 10_000_000)]
    public int SendHistoryLimit { get; set; }
}
