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

        number.Kill(dying);
        number.Run(TimeSpan.FromSeconds(5), survivor);

        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit));
        // The dead one's reservations reach at most a horizon and a batch beyond its death.
        Assert.That(number.CallsBetween(TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(10)), Is.InRange(3 * Limit - 1, 3 * Limit));
    }

    [Test]
    public void Throttled_AfterABurstOf130429_CutsOnceAndClimbsBackToTheLimitWithinSeconds()
    {
        var number = new Number();
        var dispatcher = number.Start("a");
        number.Run(TimeSpan.FromSeconds(3), dispatcher);
        var overrun = dispatcher.Grants.TakeLast(3).ToList();

        // 28 calls of the overrun answered 130429 together, then one reserved a second after the cut: two cuts, not 29.
        foreach (var grant in Enumerable.Repeat(overrun, 10).SelectMany(g => g).Take(28))
        {
            number.Throttled(grant);
        }

        var afterBurst = number.Rate;
        number.Run(TimeSpan.FromSeconds(1), dispatcher);
        number.Throttled(dispatcher.Grants[^1]);
        var afterSecondCut = number.Rate;
        var cutAt = number.Elapsed;
        number.Run(TimeSpan.FromSeconds(8), dispatcher);

        Assert.That(afterBurst, Is.EqualTo(Limit / 2.0));
        Assert.That(afterSecondCut, Is.EqualTo(Limit / 4.0), "half of the 40/s it held after the first cut");
        Assert.That(number.Rate, Is.EqualTo(Limit));
        // Held 2 s, it climbs by a fifth of the limit per second: all of it 5.75 s on, no slow slots left a second later.
        Assert.That(number.CallsBetween(cutAt + TimeSpan.FromSeconds(7), cutAt + TimeSpan.FromSeconds(8)), Is.InRange(Limit - 1, Limit));
        Assert.That(number.BusiestSecond(), Is.LessThanOrEqualTo(Limit));
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

    /// <summary>One number's schedule, its clock, and the calls made at its slots.</summary>
    private sealed class Number
    {
        private readonly FakeTimeProvider _clock = new(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc));
        private readonly PaceSchedule _schedule = new(Limit);
        private readonly DateTime _began;
        private readonly List<Sender> _senders = [];
        private PaceState _state;

        public Number()
        {
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

        /// <summary>Every tick, the live senders take turns reserving a batch each until the schedule is full.</summary>
        public void Run(TimeSpan duration, params Sender[] live)
        {
            var until = Now + duration;
            while (Now < until)
            {
                // Who waited longest asks first, as waiters queue for the row's lock.
                var asking = live.Where(s => s.RetryAt <= Now).OrderBy(s => s.Grants.LastOrDefault()?.TakenAt).ToList();
                while (asking.Count > 0)
                {
                    foreach (var sender in asking.ToList())
                    {
                        var take = _schedule.Take(_state, Batch, Now);
                        _state = take.State;
                        if (take.Grant is { } grant)
                        {
                            sender.Grants.Add(grant);
                        }
                        else
                        {
                            sender.RetryAt = take.RetryAt;
                            asking.Remove(sender);
                        }
                    }
                }

                _clock.Advance(Tick);
            }
        }

        public void Kill(Sender sender) => sender.DiedAt = Now;

        public void Throttled(PaceGrant grant) => _state = _schedule.Throttled(_state, grant, Now);

        public int CallsBetween(TimeSpan from, TimeSpan to) =>
            Calls().Count(call => call >= _began + from && call < _began + to);

        /// <summary>The most calls in any one second (a window starting at each call).</summary>
        public int BusiestSecond()
        {
            var calls = Calls().Order().ToList();
            return calls.Select(first => calls.Count(c => c >= first && c < first + TimeSpan.FromSeconds(1))).Max();
        }

        private IEnumerable<DateTime> Calls() => _senders.SelectMany(s => s.Calls).Where(call => call < Now);
    }

    /// <summary>A dispatcher: the grants it reserved, and its calls at their slots while it lives.</summary>
    private sealed class Sender(string name)
    {
        public List<PaceGrant> Grants { get; } = [];

        public DateTime RetryAt { get; set; }

        public DateTime DiedAt { get; set; } = DateTime.MaxValue;

        public List<DateTime> Calls =>
            [.. Grants.SelectMany(g => Enumerable.Range(0, g.Count).Select(g.Slot)).Where(slot => slot < DiedAt)];

        public override string ToString() => name;
    }
}
