using GovSg.Contracts;

namespace GovSg.Tests.Unit;

/// <summary>A message's lifecycle timestamps as stored; null where not set.</summary>
public sealed record LifecycleTimes(
    DateTime? AcceptedAt,
    DateTime? SentAt,
    DateTime? DeliveredAt,
    DateTime? ReadAt);

/// <summary>
/// Lifecycle timestamps never go backwards (SPEC §4). The provider reports whole seconds, so a <c>sent</c> at 12:00:00
/// for a message accepted at 12:00:00.392 really happened in [12:00:00, 12:00:01): each status's time is stored
/// clamped between the latest earlier timestamp already set and the earliest later one, in the order accepted, sent,
/// delivered, read; an error is never before acceptance. A provider time later than the moment the status is applied
/// is taken as that moment. The Dispatcher's StatusStore applies this rule in SQL; this is its model, which
/// LifecycleTimestampTests holds the SQL to.
/// </summary>
public static class LifecycleClock
{
    public static DateTime Clamp(LifecycleTimes times, string status, DateTime providerTime, DateTime now)
    {
        DateTime?[] earlier = status switch
        {
            MessageStatus.Sent or MessageStatus.Error => [times.AcceptedAt],
            MessageStatus.Delivered => [times.AcceptedAt, times.SentAt],
            MessageStatus.Read => [times.AcceptedAt, times.SentAt, times.DeliveredAt],
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a provider status"),
        };
        DateTime?[] later = status switch
        {
            MessageStatus.Sent => [times.DeliveredAt, times.ReadAt],
            MessageStatus.Delivered => [times.ReadAt],
            _ => [],
        };

        var time = later.Where(t => t is not null).Append(providerTime).Append(now).Min()!.Value;
        return earlier.Max() is { } floor && floor > time ? floor : time;
    }
}
