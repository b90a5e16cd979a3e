using Dapper;
using GovSg.Api.Admin;
using GovSg.Api.Auth;
using GovSg.Api.Callbacks;
using Npgsql;

namespace GovSg.LoadGenerator.Setup;

/// <summary>
/// The run's agency users, written as the operator CLI writes them (AdminStore, ApiKeys): each with its own key, the
/// demo templates granted, and a rate limit far above any load, so the benchmark measures the pipeline rather than the
/// per-user limit. The agency name carries the run id, which is how <c>drain</c> and <c>discard</c> find them later.
/// Warm-up sends go out as users of their own, so the pipeline figures, read per user, never include them. With a
/// callback URL, each user's status events are POSTed there (SPEC §11.1), set as the agency route sets it.
/// </summary>
internal sealed class RunUsers(NpgsqlDataSource dataSource, TimeProvider time)
{
    public const int RateLimitPerSecond = 1_000_000;

    private static readonly long[] Templates = [1, 2, 3];
    private static readonly TimeSpan KeyValidity = TimeSpan.FromDays(2);

    private const string FindSql = "SELECT id FROM users WHERE agency = ANY(@agencies) ORDER BY id";

    public async Task<IReadOnlyList<BenchUser>> CreateAsync(string runId, int count, bool warmup, byte[] pepper,
        string? callbackUrl, CancellationToken cancellationToken)
    {
        var admin = new AdminStore(dataSource);
        var callbacks = new CallbackSettingsStore(dataSource);
        var now = time.GetUtcNow().UtcDateTime;
        var (prefix, agency) = warmup ? ($"loadgen-{runId}-warmup", WarmupAgency(runId)) : ($"loadgen-{runId}", Agency(runId));
        var users = new List<BenchUser>(count);
        for (var i = 1; i <= count; i++)
        {
            var email = $"{prefix}-{i:D4}@loadgen.invalid";
            var userId = await admin.UpsertUserAsync(email, agency, RateLimitPerSecond, null, null, null, now, cancellationToken);
            foreach (var templateId in Templates)
            {
                await admin.GrantAsync(email, templateId, now, cancellationToken);
            }

            var (key, keyId, hash) = ApiKeys.Generate(pepper);
            await admin.InsertKeyAsync(userId, keyId, hash, ApiKeys.LastFive(key), $"loadgen {runId}", "live", now,
                now + KeyValidity, cancellationToken);
            if (callbackUrl is not null)
            {
                await callbacks.SetAsync(userId, callbackUrl, now, cancellationToken);
            }

            users.Add(new BenchUser(userId, key));
        }

        return users;
    }

    /// <summary>The run's measured users, and its warm-up users when asked for.</summary>
    public async Task<long[]> FindAsync(string runId, bool withWarmup, CancellationToken cancellationToken)
    {
        string[] agencies = withWarmup ? [Agency(runId), WarmupAgency(runId)] : [Agency(runId)];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var ids = await connection.QueryAsync<long>(new CommandDefinition(FindSql, new { agencies },
            cancellationToken: cancellationToken));
        return ids.ToArray();
    }

    private static string Agency(string runId) => $"GovSg load generator, run {runId}";

    private static string WarmupAgency(string runId) => $"{Agency(runId)} (warm-up)";
}
