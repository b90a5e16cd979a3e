using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

/// <summary>
/// The number's shared schedule (SPEC §5), played out tick by tick: every live dispatcher has a backlog and reserves
/// batches in turn until the schedule is full, as the gates do; a call is made at each slot its dispatcher is alive for.
/// </summary>
public sealed class PaceScheduleTests
{
    private const int Limit = 80;
    private const int Batch = 10;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    [Test]
    public void Take_InSteadyState_CallsAtTheLimitAndNeverAbove()
    {
        var number = new Number();

        number.Run(TimeSpan.FromSeconds(10), number.Start("a"));

        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit));
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(9)), Is.InRange(8 * Limit - 1, 8 * Limit));
    }

    [Test]
    public void Take_WhenASecondDispatcherStarts_TheTwoTogetherStayAtTheLimit()
    {
        var number = new Number();
        var first = number.Start("a");
        number.Run(TimeSpan.FromSeconds(5), first);

        var second = number.Start("b");
        number.Run(TimeSpan.FromSeconds(5), first, second);

        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit), "no burst while the second one joins");
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(10)), Is.InRange(4 * Limit - 1, 4 * Limit));
        Assert.That(second.Calls, Has.Count.GreaterThan(Limit), "the newcomer gets its turns");
    }

    [Test]
    public void Take_WhenADispatcherDies_TheOtherTakesTheWholeLimitOnceTheDeadOnesSlotsHavePassed()
    {
        var number = new Number();
        var survivor = number.Start("a");
        var dying = number.Start("b");
        number.Run(TimeSpan.FromSeconds(5), survivor, dying);

        // Killed: the slots it had reserved are never called.
        number.Run(TimeSpan.FromSeconds(5), survivor);

        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit));
        // The dead one's reservations reach at most a horizon and a batch beyond its death.
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(10)), Is.InRange(3 * Limit - 1, 3 * Limit));
    }

    [Test]
    public void Throttled_AfterABurstOf130429_CutsOncePerOverloadAndClimbsBackToTheLimitWithinSeconds()
    {
        var number = new Number();
        var dispatcher = number.Start("a");
        number.Run(TimeSpan.FromSeconds(3), dispatcher);
        var overrun = dispatcher.Calls.TakeLast(28).ToList();

        // 28 calls of the overrun answered 130429 together: one cut, not 28.
        overrun.ForEach(number.Throttled);
        var afterBurst = number.Rate;
        // A call paced by that cut and rejected too, but within the settle time: still the same overload.
        number.Run(TimeSpan.FromSeconds(0.2), dispatcher);
        number.Throttled(dispatcher.Calls[^1]);
        var settling = number.Rate;
        number.Run(TimeSpan.FromSeconds(0.8), dispatcher);
        number.Throttled(dispatcher.Calls[^1]);
        var afterSecondCut = number.Rate;
        var cutAt = number.Elapsed;
        number.Run(TimeSpan.FromSeconds(8), dispatcher);

        Assert.That(afterBurst, Is.EqualTo(Limit / 2.0));
        Assert.That(settling, Is.EqualTo(Limit / 2.0), "a rejection within the settle time does not cut again");
        Assert.That(afterSecondCut, Is.EqualTo(Limit / 4.0), "half of the 40/s it held after the first cut");
        Assert.That(number.Rate, Is.EqualTo(Limit));
        // Held 1 s, it climbs by a fifth of the limit per second: all of it 4.75 s on, its calls too.
        Assert.That(number.CallsBetween(cutAt + TimeSpan.FromSeconds(5), cutAt + TimeSpan.FromSeconds(6)), Is.InRange(Limit - 1, Limit + 1));
        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit));
    }

    [Test]
    public void Throttled_SlowsTheSlotsAlreadyReservedByEveryDispatcher_AtOnce()
    {
        var number = new Number();
        var first = number.Start("a");
        var second = number.Start("b");
        number.Run(TimeSpan.FromSeconds(3), first, second);
        var reservedAhead = first.Waiting + second.Waiting;

        number.Throttled(first.Calls[^1]);
        var cutAt = number.Elapsed;
        number.Run(TimeSpan.FromSeconds(1), first, second);

        Assert.That(reservedAhead, Is.GreaterThanOrEqualTo(Limit), "a second's calls were reserved when the cut came");
        // Those reserved slots move later too: the second after the cut carries the cut pace, not the old one.
        Assert.That(number.CallsBetween(cutAt, cutAt + TimeSpan.FromSeconds(1)), Is.InRange(Limit / 2 - 1, Limit / 2 + 1));
    }

    [Test]
    public void Throttled_WhenTheProviderCutsTheLimitForSeconds_CallsFallToItAndClimbBackAfter()
    {
        var provider = new Provider(Limit);
        var number = new Number(provider);
        var first = number.Start("a");
        var second = number.Start("b");
        number.Run(TimeSpan.FromSeconds(3), first, second);

        provider.Limit = Limit / 4;
        number.Run(TimeSpan.FromSeconds(5), first, second);
        provider.Limit = Limit;
        number.Run(TimeSpan.FromSeconds(10), first, second);

        Assert.That(number.CallsBetween(TimeSpan.Zero, TimeSpan.FromSeconds(3)), Is.InRange(3 * Limit - 1, 3 * Limit));
        Assert.That(provider.Rejected, Is.LessThan(Limit), "fewer rejections than a second at the old pace");
        // From a second into the cut to its end, the pair calls at about the provider's new limit.
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)) / 4.0, Is.InRange(Limit / 8.0, Limit / 4.0 * 1.25));
        // Back at the limit within 5 s of the provider's return, and no overshoot anywhere (but for a slot moved by a
        // tick's rounding where a cut re-anchors the axis).
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(13), TimeSpan.FromSeconds(18)), Is.InRange(5 * Limit - 2, 5 * Limit));
        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit + 1));
    }

    [Test]
    public void LatestCall_CoversTheGrantEvenIfThePaceIsCutToItsLeast()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var take = schedule.Take(schedule.Start(now), Limit, now);
        var latest = schedule.LatestCall(take.State, take.Grant!, now);

        var state = take.State;
        foreach (var cut in Enumerable.Range(0, 4))
        {
            state = schedule.Throttled(state, new PaceTurn(now + TimeSpan.FromSeconds(cut), state.ThrottledAt), now + TimeSpan.FromSeconds(cut));
        }

        Assert.That(schedule.RateAt(state, now + TimeSpan.FromSeconds(3)), Is.EqualTo(Limit / 8.0), "cut to its least");
        Assert.That(schedule.TimeOf(state, take.Grant!.End), Is.LessThanOrEqualTo(latest));
    }

    [Test]
    public void Take_WhenTheScheduleIsFullBeyondTheHorizon_SaysWhenToAskAgain()
    {
        var clock = new FakeTimeProvider(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc));
        var schedule = new PaceSchedule(Limit);
        var now = clock.GetUtcNow().UtcDateTime;
        var full = schedule.Take(schedule.Start(now), 2 * Limit, now).State;

        var take = schedule.Take(full, 1, now);

        Assert.That(take.Grant, Is.Null);
        Assert.That(take.RetryAt, Is.EqualTo(now + TimeSpan.FromSeconds(1)), "two seconds reserved, one of them beyond the horizon");
        Assert.That(take.State, Is.EqualTo(full));
    }

    [Test]
    public void Release_GivesBackTheTailOfTheLatestGrantOnly()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var first = schedule.Take(schedule.Start(now), Batch, now);
        var second = schedule.Take(first.State, Batch, now);

        var stale = schedule.Release(second.State, first.Grant!, first.Grant!.Slot(2), now);
        var latest = schedule.Release(second.State, second.Grant!, second.Grant!.Slot(2), now);

        Assert.That(stale, Is.EqualTo(second.State), "a grant with one after it gives nothing back: its slots pass unused");
        Assert.That(latest.NextSlot, Is.EqualTo(second.Grant.Slot(2)));
        Assert.That(schedule.Take(latest, 1, now).Grant!.First, Is.EqualTo(second.Grant.Slot(2)));
    }

    [Test]
    public void Split_GivesConsecutiveParts_OfWhichOnlyTheLastGivesSlotsBack()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var take = schedule.Take(schedule.Start(now), 6, now);

        var parts = take.Grant!.Split([1, 2, 3]);
        var middle = schedule.Release(take.State, parts[1], parts[1].First, now);
        var last = schedule.Release(take.State, parts[2], parts[2].Slot(1), now);

        Assert.That(parts.Select(p => (p.First, p.Count)),
            Is.EqualTo(new[] { (take.Grant.Slot(0), 1), (take.Grant.Slot(1), 2), (take.Grant.Slot(3), 3) }));
        Assert.That(middle, Is.EqualTo(take.State), "the parts after it keep their slots");
        Assert.That(last.NextSlot, Is.EqualTo(take.Grant.Slot(4)));
    }

    [Test]
    public void Split_APartOfAnEarlierGrant_GivesNothingBackOnceAnotherReservationCame()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var earlier = schedule.Take(schedule.Start(now), 6, now);
        var parts = earlier.Grant!.Split([1, 2, 3]);
        var later = schedule.Take(earlier.State, Batch, now);

        // Giving back would hand the later grant's slots out a second time, and the number would be overrun.
        Assert.That(parts.Select(p => schedule.Release(later.State, p, p.First, now)), Is.All.EqualTo(later.State));
    }

    [Test]
    public void Take_AfterAnIdleSpell_StartsAtTheSlotOfNowNotAtTheOldEndOfTheSchedule()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var first = schedule.Take(schedule.Start(now), Batch, now);
        var later = now + TimeSpan.FromSeconds(10);

        var take = schedule.Take(first.State, Batch, later);

        Assert.That(take.Grant!.First, Is.EqualTo(schedule.SlotAt(first.State, later)));
        Assert.That(schedule.TimeOf(first.State, take.Grant.First), Is.EqualTo(later).Within(TimeSpan.FromMilliseconds(1)),
            "slots that passed unused are not called in a burst now");
    }

    [Test]
    public void LatestCall_OfAGrantWhoseSlotsHaveAllCome_IsNow()
    {
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var take = schedule.Take(schedule.Start(now), Batch, now);
        var later = now + TimeSpan.FromSeconds(5);

        Assert.That(schedule.LatestCall(take.State, take.Grant!, later), Is.EqualTo(later));
    }

    [Test]
    public void Throttled_ByACallPacedBeforeTheLatestCut_DoesNotCutAgain_EvenWhenMadeLongAfterIt()
    {
        var cutAt = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var start = schedule.Start(cutAt);
        var cut = schedule.Throttled(start, new PaceTurn(cutAt, start.ThrottledAt), cutAt);
        var later = cutAt + TimeSpan.FromSeconds(2);

        Assert.That(schedule.Throttled(cut, new PaceTurn(later, start.ThrottledAt), later), Is.EqualTo(cut),
            "a call paced before the cut belongs to the overload it already answered");
        Assert.That(schedule.Throttled(cut, new PaceTurn(later, cut.ThrottledAt), later).ThrottledAt, Is.EqualTo(later),
            "a call paced by the cut and made after it settled is a new overload");
    }

    [TestCase(0.5, 0.25, TestName = "SlotAt: during the hold, at half the limit")]
    [TestCase(2.0, 1.1, TestName = "SlotAt: while the pace climbs back")]
    [TestCase(10.0, 8.875, TestName = "SlotAt: once the pace is back at the limit")]
    public void SlotAt_AfterACutToHalf_AdvancesAlongTheHoldAndTheClimb_AndTimeOfIsItsInverse(double seconds, double advanced)
    {
        // Half the limit for the 1 s hold, then 20 % of the limit more each second: full again 3.5 s after the cut, when
        // the axis has moved 0.5 + (0.5 × 2.5 + 0.2 × 2.5² / 2) = 2.375 s.
        var cutAt = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new PaceSchedule(Limit);
        var start = schedule.Start(cutAt);
        var cut = schedule.Throttled(start, new PaceTurn(cutAt, start.ThrottledAt), cutAt);
        var at = cutAt + TimeSpan.FromSeconds(seconds);
        var slot = cut.ThrottledSlot + TimeSpan.FromSeconds(advanced);

        Assert.That(schedule.RateAt(cut, cutAt), Is.EqualTo(Limit / 2.0));
        Assert.That(schedule.SlotAt(cut, at), Is.EqualTo(slot).Within(TimeSpan.FromMilliseconds(1)));
        Assert.That(schedule.TimeOf(cut, slot), Is.EqualTo(at).Within(TimeSpan.FromMilliseconds(1)));
    }

    /// <summary>One number's schedule, its clock, and the calls made at its slots.</summary>
    private sealed class Number
    {
        private readonly FakeTimeProvider _clock = new(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc));
        private readonly PaceSchedule _schedule = new(Limit);
        private readonly List<Sender> _senders = [];
        private readonly Provider? _provider;
        private readonly DateTime _began;
        private PaceState _state;

        public Number(Provider? provider = null)
        {
            _provider = provider;
            _began = Now;
            _state = _schedule.Start(Now);
        }

        public TimeSpan Elapsed => Now - _began;

        public double Rate => _schedule.RateAt(_state, Now);

        private DateTime Now => _clock.GetUtcNow().UtcDateTime;

        public Sender Start(string name)
        {
            var sender = new Sender(name);
            _senders.Add(sender);
            return sender;
        }

        /// <summary>
        /// Every tick, the live senders take turns reserving a batch each until the schedule is full, then make the calls
        /// whose slots have come at the schedule's pace of the moment, in the order they come.
        /// </summary>
        public void Run(TimeSpan duration, params Sender[] live)
        {
            var until = Now + duration;
            while (Now < until)
            {
                // Who waited longest asks first, as waiters queue for the row's lock.
                var asking = live.Where(s => s.RetryAt <= Now).OrderBy(s => s.AskedAt).ToList();
                while (asking.Count > 0)
                {
                    foreach (var sender in asking.ToList())
                    {
                        var take = _schedule.Take(_state, Batch, Now);
                        _state = take.State;
                        if (take.Grant is { } grant)
                        {
                            sender.Reserved(grant, Now);
                        }
                        else
                        {
                            sender.RetryAt = take.RetryAt;
                            asking.Remove(sender);
                        }
                    }
                }

                var due = live.SelectMany(s => s.Due(_schedule, _state, Now)).OrderBy(call => call.At).ToList();
                foreach (var call in due.Where(call => _provider?.Rejects(call.At) == true))
                {
                    Throttled(call);
                }

                _clock.Advance(Tick);
            }
        }

        public void Throttled(PaceTurn call) => _state = _schedule.Throttled(_state, call, Now);

        public int CallsBetween(TimeSpan from, TimeSpan to) =>
            Calls().Count(call => call >= _began + from && call < _began + to);

        /// <summary>The most calls in any one second (a window starting at each call).</summary>
        public int BusiestSecond()
        {
            var calls = Calls().Order().ToList();
            return calls.Select(first => calls.Count(c => c >= first && c < first + TimeSpan.FromSeconds(1))).Max();
        }

        private IEnumerable<DateTime> Calls() => _senders.SelectMany(s => s.Calls).Select(call => call.At);
    }

    /// <summary>A dispatcher: the slots it reserved and has not called yet, and the calls it made.</summary>
    private sealed class Sender(string name)
    {
        private readonly Queue<DateTime> _waiting = new();

        public List<PaceTurn> Calls { get; } = [];

        public DateTime RetryAt { get; set; }

        public DateTime AskedAt { get; private set; }

        public int Waiting => _waiting.Count;

        public void Reserved(PaceGrant grant, DateTime now)
        {
            AskedAt = now;
            foreach (var index in Enumerable.Range(0, grant.Count))
            {
                _waiting.Enqueue(grant.Slot(index));
            }
        }

        /// <summary>Calls the slots that have come by <paramref name="now"/>, each when it came.</summary>
        public List<PaceTurn> Due(PaceSchedule schedule, PaceState state, DateTime now)
        {
            var due = new List<PaceTurn>();
            while (_waiting.Count > 0 && schedule.TimeOf(state, _waiting.Peek()) is var comes && comes <= now)
            {
                _waiting.Dequeue();
                due.Add(new PaceTurn(comes, state.ThrottledAt));
            }

            Calls.AddRange(due);
            return due;
        }

        public override string ToString() => name;
    }

    /// <summary>The provider's throughput limit: a bucket of one second's calls, answering 130429 when empty.</summary>
    private sealed class Provider(int limit)
    {
        private double _tokens = limit;
        private DateTime _refilledAt = DateTime.MinValue;

        public int Limit { get; set; } = limit;

        public int Rejected { get; private set; }

        public bool Rejects(DateTime at)
        {
            if (_refilledAt != DateTime.MinValue)
            {
                _tokens = Math.Min(Limit, _tokens + ((at - _refilledAt).TotalSeconds * Limit));
            }

            _refilledAt = at;
            if (_tokens < 1)
            {
                Rejected++;
                return true;
            }

            _tokens--;
            return false;
        }
    }
}
