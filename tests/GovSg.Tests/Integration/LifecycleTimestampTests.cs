using Dapper;
using GovSg.Dispatcher.Statuses;
using GovSg.Tests.Unit;

namespace GovSg.Tests.Integration;

/// <summary>The status-applying SQL keeps lifecycle timestamps in order, exactly as the pure rule says (SPEC §4).</summary>
public sealed class LifecycleTimestampTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [TestCaseSource(typeof(LifecycleClockTests), nameof(LifecycleClockTests.Table))]
    public async Task ApplyStatus_StoresTheClampedTime(string status, LifecycleTimes times, DateTime provider, DateTime applied,
        DateTime expected)
    {
        var user = await Env.CreateUserAsync();
        var wamid = $"wamid.clamp.{Guid.NewGuid():N}";
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                                      param_order, status, created_at, updated_at, accepted_at, sent_at, delivered_at,
                                      read_at, provider_message_id, expires_at, available_at, sweep_at)
                VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'notice', '{}', @current::message_status, @createdAt,
                        @createdAt, @AcceptedAt, @SentAt, @DeliveredAt, @ReadAt, @wamid, @createdAt + interval '1 day',
                        @createdAt, @createdAt + interval '1 day')
                """, new
            {
                userId = user.Id,
                current = times.ReadAt is not null ? "READ" : times.DeliveredAt is not null ? "DELIVERED"
                    : times.SentAt is not null ? "SENT" : times.AcceptedAt is not null ? "ACCEPTED" : "UNSENT",
                createdAt = provider.AddHours(-1),
                times.AcceptedAt,
                times.SentAt,
                times.DeliveredAt,
                times.ReadAt,
                wamid,
            });
        }

        await new StatusStore(Env.Database).ApplyAsync([new StatusEvent(wamid, status, provider, null, null)], applied,
            TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        await using var reader = await Env.Database.OpenConnectionAsync();
        var column = status switch { "SENT" => "sent_at", "DELIVERED" => "delivered_at", "READ" => "read_at", _ => "errored_at" };
        var stored = await reader.ExecuteScalarAsync<DateTime>($"SELECT {column} FROM messages WHERE provider_message_id = @wamid",
            new { wamid });
        Assert.That(stored, Is.EqualTo(expected));
        Assert.That(stored, Is.EqualTo(LifecycleClock.Clamp(times, status, provider, applied)));
    }

    [Test]
    public async Task ApplyStatuses_InOneBatch_GiveEachStateOfTheMessageItsOwnUpdatedAt()
    {
        var user = await Env.CreateUserAsync();
        var wamid = $"wamid.order.{Guid.NewGuid():N}";
        var accepted = Milliseconds(DateTime.UtcNow.AddSeconds(-10));
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                                      param_order, status, created_at, updated_at, accepted_at, provider_message_id,
                                      expires_at, available_at, sweep_at)
                VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'notice', '{}', 'ACCEPTED', @accepted, @accepted, @accepted,
                        @wamid, @accepted + interval '1 day', @accepted, @accepted + interval '1 day')
                """, new { userId = user.Id, accepted, wamid });
        }

        // Meta's one webhook with all three, newest first: READ moves the status, then the other two fill their times.
        var now = Milliseconds(DateTime.UtcNow);
        var occurred = accepted.AddSeconds(1);
        await new StatusStore(Env.Database).ApplyAsync(
            [new StatusEvent(wamid, "READ", occurred, null, null), new StatusEvent(wamid, "DELIVERED", occurred, null, null),
             new StatusEvent(wamid, "SENT", occurred, null, null)],
            now, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        await using var reader = await Env.Database.OpenConnectionAsync();
        var (status, updatedAt, sentAt) = await reader.QuerySingleAsync<(string, DateTime, DateTime?)>(
            "SELECT status::text, updated_at, sent_at FROM messages WHERE provider_message_id = @wamid", new { wamid });
        Assert.That((status, sentAt), Is.EqualTo(("READ", (DateTime?)occurred)));
        Assert.That(updatedAt, Is.GreaterThan(now), "the READ state alone was stamped with the batch's time");
    }

    /// <summary>As the services store times: whole milliseconds.</summary>
    private static DateTime Milliseconds(DateTime value) => value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond));

    [Test]
    public async Task Send_ThroughTheSimulator_NeverShowsATimestampBeforeAnEarlierOne()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, _) = TestRecipients.Next();
        var (_, sent) = await MessageJson.PostRawAsync(user.Client, $$"""{"recipient":"{{local}}","template_id":3}""");

        var read = await MessageJson.WaitForStatusAsync(user.Client, sent.Str("id"), "READ");

        var times = new[] { "created_at", "accepted_at", "sent_at", "delivered_at", "read_at" }
            .Select(name => DateTime.Parse(read.Str(name), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(read.Str("status"), Is.EqualTo("READ"));
        Assert.That(times, Is.Ordered, "the simulator reports whole seconds, as Meta does");
    }
}
