using System.Diagnostics;
using Dapper;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// The number's schedule in PostgreSQL: each change is written only over the state it was computed from, so dispatchers
/// changing it at once never lose one another's changes, however old the state they start from.
/// </summary>
public sealed class PaceStoreTests
{
    private const int Limit = 10_000;

    // Slots come one limit's interval apart: 100 µs, which PostgreSQL keeps exactly.
    private static readonly PaceSchedule Schedule = new(Limit);
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    // The schedule starts a little ahead of now, so every slot reserved lies on the 100 µs grid.
    private static readonly PaceState Initial = Schedule.Start(Now.AddMilliseconds(100));

    private string _number = "";

    [SetUp]
    public void NewNumber() => _number = $"pace-{Guid.NewGuid():N}";

    [TearDown]
    public async Task DeleteScheduleAsync()
    {
        await using var connection = await TestEnvironment.Current.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("DELETE FROM provider_pace WHERE phone_number_id = @number", new { number = _number });
    }

    [Test]
    public async Task ChangeAsync_ManyReservationsAtOnceFromTwoStoresAndOneOldState_GiveDistinctSlotsAndMoveTheScheduleByAll()
    {
        const int reservations = 40;
        const int slotsEach = 5;
        var stores = new[] { NewStore(), NewStore() };
        var seen = (await stores[0].ChangeAsync(null, Initial, state => (state, true), CancellationToken.None)).State;

        // All start from the same state: every reservation but the first finds the schedule moved under it.
        var grants = await Task.WhenAll(Enumerable.Range(0, reservations).Select(i =>
            Task.Run(async () => (await stores[i % 2].ChangeAsync(seen, Initial, Take(slotsEach), CancellationToken.None)).Result)));
        var stored = (await stores[0].ReadAsync(CancellationToken.None)).State;

        var ordered = grants.Select(g => g!).OrderBy(g => g.First).ToList();
        var slots = ordered.SelectMany(g => Enumerable.Range(0, g.Count).Select(g.Slot)).ToList();
        Assert.That(slots, Is.Unique.And.Count.EqualTo(reservations * slotsEach));
        Assert.That(ordered.Zip(ordered.Skip(1), (earlier, later) => later.First - earlier.End), Is.All.EqualTo(TimeSpan.Zero),
            "each reservation starts where the one before it ended");
        Assert.That(ordered.Select(g => g.Version), Is.EqualTo(Enumerable.Range(1, reservations).Select(v => (long)v)));
        Assert.That(stored!.NextSlot, Is.EqualTo(Initial.NextSlot + (Interval * reservations * slotsEach)));
        Assert.That(stored.Version, Is.EqualTo(reservations));
    }

    [Test]
    public async Task ChangeAsync_WhenAnotherStoreChangedTheScheduleSinceItWasSeen_MakesTheChangeAgainOnTheNewerState()
    {
        var (first, second) = (NewStore(), NewStore());
        var seen = (await first.ChangeAsync(null, Initial, state => (state, true), CancellationToken.None)).State;
        var (afterFirst, firstGrant) = await first.ChangeAsync(seen, Initial, Take(5), CancellationToken.None);
        var versionsSeen = new List<long>();

        var (afterSecond, secondGrant) = await second.ChangeAsync(seen, Initial, state =>
        {
            versionsSeen.Add(state.Version);
            return Take(3)(state);
        }, CancellationToken.None);

        Assert.That(versionsSeen, Is.EqualTo(new[] { 0L, 1L }), "made on the old state, then again on the newer one");
        Assert.That(secondGrant!.First, Is.EqualTo(firstGrant!.End));
        Assert.That(afterSecond, Is.EqualTo(afterFirst with { NextSlot = secondGrant.End, Version = 2, Revision = afterSecond.Revision }));
        Assert.That(afterSecond.Revision, Is.Not.EqualTo(afterFirst.Revision));
        Assert.That((await second.ReadAsync(CancellationToken.None)).State, Is.EqualTo(afterSecond), "the state returned is the one stored");
    }

    [Test]
    public async Task ChangeAsync_WhenTheChangeIsNoneOnAnOldState_MakesItOnTheStoredOne()
    {
        var store = NewStore();
        var seen = (await store.ChangeAsync(null, Initial, state => (state, true), CancellationToken.None)).State;
        var (_, grant) = await store.ChangeAsync(seen, Initial, Take(10), CancellationToken.None);
        var from = grant!.Slot(4);

        // On the old state the grant is not the latest reservation, so giving its slots back changes nothing there.
        var (released, _) = await store.ChangeAsync(seen, Initial,
            state => (Schedule.Release(state, grant, from, Now), true), CancellationToken.None);

        Assert.That(released.NextSlot, Is.EqualTo(from));
        Assert.That((await store.ReadAsync(CancellationToken.None)).State!.NextSlot, Is.EqualTo(from));
    }

