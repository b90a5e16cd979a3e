using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GovSg.Hosting;

/// <summary>
/// Whether the process is ready, from its checks tagged ready. A check that reports Degraded (a dependency the process
/// rides out while it is away: the Api's database and broker) counts as ready only once that check has been Healthy in
/// a readiness answer since the process started (the probe asks every few seconds). A dependency never reached is more
/// likely a misconfiguration (a wrong host, a missing CA, a NetworkPolicy) than an outage, and an unready pod stops a
/// rollout at its first new pod; a pod that has reached it stays in the Service through an outage, to answer 503 itself
/// and take webhooks.
/// </summary>
internal sealed class Readiness
{
    private readonly ConcurrentDictionary<string, bool> _reached = new();

    public HealthReport Judge(HealthReport report)
    {
        var entries = new Dictionary<string, HealthReportEntry>(report.Entries.Count);
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status == HealthStatus.Healthy)
            {
                _reached.TryAdd(name, true);
            }

            entries[name] = entry.Status == HealthStatus.Degraded && !_reached.ContainsKey(name)
                ? new HealthReportEntry(HealthStatus.Unhealthy, $"{entry.Description}; never healthy since this process started",
                    entry.Duration, entry.Exception, entry.Data, entry.Tags)
                : entry;
        }

        return new HealthReport(entries, report.TotalDuration);
    }
}
