using Dapper;
using GovSg.LoadGenerator.Measurement;
using GovSg.LoadGenerator.Sending;
using Npgsql;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary>
/// Single-row INSERTs per second into a scratch table shaped like the hot columns of <c>messages</c> — an identity primary
/// key and the (user, created_at) index the list reads use — each its own transaction, as the Api's insert is. The real
/// table has more indexes (partial ones for UNSENT rows among them), so this is the ceiling, not a prediction.
/// </summary>
internal sealed class InsertCeiling(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const int Users = 100;

    private const string CreateSql = """
        DROP TABLE IF EXISTS loadgen_insert_ceiling;
        CREATE TABLE loadgen_insert_ceiling (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id     bigint         NOT NULL,
            template_id bigint         NOT NULL,
            recipient   text           NOT NULL,
            params      jsonb          NOT NULL,
            status      message_status NOT NULL,
            created_at  timestamptz    NOT NULL,
            updated_at  timestamptz    NOT NULL,
            expires_at  timestamptz    NOT NULL
        );
        CREATE INDEX loadgen_insert_ceiling_user_created ON loadgen_insert_ceiling (user_id, created_at DESC, id DESC);
        """;

    private const string InsertSql = """
        INSERT INTO loadgen_insert_ceiling (user_id, template_id, recipient, params, status, created_at, updated_at, expires_at)
        VALUES (@userId, @templateId, @recipient, @params::jsonb, 'UNSENT', @now, @now, @expiresAt)
        RETURNING id
        """;

    private const string DropSql = "DROP TABLE IF EXISTS loadgen_insert_ceiling";

    public async Task<double> MeasureAsync(CeilingOptions options, CancellationToken cancellationToken)
    {
        await ExecuteAsync(CreateSql, cancellationToken);
        try
        {
            var recipients = new Recipients();
            long inserted = 0;
            return await Throughput.MeasureAsync(options.Concurrency, CeilingOptions.Warmup, options.Duration,
                token => InsertAsync(1 + (Interlocked.Increment(ref inserted) % Users), recipients.Next(), token), time, cancellationToken);
        }
        finally
        {
            // Dropped even when the run is cancelled: the scratch table must not outlive it.
            await ExecuteAsync(DropSql, CancellationToken.None);
        }
    }

    private async Task InsertAsync(long userId, string recipient, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(InsertSql, new
        {
            userId,
            templateId = OfficerCall.TemplateId,
            recipient,
            @params = OfficerCall.ParamsJson,
            now,
            expiresAt = now.AddDays(1),
        }, cancellationToken: cancellationToken));
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, cancellationToken: cancellationToken));
    }
}
