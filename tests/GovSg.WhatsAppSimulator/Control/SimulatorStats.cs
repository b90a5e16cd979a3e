using System.Collections.Concurrent;
using System.Globalization;

namespace GovSg.WhatsAppSimulator.Control;

/// <summary>Counters for <c>GET /_sim/stats</c>; lock-free because every send and webhook touches them.</summary>
internal sealed class SimulatorStats
{
    private readonly ConcurrentDictionary<string, long> _rejectedByCode = new();
    private long _sendRequests;
    private long _accepted;
    private long _webhookPosts;
    private long _webhookStatuses;
    private long _webhookFailures;
    private long _webhookRetries;
    private long _webhookDropped;

    public void SendRequested() => Interlocked.Increment(ref _sendRequests);

    public void Accepted() => Interlocked.Increment(ref _accepted);

    public void Rejected(int code) => Rejected(code.ToString(CultureInfo.InvariantCulture));

    public void Rejected(string code) => _rejectedByCode.AddOrUpdate(code, 1, static (_, count) => count + 1);

    public void WebhookPosted(int statuses)
    {
        Interlocked.Increment(ref _webhookPosts);
        Interlocked.Add(ref _webhookStatuses, statuses);
    }

    public void WebhookFailed() => Interlocked.Increment(ref _webhookFailures);

    public void WebhookRetried() => Interlocked.Increment(ref _webhookRetries);

    public void WebhookDropped() => Interlocked.Increment(ref _webhookDropped);

    public StatsResponse Snapshot(int webhookPending) => new(
        Interlocked.Read(ref _sendRequests),
        Interlocked.Read(ref _accepted),
        new SortedDictionary<string, long>(_rejectedByCode, StringComparer.Ordinal),
        Interlocked.Read(ref _webhookPosts),
        Interlocked.Read(ref _webhookStatuses),
        Interlocked.Read(ref _webhookFailures),
        Interlocked.Read(ref _webhookRetries),
        Interlocked.Read(ref _webhookDropped),
        webhookPending);

    public void Reset()
    {
        _rejectedByCode.Clear();
        Interlocked.Exchange(ref _sendRequests, 0);
        Interlocked.Exchange(ref _accepted, 0);
        Interlocked.Exchange(ref _webhookPosts, 0);
        Interlocked.Exchange(ref _webhookStatuses, 0);
        Interlocked.Exchange(ref _webhookFailures, 0);
        Interlocked.Exchange(ref _webhookRetries, 0);
        Interlocked.Exchange(ref _webhookDropped, 0);
    }
}

/// <summary>
/// <c>rejected_by_code</c> is keyed by Meta's error code, or <c>http_&lt;status&gt;</c> for a scripted non-JSON answer;
/// <c>webhook_pending</c> counts statuses not yet posted plus POSTs waiting to be retried.
/// </summary>
internal sealed record StatsResponse(
    long SendRequests,
    long Accepted,
    IReadOnlyDictionary<string, long> RejectedByCode,
    long WebhookPosts,
    long WebhookStatuses,
    long WebhookFailures,
    long WebhookRetries,
    long WebhookDropped,
    int WebhookPending);
