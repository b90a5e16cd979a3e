using System.ComponentModel.DataAnnotations;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The retry schedule for transient provider failures (SPEC §5). Retries live in PostgreSQL (available_at/sweep_at),
/// so a restart neither loses nor resets them; this is the only layer that retries a provider call.
/// </summary>
public sealed class RetryOptions
{
    public const string SectionName = "Retry";

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")] public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Counted from the first attempt; past it the message becomes ERROR <c>retries_exhausted</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan Budget { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The least wait before a recipient that hit the pair rate limit (131056) is tried again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")] public TimeSpan PairRateDelay { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// How far ahead of this Dispatcher's clock another Dispatcher's clock may run. A retry, hand-back or hold is due by
    /// the clock of the Dispatcher that scheduled it, and its command can arrive sooner than this clock says it is due:
    /// a claim takes a message due within this allowance, rather than skipping it and leaving it to the sweep. The
    /// pair-rate wait is lengthened by as much, so it is never cut short. A new message is due at once, whatever the
    /// Api's clock says.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")] public TimeSpan ClockTolerance { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a claim holds a message beyond its call's slot and the call's timeout; past it, a message whose dispatcher
    /// died is held to reconcile (<see cref="ReconcileHold"/>: it may have been sent), then sent again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")] public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a message whose call has an unknown outcome (a timeout, a dropped connection, a lapsed claim) waits for
    /// a status naming that call before it is sent again (SPEC §5: reconcile before re-sending).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")] public TimeSpan ReconcileHold { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>The first pause after the provider rejects our credentials; it doubles while they stay broken.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")] public TimeSpan CredentialPause { get; set; } = TimeSpan.FromSeconds(15);

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")] public TimeSpan MaxCredentialPause { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a recipient that hit the pair rate limit waits: a claim may take a message up to the clock tolerance
    /// early, and the recipient's wait must still be whole.
    /// </summary>
    public TimeSpan RecipientWait => PairRateDelay + ClockTolerance;
}