    [Test]
    public async Task ChangeAsync_WhenTheRowIsGoneSinceItWasSeen_StartsTheScheduleAfresh()
    {
        var store = NewStore();
        var (seen, _) = await store.ChangeAsync(null, Initial, Take(10), CancellationToken.None);
        // A migration that starts the schedule afresh (as 0024 did), while a Dispatcher keeps the state it saw.
        await DeleteScheduleAsync();

        var (stored, grant) = await store.ChangeAsync(seen, Initial, Take(3), CancellationToken.None);

        Assert.That(grant!.First, Is.EqualTo(Initial.NextSlot));
        Assert.That(stored with { Revision = 0 }, Is.EqualTo(Initial with { NextSlot = grant.End, Version = 1 }));
        Assert.That((await store.ReadAsync(CancellationToken.None)).State, Is.EqualTo(stored));
    }

    [Test]
    public async Task ChangeAsync_ACutAndReservationsAtOnce_KeepsBoth()
    {
        var stores = new[] { NewStore(), NewStore() };
        var seen = (await stores[0].ChangeAsync(null, Initial, state => (state, true), CancellationToken.None)).State;
        var turn = new PaceTurn(Now, seen.ThrottledAt);

        var changes = Enumerable.Range(0, 20)
            .Select(i => stores[i % 2].ChangeAsync(seen, Initial, Take(1), CancellationToken.None))
            .Append(stores[1].ChangeAsync(seen, Initial, state => (Schedule.Throttled(state, turn, Now), (PaceGrant?)null),
                CancellationToken.None));
        await Task.WhenAll(changes);
        var stored = (await stores[0].ReadAsync(CancellationToken.None)).State;

        Assert.That(stored!.Version, Is.EqualTo(20), "no reservation lost");
        Assert.That(stored.ThrottledAt, Is.EqualTo(Now), "the cut not lost");
        Assert.That(stored.ThrottledRate, Is.EqualTo(Limit / 2.0));
    }

    [Test]
    public async Task Gates_WhoseClocksDiffer_ShareTheScheduleByTheDatabasesClock()
    {
        // Two dispatchers' gates on one number, 100 calls a second: one's clock runs 30 s ahead of the other's.
        using var ahead = NewGate(TimeSpan.FromSeconds(30));
        using var behind = NewGate(TimeSpan.Zero);
        var started = Stopwatch.StartNew();

        var first = await ahead.ReserveAsync(50, CancellationToken.None);
        var second = await behind.ReserveAsync(50, CancellationToken.None);
        var reserved = started.Elapsed;
        using var metrics = new DispatcherMetrics(gate: ahead);
        var (offset, offsetShown) = (ahead.DatabaseClockOffset, ClockOffsetGauge());
        var lease = ahead.LatestCall(first!) - (DateTime.UtcNow + TimeSpan.FromSeconds(30));
        await ahead.TurnAsync(first!.First, CancellationToken.None);
        await behind.TurnAsync(second!.First, CancellationToken.None);
        var called = started.Elapsed;

        // By its own clock the one ahead would have reserved slots the other sees 30 s away, and taken the number from it.
        // Bounds far inside that, however busy the machine.
        Assert.That(second.First, Is.EqualTo(first.End).Within(TimeSpan.FromTicks(10)),
            "the second reservation starts where the first ended (to PostgreSQL's microsecond)");
        Assert.That(reserved, Is.LessThan(TimeSpan.FromSeconds(10)), "the slots of the one behind are within the horizon");
        Assert.That(called, Is.LessThan(TimeSpan.FromSeconds(10.5)), "its first call comes after the other's 50, 0.5 s");
        // What a claim's lease is written in: the dispatcher's own clock (by the database's it would have lapsed). 50
        // slots at an eighth of 100/s: 4 s at most.
        Assert.That(lease, Is.InRange(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(4.2)));
        // A single reading, so within half its round trip (a busy machine's thread pool can make that long).
        Assert.That(offset, Is.EqualTo(TimeSpan.FromSeconds(-30)).Within(TimeSpan.FromSeconds(2)));
        Assert.That(offsetShown, Is.EqualTo(offset.TotalSeconds), "the gauge operators alert on");
    }

    /// <summary>
    /// The lowest clock offset the Dispatcher meters of this process report: the gate 30 s ahead's, as the others' clocks
    /// are this machine's, as is the database's.
    /// </summary>
    private static double ClockOffsetGauge() =>
        DispatcherGauges.Read<double>("govsg.dispatcher.clock_offset").DefaultIfEmpty(double.MaxValue).Min();

    private static TimeSpan Interval => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / Limit);

    private static Func<PaceState, (PaceState, PaceGrant?)> Take(int count) => state =>
    {
        var take = Schedule.Take(state, count, Now);
        return (take.State, take.Grant);
    };

    private PaceStore NewStore() =>
        new(TestEnvironment.Current.Database, Options.Create(new WhatsAppOptions { PhoneNumberId = _number }), TimeProvider.System);

    private ProviderGate NewGate(TimeSpan lead)
    {
        var number = Options.Create(new WhatsAppOptions { PhoneNumberId = _number, MessagesPerSecond = 100 });
        var clock = new LeadingTime(lead);
        return new ProviderGate(new PaceStore(TestEnvironment.Current.Database, number, clock), number,
            Options.Create(new RetryOptions()), clock, NullLogger<ProviderGate>.Instance);
    }
}
