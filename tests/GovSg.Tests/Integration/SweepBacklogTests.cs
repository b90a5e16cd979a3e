using Dapper;
using GovSg.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

/// <summary>
/// The sweep behind a send-queue backlog (SPEC §5, §8): a command waiting in the queue is not re-published every pick-up
/// deadline. In tests the deadline is 2 s and the sweep looks every 200 ms. One Dispatcher at 50 calls/s (a prefetch of
/// 200 commands, a backlog threshold of 20 messages) in front of 1,200 queued commands has the shape of production's
/// backlog at a test's size.
/// </summary>
[NonParallelizable]
public sealed class SweepBacklogTests
{
    private static readonly Dictionary<string, string?> SlowDispatcher = new()
    {
        ["WhatsApp:MessagesPerSecond"] = "50",
        ["WhatsApp:MaxConcurrentSends"] = "50",
        ["Sweep:BacklogThreshold"] = "20",
    };

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public Task DueRetriesWaitingBehindABacklog_HaveTheirCommandPublishedOnce() =>
        BehindABacklogAsync(async (user, tap) =>
        {
            // Claimed once before, and due now (a retry, a pause or a hold that ended): no command in flight.
            var retries = await InsertAsync(user, 10, attempts: 1, storedAgo: TimeSpan.Zero, sweepIn: TimeSpan.Zero);

            await Task.Delay(TimeSpan.FromSeconds(10));
            var published = (await tap.MessageIdsAsync()).Where(retries.Contains).GroupBy(id => id)
                .ToDictionary(g => g.Key, g => g.Count());
            var waiting = await CountAsync(retries, "status = 'UNSENT' AND attempts = 1");

            return () =>
            {
                Assert.That(waiting, Is.EqualTo(retries.Length), "the retries' commands were still behind the backlog");
                Assert.That(published.Keys, Is.EquivalentTo(retries), "each retry's command went out");
                Assert.That(published.Values, Is.All.EqualTo(1), "and only once, five deadlines later");
            };
        });

    // SPEC §5: "A command not picked up within 60 s is re-published." The Api's command for a message is lost (the Api
    // was killed before the broker had it). The Dispatcher could hold a full prefetch, 2,000 commands at 200/s, which is
    // more than a deadline of sending; but with the queue empty and few messages UNSENT it has taken everything it
    // held soon after the deadline, and re-publishes the lost command then, not a second deadline later.
    [Test]
    public async Task LostCommand_WithLittleInFlight_IsRepublishedAboutItsDeadline()
    {
        var deadline = TimeSpan.FromSeconds(8);
        var user = await Env.CreateUserAsync();
        await Env.Dispatcher.DisposeAsync();
        try
        {
            await using var dispatcher = await Env.StartDispatcherAsync(new Dictionary<string, string?>
            {
                ["WhatsApp:MessagesPerSecond"] = "200",
                ["Sweep:PickUpDeadline"] = deadline.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            });
            var unsent = await UnsentAsync();
            Assume.That(unsent, Is.LessThan(400), "messages other tests left UNSENT, which the Dispatcher must allow for");
            await using var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessages");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var lost = (await InsertAsync(user, 1, attempts: 0, storedAgo: TimeSpan.Zero, sweepIn: deadline)).Single();

            await Poll.UntilAsync(async () => (await tap.MessageIdsAsync()).Contains(lost), seen => seen, TimeSpan.FromSeconds(40));
            var republished = clock.Elapsed;

            Assert.That(republished, Is.GreaterThanOrEqualTo(deadline - TimeSpan.FromSeconds(0.5)), "not before its deadline");
            // Two deadlines (16 s) before: the whole prefetch's 10 s of sending, capped at a deadline, after the deadline.
            Assert.That(republished, Is.LessThan(deadline + TimeSpan.FromSeconds(5)), $"{unsent} other message(s) were UNSENT");
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    private static async Task<long> UnsentAsync()
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE status = 'UNSENT'");
    }

    /// <summary>
    /// Runs <paramref name="measure"/> with the slow Dispatcher alone in front of a queued backlog and a tap on the
    /// sweep's commands, then lets the backlog drain before checking what it measured: a Dispatcher stopped with hundreds
    /// of commands fetched outlasts its shutdown timeout while its pace hands them back.
    /// </summary>
    private static async Task BehindABacklogAsync(Func<TestUser, BrokerTap, Task<Action>> measure)
    {
        var user = await Env.CreateUserAsync();
        await Env.Dispatcher.DisposeAsync();
        try
        {
            await using var slow = await Env.StartDispatcherAsync(SlowDispatcher);
            await using (var connection = await TestSystem.BrokerConnection().CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync())
            {
                Assert.That((await channel.QueueDeclarePassiveAsync(QueueNames.SendMessage)).ConsumerCount, Is.EqualTo(1),
                    "the slow Dispatcher is the send queue's only consumer");
            }

            var backlog = await QueueBacklogAsync(user);
            Action check;
            await using (var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessages"))
            {
                check = await measure(user, tap);
            }

            await Poll.UntilAsync(() => CountAsync(backlog, "status = 'UNSENT'"), n => n == 0, TimeSpan.FromSeconds(60));
            check();
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>1,200 messages stored now, their commands queued one by one, and their own sweeps an hour away.</summary>
    private static async Task<long[]> QueueBacklogAsync(TestUser user)
    {
        var backlog = await InsertAsync(user, 1_200, attempts: 0, storedAgo: TimeSpan.Zero, sweepIn: TimeSpan.FromHours(1));
        var bus = Env.Api.Services.GetRequiredService<IBus>();
        foreach (var id in backlog)
        {
            await bus.Publish(new SendMessage(id));
        }

        return backlog;
    }

    /// <summary>
    /// Messages stored as the Api stores them (template 3 takes no params), with no command published: a never-claimed
    /// one available since it was stored, a claimed one due again (available) when its sweep comes.
    /// </summary>
    private static async Task<long[]> InsertAsync(TestUser user, int count, int attempts, TimeSpan storedAgo, TimeSpan sweepIn)
    {
        var recipients = Enumerable.Range(0, count).Select(_ => "+65" + TestRecipients.Next().Local).ToArray();
        await using var connection = await Env.Database.OpenConnectionAsync();
        return [.. await connection.QueryAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, expires_at, available_at, sweep_at, attempts,
                                  first_attempt_at, attempted_at, call_open, key_type)
            SELECT @userId, 3, r, '{}', 'en_GB', 'govsg_service_notice_v1', '{}', 'UNSENT', now() - @storedAgo,
                   now() - @storedAgo, now() + interval '1 day',
                   CASE WHEN @attempts > 0 THEN now() + @sweepIn ELSE now() - @storedAgo END, now() + @sweepIn, @attempts, CASE WHEN @attempts > 0 THEN now() END, CASE WHEN @attempts > 0 THEN now() END,
                   false, 'live'
            FROM unnest(@recipients) AS r
            RETURNING id
            """, new { userId = user.Id, recipients, attempts, storedAgo, sweepIn })];
    }

    private static async Task<int> CountAsync(long[] ids, string condition)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>($"SELECT count(*) FROM messages WHERE id = ANY(@ids) AND ({condition})",
            new { ids });
    }
}
