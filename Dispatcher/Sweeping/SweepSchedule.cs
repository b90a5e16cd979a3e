using GovSg.Dispatcher.Scheduling;

namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// When the sweeper next has work, as far as this process knows. The sweeper sleeps until the earliest due time it read
/// from the database; whatever this process later makes due sooner (a retry, a deferral, a hold, a parked status) is
/// reported here, so the sleep ends in time without polling. What other processes make due is found by the sweeper's
/// next look at the database, at most its ceiling later (or by their own sweepers).
/// </summary>
public sealed class SweepSchedule(TimeProvider time) : WakeSchedule(time)
{
    private long _claimedUpTo;

    /// <summary>
    /// How far this process has seen the send queue consumed: the latest time at which a message it claimed was stored.
    /// A sweep publishes its commands as it takes them, behind the commands of every message stored before, and the queue
    /// is first in, first out; so once a message stored a pick-up deadline after such a command went out has been
    /// claimed, that command has most likely been lost, however long the queue behind it (Sweeper). Null until this
    /// process claims a message.
    /// </summary>
    public DateTime? ClaimedUpTo => Volatile.Read(ref _claimedUpTo) is > 0 and var ticks ? new DateTime(ticks, DateTimeKind.Utc) : null;

    /// <summary>A message stored at <paramref name="storedAt"/> was claimed.</summary>
    public void Claimed(DateTime storedAt)
    {
        var seen = Volatile.Read(ref _claimedUpTo);
        while (storedAt.Ticks > seen)
        {
            var before = Interlocked.CompareExchange(ref _claimedUpTo, storedAt.Ticks, seen);
            if (before == seen)
            {
                return;
            }

            seen = before;
        }
    }
}
