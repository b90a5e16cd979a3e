using GovSg.WhatsAppSimulator.Webhooks;

namespace GovSg.WhatsAppSimulator.Recipients;

/// <summary>What the simulator does differently for one recipient.</summary>
internal sealed class RecipientRule(
    SendFailure? sendFailure,
    int? failTimes,
    int extraDelayMs,
    int? delayTimes,
    WebhookMode webhooks,
    int webhookErrorCode)
{
    private int _failuresLeft = failTimes ?? 0;
    private int _delaysLeft = delayTimes ?? 0;

    public WebhookMode Webhooks { get; } = webhooks;

    /// <summary>The error code of the <c>failed</c> status in <see cref="WebhookMode.Failed"/>.</summary>
    public int WebhookErrorCode { get; } = webhookErrorCode;

    /// <summary>The failure this send gets, if any; with <c>fail_times</c> n, only the first n sends fail.</summary>
    public SendFailure? NextSendFailure() =>
        sendFailure is null || failTimes is null || TakeOne(ref _failuresLeft) ? sendFailure : null;

    /// <summary>
    /// How much later than usual this send is answered, whatever the answer; with <c>delay_times</c> n, only the first
    /// n sends are late. A caller that times out meanwhile has still had an accepted send accepted.
    /// </summary>
    public int NextExtraDelayMs() => delayTimes is null || TakeOne(ref _delaysLeft) ? extraDelayMs : 0;

    // The read keeps the counter from wrapping around however many sends follow.
    private static bool TakeOne(ref int left) => Volatile.Read(ref left) > 0 && Interlocked.Decrement(ref left) >= 0;
}
