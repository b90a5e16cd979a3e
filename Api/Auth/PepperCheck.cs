using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Api.Auth;

/// <summary>
/// Checks that the configured key pepper is the one this database's API keys were made with (migration 0028): the
/// database keeps a fingerprint of it, recorded by the first Api or <c>admin key create</c> that used one. An Api with
/// another pepper would answer 401 to every agency, and a key made with one would never work, so the Api refuses to
/// start and the CLI refuses to create keys. The fingerprint is an HMAC of a fixed label keyed with the pepper: it tells
/// peppers apart and, for a pepper of 32 random characters, gives nothing away.
/// </summary>
public sealed class PepperCheck(NpgsqlDataSource dataSource, IOptions<AuthOptions> options, TimeProvider time,
    ILogger<PepperCheck> logger) : IHostedService
{
    private static readonly byte[] Label = Encoding.UTF8.GetBytes("GovSg API key pepper");

    /// <summary>What a mismatch is called, wherever it is found.</summary>
    public const string Mismatch =
        "Auth:KeyPepper (env Auth__KeyPepper) is not the pepper this database's API keys were made with";

    // The pepper recorded, or ours when none was.
    private const string RecordSql = """
        WITH recorded AS (
            INSERT INTO key_pepper (fingerprint, recorded_at) VALUES (@fingerprint, @now)
            ON CONFLICT (only_row) DO NOTHING
            RETURNING fingerprint
        )
        SELECT fingerprint FROM recorded UNION ALL SELECT fingerprint FROM key_pepper
        """;

    /// <summary>True when the configured pepper is the recorded one (recording it when none is).</summary>
    public async Task<bool> MatchesAsync(CancellationToken cancellationToken)
    {
        var ours = HMACSHA256.HashData(options.Value.PepperBytes, Label);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var recorded = await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(RecordSql,
            new { fingerprint = ours, now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
        return CryptographicOperations.FixedTimeEquals(recorded, ours);
    }

    /// <summary>
    /// At the Api's start: another pepper refuses to start, as a setting that fails validation does. A database that
    /// cannot be read (or does not answer within the warm-up's bound) does not: the Api starts and answers 503 then
    /// (SPEC §8), and a later start checks again.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        bool matches;
        try
        {
            matches = await MatchesAsync(cancellationToken).WaitAsync(Extensions.StartupWarmup.MaxWait, cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            logger.LogWarning(exception, "Could not check the key pepper against the database; starting unchecked");
            return;
        }

        if (!matches)
        {
            throw new OptionsValidationException(AuthOptions.SectionName, typeof(AuthOptions), [Mismatch]);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
