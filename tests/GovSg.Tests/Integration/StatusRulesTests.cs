using Dapper;
using GovSg.Dispatcher.Statuses;

namespace GovSg.Tests.Integration;

/// <summary>
/// The status rules of SPEC §4 as a table — every current status × every provider event — applied by the Dispatcher's
/// SQL against real PostgreSQL.
/// </summary>
public sealed class StatusRulesTests
{
    private static readonly DateTime Before = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime EventTime = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static TestSystem Env => TestEnvironment.Current;

    // current status, event, expected status, the event's own column afterwards ("event" time, "before" = kept, "null",
    // "clamped" = the later lifecycle timestamp already set, which the event's time may not pass), and whether the
    // event's error code is recorded
    [TestCase("UNSENT", "SENT", "SENT", "event", false)]
    [TestCase("UNSENT", "DELIVERED", "DELIVERED", "event", false)]
    [TestCase("UNSENT", "READ", "READ", "event", false)]
    [TestCase("UNSENT", "ERROR", "ERROR", "event", true)]
    [TestCase("ACCEPTED", "SENT", "SENT", "event", false)]
    [TestCase("ACCEPTED", "DELIVERED", "DELIVERED", "event", false)]
    [TestCase("ACCEPTED", "READ", "READ", "event", false)]
    [TestCase("ACCEPTED", "ERROR", "ERROR", "event", true)]
    [TestCase("SENT", "SENT", "SENT", "before", false)]
    [TestCase("SENT", "DELIVERED", "DELIVERED", "event", false)]
    [TestCase("SENT", "READ", "READ", "event", false)]
    [TestCase("SENT", "ERROR", "ERROR", "event", true)]
    [TestCase("DELIVERED", "SENT", "DELIVERED", "clamped", false)]
    [TestCase("DELIVERED", "DELIVERED", "DELIVERED", "before", false)]
    [TestCase("DELIVERED", "READ", "READ", "event", false)]
    [TestCase("DELIVERED", "ERROR", "DELIVERED", "null", false)]
    [TestCase("READ", "SENT", "READ", "clamped", false)]
    [TestCase("READ", "DELIVERED", "READ", "clamped", false)]
    [TestCase("READ", "READ", "READ", "before", false)]
    [TestCase("READ", "ERROR", "READ", "null", false)]
    [TestCase("ERROR", "SENT", "ERROR", "event", false)]
    [TestCase("ERROR", "DELIVERED", "ERROR", "event", false)]
    [TestCase("ERROR", "READ", "ERROR", "event", false)]
    [TestCase("ERROR", "ERROR", "ERROR", "before", false)]
    public async Task Apply_FromEveryStatus_FollowsTheRules(string current, string @event, string expected, string column,
        bool recordsError)
    {
        var providerId = await CreateMessageAsync(current);

        await ApplyAsync(new StatusEvent(providerId, @event, EventTime, "131026", "Message undeliverable"));

        var row = await ReadAsync(providerId);
        Assert.That(row.Status, Is.EqualTo(expected));
        var value = @event switch { "SENT" => row.SentAt, "DELIVERED" => row.DeliveredAt, "READ" => row.ReadAt, _ => row.ErroredAt };
        Assert.That(value, Is.EqualTo(column switch { "event" => EventTime, "before" or "clamped" => Before, _ => (DateTime?)null }),
            "the event's timestamp column");
        Assert.That(row.ErrorCode, Is.EqualTo(recordsError ? "131026" : current == "ERROR" ? "first" : null));
        var changed = column is "event" or "clamped" || expected != current;
        Assert.That(row.UpdatedAt, changed ? Is.GreaterThan(Before) : Is.EqualTo(Before), "updated_at moves with a change, only then");
    }

    [TestCase("SENT")]
    [TestCase("DELIVERED")]
    [TestCase("READ")]
    public async Task Apply_WhenTheColumnIsAlreadySet_NeverOverwritesIt(string @event)
    {
        var providerId = await CreateMessageAsync("ACCEPTED");
        await ApplyAsync(new StatusEvent(providerId, @event, EventTime, null, null));

        await ApplyAsync(new StatusEvent(providerId, @event, EventTime.AddHours(1), null, null));

        var row = await ReadAsync(providerId);
        var column = @event switch { "SENT" => row.SentAt, "DELIVERED" => row.DeliveredAt, _ => row.ReadAt };
        Assert.That(column, Is.EqualTo(EventTime));
    }

    [Test]
    public async Task Apply_ManyEventsForOneMessageInOneBatch_AppliesThemInOrder()
    {
        var providerId = await CreateMessageAsync("ACCEPTED");

        await ApplyAsync(
            new StatusEvent(providerId, "READ", EventTime.AddSeconds(2), null, null),
            new StatusEvent(providerId, "SENT", EventTime, null, null),
            new StatusEvent(providerId, "DELIVERED", EventTime.AddSeconds(1), null, null),
            new StatusEvent(providerId, "ERROR", EventTime.AddSeconds(3), "131026", "late failure"));

        var row = await ReadAsync(providerId);
        Assert.That(row.Status, Is.EqualTo("READ"));
        Assert.That((row.SentAt, row.DeliveredAt, row.ReadAt, row.ErroredAt),
            Is.EqualTo((EventTime, EventTime.AddSeconds(1), EventTime.AddSeconds(2), (DateTime?)null)));
    }

    private static async Task ApplyAsync(params StatusEvent[] events)
    {
        var store = new StatusStore(Env.Database);
        var (parked, _, _) = await store.ApplyAsync(events, DateTime.UtcNow, TimeSpan.FromMinutes(5), withSendTraces: false, CancellationToken.None);
        Assert.That(parked, Is.Zero, "every event here names a known message");
    }

    /// <summary>
    /// A message in the given status with a provider id; that status's own timestamp column is set. It is valid, due
    /// and swept only tomorrow, so the live Dispatcher's sweeper neither expires nor claims it while the test runs.
    /// </summary>
    private static async Task<string> CreateMessageAsync(string status)
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var providerId = $"wamid.rules-{Guid.NewGuid():N}";
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, accepted_at, sent_at, delivered_at, read_at, errored_at,
                                  error_code, provider_message_id, expires_at, available_at, sweep_at)
            VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'govsg_service_notice_v1', '{}', @status::message_status,
                    @before, @before,
                    CASE WHEN @status <> 'UNSENT' THEN @before END,
                    CASE WHEN @status = 'SENT' THEN @before END,
                    CASE WHEN @status = 'DELIVERED' THEN @before END,
                    CASE WHEN @status = 'READ' THEN @before END,
                    CASE WHEN @status = 'ERROR' THEN @before END,
                    CASE WHEN @status = 'ERROR' THEN 'first' END,
                    @providerId, now() + interval '1 day', now() + interval '1 day', now() + interval '1 day')
            """, new { userId = user.Id, status, before = Before, providerId });
        return providerId;
    }

    private static async Task<StatusRow> ReadAsync(string providerId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.QuerySingleAsync<StatusRow>("""
            SELECT status::text AS status, sent_at, delivered_at, read_at, errored_at, error_code, updated_at
            FROM messages WHERE provider_message_id = @providerId
            """, new { providerId });
    }

    private sealed class StatusRow
    {
        public string Status { get; init; } = "";
        public DateTime? SentAt { get; init; }
        public DateTime? DeliveredAt { get; init; }
        public DateTime? ReadAt { get; init; }
        public DateTime? ErroredAt { get; init; }
        public string? ErrorCode { get; init; }
        public DateTime UpdatedAt { get; init; }
    }
}
