using GovSg.Dispatcher.Scheduling;

namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// When the sweeper next has work, as far as this process knows. The sweeper sleeps until the earliest due time it read
/// from the database; whatever this process later makes due sooner (a retry, a deferral, a hold, a parked status) is
/// reported here, so the sleep ends in time without polling. What other processes make due is found by the sweeper's
/// next look at the database, at most its ceiling later (or by their own sweepers).
/// </summary>
public sealed class SweepSchedule(TimeProvider time) : WakeSchedule(time);
