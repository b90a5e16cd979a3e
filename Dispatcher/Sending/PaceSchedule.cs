namespace GovSg.Dispatcher.Sending;

/// <summary>The number's send schedule as stored in <c>provider_pace</c>.</summary>
/// <param name="NextSlot">The first call slot nobody has reserved yet, on the schedule's axis (see <see cref="PaceSchedule"/>).</param>
/// <param name="ThrottledRate">The pace the last 130429 cut to, from which it climbs back to the limit.</param>
/// <param name="ThrottledAt">When the last 130429 cut the pace.</param>
/// <param name="ThrottledSlot">Where the schedule's axis stood at that moment.</param>
/// <param name="Version">Counts reservations, so a dispatcher can tell whether its grant is still the latest.</param>
/// <param name="Revision">
/// Which write of the stored row this is (PostgreSQL's <c>xmin</c>; 0 before it is stored): a change is written only
/// over the state it was computed from. The schedule never changes it.
/// </param>
public sealed record PaceState(DateTime NextSlot, double ThrottledRate, DateTime ThrottledAt, DateTime ThrottledSlot, long Version,
    long Revision);

/// <summary>Call slots reserved together: <see cref="Count"/> of them from <see cref="First"/>, <see cref="Interval"/> apart on the schedule's axis.</summary>
public sealed record PaceGrant(DateTime First, TimeSpan Interval, int Count, long Version)
{
    public DateTime Slot(int index) => First + Interval * index;

    public DateTime End => Slot(Count);

    /// <summary>
    /// Splits the grant into consecutive parts of <paramref name="counts"/> slots (which add up to <see cref="Count"/>).
    /// Only the last part keeps the version, so only it can give slots back (<see cref="PaceSchedule.Release"/>): the
    /// others' are followed by another part's.
    /// </summary>
    public IReadOnlyList<PaceGrant> Split(IReadOnlyList<int> counts)
    {
        var parts = new List<PaceGrant>(counts.Count);
        var from = 0;
        foreach (var count in counts)
        {
            parts.Add(new PaceGrant(Slot(from), Interval, count, parts.Count == counts.Count - 1 ? Version : Version - 1));
            from += count;
        }

        return parts;
    }
}

/// <summary>A call's turn: when it was made, and the cut (<see cref="PaceState.ThrottledAt"/>) its time was paced by.</summary>
public sealed record PaceTurn(DateTime At, DateTime PacedSince);

/// <summary>A reservation's result: the new state and a grant, or, when the schedule is full, when to ask again.</summary>
public readonly record struct PaceTake(PaceState State, PaceGrant? Grant, DateTime RetryAt);

/// <summary>
/// Paces every dispatcher as one sender (SPEC §5). They reserve call slots from one schedule, so together they keep to
/// the number's limit however many run: one that starts takes its turn in the same schedule, and the slots of one that
/// stops or dies simply pass unused. A slot is a position on the schedule's own axis, one limit's interval after the
/// other; when it comes is worked out at the call from the schedule's latest pace. At the full limit the axis runs with
/// the clock; a 130429 slows it down, so every slot not yet called — whoever reserved it — moves later at once, and as
/// the pace climbs back those same slots come sooner again: no call keeps the slot of a throttled moment long before.
/// Slots are reserved at most <see cref="Horizon"/> ahead (plus one batch). A 130429 halves the pace once per overload:
/// only a call that was paced by the latest cut and made <see cref="Settle"/> after it counts as a new one. The pace
/// then holds for <see cref="Hold"/> and climbs back linearly, from half the limit to all of it in 2.5 s. Pure: the
/// caller brings the state and the time.
/// </summary>
public sealed class PaceSchedule(double limit)
{
    /// <summary>How far ahead slots may be reserved.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromSeconds(1);

    /// <summary>How long the pace stays at a cut before it climbs.</summary>
    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after a cut a rejection still belongs to the overload that caused it: the provider counts its limit
    /// over about a second, so the calls just before a cut still weigh on the calls just after it.
    /// </summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(0.5);

    // A share of the limit per second: the climb back after a cut, and the least a cut leaves.
    private const double ClimbPerSecond = 0.2;
    private const double LeastShare = 0.125;

