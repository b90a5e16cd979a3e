namespace GovSg.Dispatcher.Sending;

/// <summary>The number's send schedule as stored in <c>provider_pace</c>.</summary>
/// <param name="NextSlot">The first call slot nobody has reserved yet.</param>
/// <param name="ThrottledRate">The pace the last 130429 cut to, from which it climbs back to the limit.</param>
/// <param name="ThrottledAt">When the last 130429 cut the pace.</param>
/// <param name="Version">Counts reservations, so a dispatcher can tell whether its grant is still the latest.</param>
public sealed record PaceState(DateTime NextSlot, double ThrottledRate, DateTime ThrottledAt, long Version);

/// <summary>Call slots reserved together: <see cref="Count"/> of them from <see cref="First"/>, <see cref="Interval"/> apart.</summary>
public sealed record PaceGrant(DateTime First, TimeSpan Interval, int Count, DateTime TakenAt, long Version)
{
    public DateTime Slot(int index) => First + Interval * index;

    public DateTime End => Slot(Count);
}

/// <summary>A reservation's result: the new state and a grant, or, when the schedule is full, when to ask again.</summary>
public readonly record struct PaceTake(PaceState State, PaceGrant? Grant, DateTime RetryAt);

/// <summary>
/// Paces every dispatcher as one sender (SPEC §5). They reserve call slots from one schedule, spaced 1/rate apart, so
/// together they keep to the number's limit however many run: one that starts takes its turn in the same schedule, and
/// the slots of one that stops or dies simply pass unused. Slots are reserved at most <see cref="Horizon"/> ahead (plus
/// one batch), so a call waiting for its turn is paced at the rate of when its turn comes, never at that of a throttled
/// moment long before. A 130429 halves the rate once per overload — rejections of calls reserved before the cut are
/// the same overload — and the rate holds there for <see cref="Hold"/>, about as long as a cut takes to show in the
/// provider's answers (slots are reserved up to the horizon ahead), then climbs back linearly, from half the limit to
/// all of it in 2.5 s. Pure: the caller brings the state and the time.
/// </summary>
public sealed class PaceSchedule(double limit)
{
    /// <summary>How far ahead slots may be reserved.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromSeconds(1);

    /// <summary>How long the rate stays at a cut before it climbs: sooner, it would climb before the cut was tested.</summary>
    public static readonly TimeSpan Hold = Horizon + TimeSpan.FromSeconds(1);

    // A share of the limit per second: the climb back after a cut, and the least a cut leaves.
    private const double ClimbPerSecond = 0.2;
    private const double LeastShare = 0.125;

    /// <summary>A schedule free from now on, never throttled.</summary>
    public PaceState Start(DateTime now) => new(now, limit, DateTime.UnixEpoch, 0);

    /// <summary>The pace at <paramref name="now"/>, in calls per second.</summary>
    public double RateAt(PaceState state, DateTime now) =>
        Math.Min(limit, state.ThrottledRate + limit * ClimbPerSecond * Math.Max(0, (now - state.ThrottledAt - Hold).TotalSeconds));

    /// <summary>Reserves <paramref name="count"/> slots at the current pace, unless the schedule is full beyond the horizon.</summary>
    public PaceTake Take(PaceState state, int count, DateTime now)
    {
        var first = state.NextSlot > now ? state.NextSlot : now;
        if (first > now + Horizon)
        {
            return new PaceTake(state, null, first - Horizon);
        }

        var interval = TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / RateAt(state, now)));
        var grant = new PaceGrant(first, interval, count, now, state.Version + 1);
        return new PaceTake(state with { NextSlot = grant.End, Version = grant.Version }, grant, now);
    }

    /// <summary>
    /// Gives back the slots of <paramref name="grant"/> from <paramref name="from"/> on, when no reservation came after
    /// it; otherwise they pass unused, which only ever slows the number down.
    /// </summary>
    public PaceState Release(PaceState state, PaceGrant grant, DateTime from, DateTime now)
    {
        var nextSlot = from > now ? from : now;
        return state.Version == grant.Version && nextSlot < state.NextSlot ? state with { NextSlot = nextSlot } : state;
    }

    /// <summary>The provider answered 130429 to a call of <paramref name="grant"/>.</summary>
    public PaceState Throttled(PaceState state, PaceGrant grant, DateTime now) =>
        grant.TakenAt <= state.ThrottledAt
            ? state
            : state with { ThrottledRate = Math.Max(limit * LeastShare, RateAt(state, now) / 2), ThrottledAt = now };
}
