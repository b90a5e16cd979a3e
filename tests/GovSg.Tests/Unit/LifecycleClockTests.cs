namespace GovSg.Tests.Unit;

/// <summary>
/// SPEC §4's clamping table: a provider time between the latest earlier and the earliest later timestamp, and not after
/// the time it is applied.
/// </summary>
public sealed class LifecycleClockTests
{
    private static readonly DateTime Noon = new(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// Times are milliseconds after 12:00:00; -1 means not set. The provider reports whole seconds. Statuses are applied
    /// at 13:00:00 unless a row says otherwise.
    /// </summary>
    public static IEnumerable<TestCaseData> Table() =>
    [
        Row("SENT", accepted: 392, sent: -1, delivered: -1, read: -1, provider: 0, expected: 392)
            .SetName("sent in the second of acceptance is not before it"),
        Row("SENT", 392, -1, -1, -1, 1_000, 1_000).SetName("sent after acceptance keeps the provider's time"),
        Row("SENT", 392, -1, -1, 1_200, 2_000, 1_200).SetName("sent reported after a read already set is not after it"),
        Row("SENT", 392, -1, 1_500, 1_700, 2_000, 1_500).SetName("sent is not after delivered"),
        Row("DELIVERED", 392, 800, -1, -1, 0, 800).SetName("delivered is not before sent"),
        Row("DELIVERED", 392, -1, -1, -1, 0, 392).SetName("delivered without sent is not before acceptance"),
        Row("DELIVERED", 392, 800, -1, 900, 2_000, 900).SetName("a late delivered after read is not after read"),
        Row("DELIVERED", 392, 800, -1, -1, 3_000, 3_000).SetName("delivered in order keeps the provider's time"),
        Row("READ", 392, 800, 950, -1, 0, 950).SetName("read is not before delivered"),
        Row("READ", 392, 800, -1, -1, 0, 800).SetName("read without delivered is not before sent"),
        Row("READ", -1, -1, -1, -1, 0, 0).SetName("nothing else set: the provider's time"),
        Row("ERROR", 392, -1, -1, -1, 0, 392).SetName("an error is not before acceptance"),
        Row("ERROR", 392, 800, -1, -1, 0, 392).SetName("an error may come before a sent it replaces"),
        Row("ERROR", 392, -1, -1, -1, 5_000, 5_000).SetName("an error later keeps the provider's time"),
        Row("READ", 392, 800, 950, -1, 86_400_000, 5_000, applied: 5_000)
            .SetName("read reported for tomorrow is the time it is applied"),
        Row("SENT", 392, -1, -1, -1, 10_000, 3_000, applied: 3_000).SetName("sent ahead of our clock is the time it is applied"),
        Row("ERROR", 392, -1, -1, -1, 9_000, 2_000, applied: 2_000).SetName("an error ahead of our clock is the time it is applied"),
        Row("DELIVERED", 1_392, 1_800, -1, -1, 2_000, 1_800, applied: 1_000)
            .SetName("a clock behind the stored times does not move them backwards"),
    ];

    [TestCaseSource(nameof(Table))]
    public void Clamp_KeepsTimestampsInLifecycleOrder(string status, LifecycleTimes times, DateTime provider, DateTime applied,
        DateTime expected) =>
        Assert.That(LifecycleClock.Clamp(times, status, provider, applied), Is.EqualTo(expected));

    public static TestCaseData Row(string status, int accepted, int sent, int delivered, int read, int provider, int expected,
        int applied = 3_600_000) =>
        new(status, new LifecycleTimes(At(accepted), At(sent), At(delivered), At(read)), At(provider)!.Value,
            At(applied)!.Value, At(expected)!.Value);

    private static DateTime? At(int milliseconds) => milliseconds < 0 ? null : Noon.AddMilliseconds(milliseconds);
}
