using Dapper;
using GovSg.Api.Admin;
using GovSg.LoadGenerator.Sending;
using GovSg.LoadGenerator.Setup;
using Npgsql;

namespace GovSg.LoadGenerator.Reads;

/// <summary>
/// Seeds the list benchmark straight into <c>messages</c>: one heavy user with its own share, and the same number again
/// spread over other users so the heavy user's rows sit among others', as in production. Rows are spread over the last
/// 90 days with a realistic mix of final statuses and timestamps that follow the lifecycle. No row is UNSENT: the
/// Dispatcher's sweeper would take those for lost commands and try to send them. Re-running tops each group up to its
/// target and otherwise does nothing.
/// </summary>
internal sealed class ReadSeeder(NpgsqlDataSource dataSource, TimeProvider time, TextWriter progress)
{
    public const string HeavyUserEmail = "loadgen-reads-heavy@loadgen.invalid";

    /// <summary>The users the second half is spread over, unless told otherwise.</summary>
    public const int DefaultSpreadUsers = 100;

    private const string Agency = "GovSg load generator, list reads";

    // One statement per chunk keeps each transaction and its progress line reasonable.
    private const int ChunkRows = 100_000;
    private const int SeedCommandTimeoutSeconds = 600;

    private const string CountSql = "SELECT count(*) FROM messages WHERE user_id = ANY(@userIds)";

    // Shares: READ 55%, DELIVERED 25%, SENT 8%, ACCEPTED 4%, ERROR 8%. Each level draws before the next uses the draw:
    // PostgreSQL does not flatten a subquery with volatile outputs, so every random() runs once per row.
    private const string SeedSql = """
        INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                              status, created_at, updated_at, accepted_at, sent_at, delivered_at, read_at, errored_at,
                              error_code, error_description, provider_message_id, expires_at, available_at, sweep_at, attempts)
        SELECT user_id, @templateId, recipient, @params::jsonb, 'en_GB', @templateName, @paramOrder,
               status, created_at, created_at + last_change,
               CASE WHEN status <> 'ERROR' THEN created_at + interval '1 second' END,
               CASE WHEN status IN ('SENT', 'DELIVERED', 'READ') THEN created_at + interval '3 seconds' END,
               CASE WHEN status IN ('DELIVERED', 'READ') THEN created_at + interval '8 seconds' END,
               CASE WHEN status = 'READ' THEN created_at + last_change END,
               CASE WHEN status = 'ERROR' THEN created_at + last_change END,
               CASE WHEN status = 'ERROR' THEN '131026' END,
               CASE WHEN status = 'ERROR' THEN 'Message undeliverable' END,
               CASE WHEN status <> 'ERROR' THEN 'wamid.loadgen.' || gen_random_uuid() END,
               created_at + interval '24 hours', created_at, created_at, 1
        FROM (
            SELECT user_id, recipient, created_at, status,
                   CASE status
                       WHEN 'ACCEPTED' THEN interval '1 second'
                       WHEN 'SENT' THEN interval '3 seconds'
                       WHEN 'DELIVERED' THEN interval '8 seconds'
                       WHEN 'ERROR' THEN interval '2 seconds'
                       ELSE interval '10 seconds' + read_lag * interval '6 hours'
                   END AS last_change
            FROM (
                SELECT user_id, recipient, created_at, read_lag,
                       CASE
                           WHEN draw < 0.55 THEN 'READ'
                           WHEN draw < 0.80 THEN 'DELIVERED'
                           WHEN draw < 0.88 THEN 'SENT'
                           WHEN draw < 0.92 THEN 'ACCEPTED'
                           ELSE 'ERROR'
                       END::message_status AS status
                FROM (
                    SELECT (@userIds::bigint[])[1 + (g % cardinality(@userIds::bigint[]))] AS user_id,
                           '+65' || (80000000 + floor(random() * 20000000)::bigint) AS recipient,
                           @now - random() * interval '90 days' AS created_at,
                           random() AS draw,
                           random() AS read_lag
                    FROM generate_series(1, @count) AS g
                ) AS drawn
            ) AS decided
        ) AS timed
        """;

    /// <summary>
    /// Fresh statistics, so the first timed queries are planned for the table as it now is, and a vacuumed table, so
    /// autovacuum does not catch up on the seed during a measurement.
    /// </summary>
    private const string VacuumSql = "VACUUM (ANALYZE) messages";

    public async Task<SeededUsers> SeedAsync(int messagesPerGroup, int spreadUsers, CancellationToken cancellationToken)
    {
        var admin = new AdminStore(dataSource);
        var now = time.GetUtcNow().UtcDateTime;
        var heavy = await admin.UpsertUserAsync(HeavyUserEmail, Agency, RunUsers.RateLimitPerSecond, null, null, null, now,
            cancellationToken);
        var spread = new long[spreadUsers];
        for (var i = 0; i < spreadUsers; i++)
        {
            spread[i] = await admin.UpsertUserAsync($"loadgen-reads-{i + 1:D3}@loadgen.invalid", Agency, RunUsers.RateLimitPerSecond,
                null, null, null, now, cancellationToken);
        }

        var inserted = await TopUpAsync("the heavy user", [heavy], messagesPerGroup, now, cancellationToken)
                       + await TopUpAsync($"{spreadUsers} other users", spread, messagesPerGroup, now, cancellationToken);
        if (inserted > 0)
        {
            await ExecuteAsync(VacuumSql, new { }, cancellationToken);
        }

        return new SeededUsers(heavy, await CountAsync([heavy], cancellationToken), await CountAsync(spread, cancellationToken), spreadUsers);
    }

    private async Task<long> TopUpAsync(string group, long[] userIds, int target, DateTime now, CancellationToken cancellationToken)
    {
        var missing = target - await CountAsync(userIds, cancellationToken);
        if (missing <= 0)
        {
            await progress.WriteLineAsync($"[seed] {group}: already {target:N0} messages or more, nothing to do");
            return 0;
        }

        for (long done = 0; done < missing;)
        {
            var count = (int)Math.Min(ChunkRows, missing - done);
            await ExecuteAsync(SeedSql, new
            {
                userIds,
                count,
                now,
                templateId = OfficerCall.TemplateId,
                templateName = OfficerCall.WhatsAppTemplateName,
                @params = OfficerCall.ParamsJson,
                paramOrder = OfficerCall.ParamOrder,
            }, cancellationToken);
            done += count;
            await progress.WriteLineAsync($"[seed] {group}: {done:N0} of {missing:N0} messages inserted");
        }

        return missing;
    }

    private async Task<long> CountAsync(long[] userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(CountSql, new { userIds },
            cancellationToken: cancellationToken));
    }

    private async Task ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, commandTimeout: SeedCommandTimeoutSeconds,
            cancellationToken: cancellationToken));
    }
}

/// <summary>Who the list reads run as, and how many messages the seed holds.</summary>
internal sealed record SeededUsers(long HeavyUserId, long HeavyUserMessages, long OtherMessages, int OtherUsers);
