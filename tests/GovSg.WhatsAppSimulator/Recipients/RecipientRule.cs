using GovSg.WhatsAppSimulator.Webhooks;

namespace GovSg.WhatsAppSimulator.Recipients;

/// <summary>What the simulator does differently for one recipient.</summary>
internal sealed class RecipientRule(
    SendFailure? sendFailure,
    int? failTimes,
    int extraDelayMs,
    WebhookMode webhooks,
    int webhookErrorCode)
{
    private int _failuresLeft = failTimes ?? 0;

    public int ExtraDelayMs { get; } = extraDelayMs;

    public WebhookMode Webhooks { get; } = webhooks;

    /// <summary>The error code of the <c>failed</c> status in <see cref="WebhookMode.Failed"/>.</summary>
    public int WebhookErrorCode { get; } = webhookErrorCode;

    /// <summary>The failure this send gets, if any; with <c>fail_times</c> n, only the first n sends fail.</summary>
    public SendFailure? NextSendFailure()
    {
        if (sendFailure is null || failTimes is null)
        {
            return sendFailure;
        }

        // The read keeps the counter from wrapping around however many sends follow.
        return Volatile.Read(ref _failuresLeft) > 0 && Interlocked.Decrement(ref _failuresLeft) >= 0 ? sendFailure : null;
    }
}
