using System.Diagnostics;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>
/// Thousands of provider statuses for hundreds of messages, duplicated, shuffled and delivered concurrently through
/// the whole webhook path, must leave every message exactly where SPEC §4 says — whatever order they were applied in.
/// </summary>
public sealed class StatusStormTests
{
    private const int Messages = 400;
    private static readonly DateTime T0 = new(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc);

    private static TestSystem Env => TestEnvironment.Current;

    // Scenarios whose outcome does not depend on order (a failed before or after a delivered would).
    private static readonly (string[] Events, string Final)[] Scenarios =
    [
        (["sent", "delivered", "read"], "READ"),
        (["sent", "delivered"], "DELIVERED"),
        (["sent", "failed"], "ERROR"),
        (["read"], "READ"),
        (["sent", "read"], "READ"),
    ];

    [Test]
    public async Task Storm_OfShuffledDuplicatedStatuses_LeavesEveryMessageWhereTheRulesSay()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var prefix = $"wamid.storm-{Guid.NewGuid():N}-";
        var providerIds = Enumerable.Range(0, Messages).Select(i => prefix + i).ToArray();
        await InsertAcceptedAsync(user.Id, providerIds);

        var random = new Random(20261122);
        var statuses = new List<WebhookStatus>();
        for (var i = 0; i < Messages; i++)
        {
            foreach (var (word, offset) in Scenarios[i % Scenarios.Length].Events.Select((w, k) => (w, k)))
            {
                var status = new WebhookStatus(providerIds[i], word, T0.AddSeconds(offset + 1), word == "failed" ? 131026 : null);
                statuses.AddRange(Enumerable.Repeat(status, random.Next(1, 4)));
            }
        }

        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(statuses));
        var clock = Stopwatch.StartNew();
        using var client = Env.Client(null);
        var responses = await Task.WhenAll(statuses.Chunk(50).Select(chunk => Webhooks.PostSignedAsync(client, chunk)));
        Assert.That(responses.Select(r => (int)r.StatusCode), Is.All.EqualTo(200));

        var rows = await Poll.UntilAsync(() => ReadAsync(prefix), r => r.Count(IsFinal) == Messages, TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine($"{statuses.Count} statuses for {Messages} messages applied in {clock.Elapsed.TotalSeconds:0.00} s " +
                                  $"({statuses.Count / clock.Elapsed.TotalSeconds:0} statuses/s through webhook, broker and dispatcher)");

        foreach (var row in rows)
        {
            var index = int.Parse(row.ProviderMessageId[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
            var (events, final) = Scenarios[index % Scenarios.Length];
            DateTime? At(string word) => events.Contains(word) ? T0.AddSeconds(Array.IndexOf(events, word) + 1) : null;
            Assert.That(row.Status, Is.EqualTo(final), row.ProviderMessageId);
            Assert.That((row.SentAt, row.DeliveredAt, row.ReadAt, row.ErroredAt),
                Is.EqualTo((At("sent"), At("delivered"), At("read"), At("failed"))), row.ProviderMessageId);
            Assert.That(row.ErrorCode, Is.EqualTo(final == "ERROR" ? "131026" : null), row.ProviderMessageId);
        }

        static bool IsFinal(StormRow row) => row.Status is "READ" or "ERROR" ||
                                             (row.Status == "DELIVERED" && row.SentAt is not null);
    }

    private static async Task InsertAcceptedAsync(long userId, string[] providerIds)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, accepted_at, provider_message_id, expires_at, available_at,
                                  sweep_at, attempts)
            SELECT @userId, 3, '+6591234567', '{}', 'en_GB', 'govsg_service_notice_v1', '{}', 'ACCEPTED', @t0, @t0, @t0,
                   provider_id, now() + interval '1 day', now(), now() + interval '1 day', 1
            FROM unnest(@providerIds) AS provider_id
            """, new { userId, providerIds, t0 = T0 });
    }

    private static async Task<List<StormRow>> ReadAsync(string prefix)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return (await connection.QueryAsync<StormRow>("""
            SELECT provider_message_id, status::text AS status, sent_at, delivered_at, read_at, errored_at, error_code
            FROM messages WHERE provider_message_id LIKE @pattern
            """, new { pattern = prefix + "%" })).ToList();
    }

    private sealed class StormRow
    {
        public string ProviderMessageId { get; init; } = "";
        public string Status { get; init; } = "";
        public DateTime? SentAt { get; init; }
        public DateTime? DeliveredAt { get; init; }
        public DateTime? ReadAt { get; init; }
        public DateTime? ErroredAt { get; init; }
        public string? ErrorCode { get; init; }
    }
}
