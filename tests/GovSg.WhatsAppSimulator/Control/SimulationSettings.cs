namespace GovSg.WhatsAppSimulator.Control;

/// <summary>
/// The knobs tests and benchmarks turn while the simulator runs (<c>PUT /_sim/settings</c>); each request reads one
/// snapshot, so a change never splits a request between old and new values.
/// </summary>
internal sealed record SimulationSettings(
    int LatencyMs,
    int MessagesPerSecond,
    double ErrorRate,
    int SentDelayMs,
    int DeliveredDelayMs,
    int ReadDelayMs,
    string WebhookUrl,
    bool EchoOpaqueData,
    double LateRate,
    int LateMs)
{
    public static SimulationSettings From(SimulatorOptions options) => new(
        options.LatencyMs,
        options.MessagesPerSecond,
        options.ErrorRate,
        options.SentDelayMs,
        options.DeliveredDelayMs,
        options.ReadDelayMs,
        options.WebhookUrl,
        options.EchoOpaqueData,
        options.LateRate,
        options.LateMs);

    public static bool IsWebhookUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
