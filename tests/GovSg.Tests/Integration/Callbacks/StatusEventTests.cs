using System.Text.Json;
using Dapper;
using GovSg.Api.Admin;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>
/// Every statement that changes a status records exactly one status event per changed row, holding the message as the
/// statement left it, and nothing when nothing changed or only a timestamp was filled (SPEC §4). The users' endpoints are
/// paused for good, so the events stay in the table to be counted.
/// </summary>
public sealed class StatusEventTests
{
    private static readonly DateTime Provider = DateTime.UtcNow.AddMinutes(-5);

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task FullLifecycle_AppliedInBatchesOutOfOrderAndTwice_RecordsEachStatusOnce()
    {
        var userId = await CallbackUserAsync();
        var (id, wamid) = await InsertMessageAsync(userId);
        var sends = new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()));
        var statuses = new StatusStore(Env.Database);

        await sends.AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);
        await sends.AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);
        StatusEvent[] batch =
        [
            Status(wamid, "DELIVERED", 2), Status(wamid, "SENT", 1), Status(wamid, "SENT", 1), Status(wamid, "READ", 3),
            Status(wamid, "DELIVERED", 2),
        ];
        await statuses.ApplyAsync(batch, DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);
        await statuses.ApplyAsync(batch, DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);
        await statuses.ApplyAsync([Status(wamid, "ERROR", 4)], DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        var events = await EventsAsync(id);
        Assert.That(events.Select(e => e.Status), Is.EqualTo(new[] { "ACCEPTED", "DELIVERED", "READ" }),
            "the batch's first round moves to DELIVERED, its SENT only fills sent_at, the late ERROR is ignored");
        var read = events[^1].Data;
        Assert.That(read.Str("read_at"), Is.Not.Empty);
        Assert.That(read.Str("sent_at"), Is.Not.Empty, "the event holds the message as the statement left it");
        Assert.That(events.Select(e => e.KeyType), Is.All.EqualTo("live"));
    }

    [Test]
    public async Task StatusesInLifecycleOrder_InABatchAppliedTwice_EachRecordOneEventWithTheMessageObject()
    {
        var userId = await CallbackUserAsync();
        var (id, wamid) = await InsertMessageAsync(userId);
        var statuses = new StatusStore(Env.Database);
        await new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions())).AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);

        StatusEvent[] batch = [Status(wamid, "SENT", 1), Status(wamid, "DELIVERED", 2), Status(wamid, "READ", 3),
            Status(wamid, "READ", 3), Status(wamid, "SENT", 1)];
        await statuses.ApplyAsync(batch, DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);
        await statuses.ApplyAsync(batch, DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        var events = await EventsAsync(id);
        Assert.That(events.Select(e => e.Status), Is.EqualTo(new[] { "ACCEPTED", "SENT", "DELIVERED", "READ" }));
        Assert.That(events[0].Data.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "id", "recipient", "template_id", "params", "language_code", "created_at", "updated_at", "accepted_at", "sent_at",
            "delivered_at", "read_at", "errored_at", "error_code", "error_description", "status",
        }));
        Assert.That(events[0].Data.Str("id"), Is.EqualTo(id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(events[0].Data.Str("sent_at"), Is.Empty, "the ACCEPTED event keeps the message as it was then");
    }

    [Test]
    public async Task ProviderFailure_RecordsAnErrorEvent_OnlyForTheAttemptThatChangedIt()
    {
        var userId = await CallbackUserAsync();
        var (id, _) = await InsertMessageAsync(userId, attempts: 1);
        var sends = new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()));

        var stale = await sends.FailAsync(id, 2, "131026", "undeliverable", DateTime.UtcNow, CancellationToken.None);
        var failed = await sends.FailAsync(id, 1, "131026", "undeliverable", DateTime.UtcNow, CancellationToken.None);

        Assert.That((stale, failed), Is.EqualTo((false, true)));
        var events = await EventsAsync(id);
        Assert.That(events.Select(e => e.Status), Is.EqualTo(new[] { "ERROR" }));
        Assert.That(events[0].Data.Str("error_code"), Is.EqualTo("131026"));
    }

    [Test]
    public async Task Adoption_RecordsTheAcceptanceAndThenTheStatus()
    {
        var userId = await CallbackUserAsync();
        var (id, wamid) = await InsertMessageAsync(userId, attempts: 1);

        await new StatusStore(Env.Database).ApplyAsync([Status(wamid, "DELIVERED", 2) with { MessageId = id, Attempt = 1 }],
            DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        Assert.That((await EventsAsync(id)).Select(e => e.Status), Is.EqualTo(new[] { "ACCEPTED", "DELIVERED" }));
    }

    [Test]
    public async Task Expiry_RecordsAnExpiredErrorEvent()
    {
        var userId = await CallbackUserAsync();
        var (id, _) = await InsertMessageAsync(userId, expired: true);

        await new SweepStore(Env.Database).ExpireAsync(DateTime.UtcNow, 10_000, CancellationToken.None);

        var events = await Poll.UntilAsync(() => EventsAsync(id), e => e.Count > 0);
        Assert.That(events.Select(e => (e.Status, e.Data.Str("error_code"))), Is.EqualTo(new[] { ("ERROR", "expired") }));
    }

    [Test]
    public async Task CancelPending_RecordsACancelledErrorEventPerMessage()
    {
        var userId = await CallbackUserAsync();
        var (first, _) = await InsertMessageAsync(userId);
        var (second, _) = await InsertMessageAsync(userId);
        var admin = new AdminStore(Env.Database);
        var email = await EmailAsync(userId);
        await admin.SetUserDisabledAsync(email, true, DateTime.UtcNow, CancellationToken.None);

        var cancelled = await admin.CancelPendingAsync(email, DateTime.UtcNow, CancellationToken.None);
        var again = await admin.CancelPendingAsync(email, DateTime.UtcNow, CancellationToken.None);

        Assert.That((cancelled, again), Is.EqualTo(((2, 0), (0, 0))));
        foreach (var id in new[] { first, second })
        {
            Assert.That((await EventsAsync(id)).Select(e => (e.Status, e.Data.Str("error_code"))),
                Is.EqualTo(new[] { ("ERROR", "cancelled") }));
        }
    }

    [Test]
    public async Task UserWithoutCallbacks_GetsNoEvents()
    {
        var user = await Env.CreateUserAsync();
        var (id, wamid) = await InsertMessageAsync(user.Id);

        await new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions())).AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);
        await new StatusStore(Env.Database).ApplyAsync([Status(wamid, "READ", 1)], DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false,
            CancellationToken.None);

        Assert.That(await EventsAsync(id), Is.Empty);
    }

    [Test]
    public async Task CallbacksOffAfterBeingOn_RecordNothing()
    {
        var userId = await CallbackUserAsync();
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE callback_settings SET url = NULL WHERE user_id = @userId", new { userId });
        }

        var (id, wamid) = await InsertMessageAsync(userId);
        await new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions())).AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);

        Assert.That(await EventsAsync(id), Is.Empty);
    }

    private static StatusEvent Status(string wamid, string status, int secondsAfter) =>
        new(wamid, status, Provider.AddSeconds(secondsAfter), status == "ERROR" ? "131026" : null,
            status == "ERROR" ? "undeliverable" : null);

    /// <summary>A user whose callbacks are on but whose endpoint is paused for good: events are recorded, never delivered.</summary>
    private static async Task<long> CallbackUserAsync()
    {
        var user = await Env.CreateUserAsync();
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO callback_settings (user_id, url, updated_at, paused_until)
            VALUES (@Id, 'https://hooks.agency.example/never', now(), 'infinity')
            """, new { user.Id });
        return user.Id;
    }

    private static async Task<string> EmailAsync(long userId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string>("SELECT email FROM users WHERE id = @userId", new { userId }) ?? "";
    }

    /// <summary>An UNSENT message no Dispatcher or sweeper will pick up by itself (its times lie far ahead).</summary>
    private static async Task<(long Id, string Wamid)> InsertMessageAsync(long userId, int attempts = 0, bool expired = false)
    {
        var wamid = $"wamid.events.{Guid.NewGuid():N}";
        await using var connection = await Env.Database.OpenConnectionAsync();
        var id = await connection.ExecuteScalarAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  created_at, updated_at, expires_at, available_at, sweep_at, attempts, first_attempt_at,
                                  attempted_at)
            VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'notice', '{}', @created, @created,
                    CASE WHEN @expired THEN now() - interval '1 second' ELSE now() + interval '1 day' END,
                    CASE WHEN @expired THEN now() - interval '1 second' ELSE now() + interval '1 day' END,
                    now() + interval '1 day', @attempts, CASE WHEN @attempts > 0 THEN @created END,
                    CASE WHEN @attempts > 0 THEN @created END)
            RETURNING id
            """, new { userId, created = Provider.AddMinutes(-1), attempts, expired });
        return (id, wamid);
    }

    private static async Task<List<RecordedEvent>> EventsAsync(long messageId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        var rows = await connection.QueryAsync<(string KeyType, string Data)>(
            "SELECT key_type, data::text FROM status_events WHERE message_id = @messageId ORDER BY id", new { messageId });
        return rows.Select(r => new RecordedEvent(r.KeyType, JsonDocument.Parse(r.Data).RootElement.Clone())).ToList();
    }

    private sealed record RecordedEvent(string KeyType, JsonElement Data)
    {
        public string Status => Data.Str("status");
    }
}