    private readonly TimeSpan _interval = TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / limit));

    /// <summary>A schedule free from now on, never throttled.</summary>
    public PaceState Start(DateTime now) => new(now, limit, DateTime.UnixEpoch, DateTime.UnixEpoch, 0, 0);

    /// <summary>The pace at <paramref name="now"/>, in calls per second.</summary>
    public double RateAt(PaceState state, DateTime now) =>
        Math.Min(limit, state.ThrottledRate + limit * ClimbPerSecond * Math.Max(0, (now - state.ThrottledAt - Hold).TotalSeconds));

    /// <summary>Where the schedule's axis stands at <paramref name="now"/>: the slots before it have come.</summary>
    public DateTime SlotAt(PaceState state, DateTime now) =>
        state.ThrottledSlot + TimeSpan.FromSeconds(Curve(state).Advance((now - state.ThrottledAt).TotalSeconds));

    /// <summary>When <paramref name="slot"/> comes at the pace of <paramref name="state"/>.</summary>
    public DateTime TimeOf(PaceState state, DateTime slot) =>
        state.ThrottledAt + TimeSpan.FromSeconds(Curve(state).Elapsed((slot - state.ThrottledSlot).TotalSeconds));

    /// <summary>
    /// The latest a call in <paramref name="grant"/> can come if the pace were cut to its least now: what a claim's
    /// lease must cover.
    /// </summary>
    public DateTime LatestCall(PaceState state, PaceGrant grant, DateTime now)
    {
        var ahead = grant.End - SlotAt(state, now);
        return now + (ahead > TimeSpan.Zero ? ahead / LeastShare : TimeSpan.Zero);
    }

    /// <summary>Reserves <paramref name="count"/> slots, unless the schedule is full beyond the horizon.</summary>
    public PaceTake Take(PaceState state, int count, DateTime now)
    {
        var current = SlotAt(state, now);
        var first = state.NextSlot > current ? state.NextSlot : current;
        var comes = TimeOf(state, first);
        if (comes > now + Horizon)
        {
            return new PaceTake(state, null, comes - Horizon);
        }

        var grant = new PaceGrant(first, _interval, count, state.Version + 1);
        return new PaceTake(state with { NextSlot = grant.End, Version = grant.Version }, grant, now);
    }

    /// <summary>
    /// Gives back the slots of <paramref name="grant"/> from <paramref name="from"/> on, when no reservation came after
    /// it; otherwise they pass unused, which only ever slows the number down.
    /// </summary>
    public PaceState Release(PaceState state, PaceGrant grant, DateTime from, DateTime now)
    {
        var current = SlotAt(state, now);
        var nextSlot = from > current ? from : current;
        return state.Version == grant.Version && nextSlot < state.NextSlot ? state with { NextSlot = nextSlot } : state;
    }

    /// <summary>The provider answered 130429 to a call made at <paramref name="turn"/>.</summary>
    public PaceState Throttled(PaceState state, PaceTurn turn, DateTime now) =>
        turn.PacedSince < state.ThrottledAt || turn.At < state.ThrottledAt + Settle
            ? state
            : state with
            {
                ThrottledRate = Math.Max(limit * LeastShare, RateAt(state, now) / 2),
                ThrottledAt = now,
                ThrottledSlot = SlotAt(state, now),
            };

    private PaceCurve Curve(PaceState state) =>
        new(Math.Min(1, state.ThrottledRate / limit), Hold.TotalSeconds, ClimbPerSecond);

    /// <summary>
    /// How far the axis moves in the seconds after a cut, in seconds at the full limit: at a share
    /// <paramref name="Start"/> of it for <paramref name="Hold"/> seconds, then faster by <paramref name="Climb"/> per
    /// second up to all of it. <see cref="Elapsed"/> is its inverse.
    /// </summary>
    private readonly record struct PaceCurve(double Start, double Hold, double Climb)
    {
        // When the climb reaches the full limit, and how far the axis has moved by then.
        private double Climbed => Hold + ((1 - Start) / Climb);

        private double AdvanceClimbed => Advance(Climbed);

        public double Advance(double seconds)
        {
            if (seconds <= Hold)
            {
                return Start * seconds;
            }

            if (seconds <= Climbed)
            {
                var climbing = seconds - Hold;
                return (Start * seconds) + (Climb * climbing * climbing / 2);
            }

            return (Start * Climbed) + (Climb * (Climbed - Hold) * (Climbed - Hold) / 2) + (seconds - Climbed);
        }

        public double Elapsed(double advance)
        {
            if (advance <= Start * Hold)
            {
                return advance / Start;
            }

            if (advance <= AdvanceClimbed)
            {
                // Climb/2 x² + Start x − (advance − Start × Hold) = 0, x the seconds since the climb began.
                var rest = advance - (Start * Hold);
                return Hold + ((Math.Sqrt((Start * Start) + (2 * Climb * rest)) - Start) / Climb);
            }

            return Climbed + (advance - AdvanceClimbed);
        }
    }
}
