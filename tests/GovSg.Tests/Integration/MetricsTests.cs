using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapper;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sweeping;

namespace GovSg.Tests.Integration;

/// <summary>What an operator's dashboards and alerts read (SPEC §9.1).</summary>
public sealed class MetricsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Dispatcher_WhenMetricsAreCollected_ReportsTheUnsentBacklogAndItsOldestMessage()
    {
        // Three messages stored while the broker is unreachable, out of the lost-command sweep's reach: they wait as UNSENT.
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(3);
        await using var connection = await Env.Database.OpenConnectionAsync();
        var firstStored = await connection.ExecuteScalarAsync<DateTime>("SELECT min(created_at) FROM messages WHERE id = ANY(@ids)", new { ids });

        // Past the gauges' one-second cache. On a slow machine a collection may find a read of the backlog still under way
        // (no backlog gauges at all) or one that began before the messages were stored; a later one has them.
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        var seen = await Poll.UntilAsync(() => Task.FromResult(Collect()),
            s => s.GetValueOrDefault("govsg.messages.unsent") >= 3 && s.ContainsKey("govsg.messages.unsent.oldest_age"));

        Assert.That(seen.GetValueOrDefault("govsg.messages.unsent"), Is.GreaterThanOrEqualTo(3));
        Assert.That(seen.GetValueOrDefault("govsg.messages.unsent.oldest_age"),
            Is.GreaterThanOrEqualTo((DateTime.UtcNow - firstStored).TotalSeconds - 0.5));
    }

    [Test]
    public async Task Dispatcher_WhileADisabledUsersMessagesWaitForTheirExpiry_DoesNotReportThemAsTheOldestStuckMessage()
    {
        // `admin user disable` (a stolen key) parks the user's unsent messages until they expire, a day by default and up to
        // 30 days (README "Operating it"): they are held on purpose, not stuck. The alert gauge must not take its age from
        // them: README says the age "is what grows when messages are stuck", and RUNBOOK.md that it "grows only when
        // nothing sends". Counted, one disabled user pages the on-call for a day with nothing in the runbook to find, and
        // hides any message that really is stuck behind an age that is already high.
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1);
        await using var connection = await Env.Database.OpenConnectionAsync();
        var email = await connection.ExecuteScalarAsync<string>(
            "SELECT u.email::text FROM users u JOIN messages m ON m.user_id = u.id WHERE m.id = @id", new { id = ids[0] });
        Assert.That((await AdminCliTests.RunAsync("admin", "user", "disable", "--email", email!)).Code, Is.Zero);
        // Two hours later, as far as the message is concerned: still well within its validity.
        await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '2 hours' WHERE id = @id", new { id = ids[0] });
        // Another user's message waits too, so the gauge has an age to report whatever else the database holds.
        await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1);

        // Past the gauges' one-second cache. A collection whose read of the backlog is still under way has no backlog
        // gauges at all; the next has them.
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        var seen = await Poll.UntilAsync(() => Task.FromResult(Collect()), s => s.ContainsKey("govsg.messages.unsent.oldest_age"));

        Assert.That(await connection.ExecuteScalarAsync<string>("SELECT status::text FROM messages WHERE id = @id", new { id = ids[0] }),
            Is.EqualTo("UNSENT"), "parked, waiting for its expiry");
        Assert.That(seen["govsg.messages.unsent.oldest_age"], Is.LessThan(TimeSpan.FromHours(1).TotalSeconds),
            "the oldest age is the parked message's");
    }

    [Test]
    public async Task Dispatcher_WhenMetricsAreCollected_ReportsTheCallbackBacklogAndItsOldestEvent()
    {
        // An agency's callbacks falling behind (a slow endpoint, a paused one, more events than deliveries) showed nowhere
        // an operator looks: an outside soak's backlog reached 348,000 events, 18 minutes late, with no gauge to alert on.
        var user = await Env.CreateUserAsync();
        var madeAt = DateTime.UtcNow.AddMinutes(-5);
        await Callbacks.CallbackRaceTests.PausedEventAsync(user.Id, madeAt);
        await Callbacks.CallbackRaceTests.EventAsync(user.Id, madeAt);

        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        var seen = await Poll.UntilAsync(() => Task.FromResult(Collect()),
            s => s.GetValueOrDefault("govsg.callbacks.pending") >= 2 && s.ContainsKey("govsg.callbacks.pending.oldest_age"));

        Assert.That(seen.GetValueOrDefault("govsg.callbacks.pending"), Is.GreaterThanOrEqualTo(2));
        Assert.That(seen.GetValueOrDefault("govsg.callbacks.pending.oldest_age"),
            Is.GreaterThanOrEqualTo((DateTime.UtcNow - madeAt).TotalSeconds - 0.5));
    }

    [Test]
    public async Task Dispatcher_WithADaysCallbackBacklog_CountsItUpToTheLimit()
    {
        // A paused endpoint fills status_events for up to a day, tens of millions of rows at a busy agency's pace: counted in
        // full, every collection of metrics read them all.
        var user = await Env.CreateUserAsync();
        var madeAt = DateTime.UtcNow;
        await Callbacks.CallbackRaceTests.PausedEventAsync(user.Id, madeAt);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            SELECT @userId, g, 'live', @madeAt, '{}', @madeAt FROM generate_series(1, @count) g
            """, new { userId = user.Id, madeAt, count = SweepStore.CallbacksCounted }, commandTimeout: 60);
        try
        {
            var backlog = await new SweepStore(Env.Database).ReadBacklogAsync();

            Assert.That(backlog.Callbacks, Is.EqualTo(SweepStore.CallbacksCounted), "more events than the limit, counted to it");
        }
        finally
        {
            await connection.ExecuteAsync("DELETE FROM status_events WHERE user_id = @userId", new { userId = user.Id }, commandTimeout: 60);
        }
    }

    /// <summary>One collection of the Dispatchers' backlog gauges, as an exporter's reader makes it: the largest value seen.</summary>
    private static ConcurrentDictionary<string, double> Collect()
    {
        var seen = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DispatcherMetrics.Name &&
                instrument.Name is "govsg.messages.unsent" or "govsg.messages.unsent.oldest_age" or "govsg.callbacks.pending"
                    or "govsg.callbacks.pending.oldest_age")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(seen, instrument.Name, value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(seen, instrument.Name, value));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    private static void Record(ConcurrentDictionary<string, double> seen, string name, double value) =>
        seen.AddOrUpdate(name, value, (_, earlier) => Math.Max(earlier, value));
}
