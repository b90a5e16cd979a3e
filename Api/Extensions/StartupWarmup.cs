using System.Diagnostics;
using GovSg.Api.Auth;
using GovSg.Api.Messages;
using GovSg.Api.Templates;
using Npgsql;

namespace GovSg.Api.Extensions;

/// <summary>
/// Does the one-time work of the send path before the server listens (hosted services start first): the first
/// PostgreSQL connection, on which Npgsql loads the database's types; the first use of the key and template queries;
/// the bus's connection and its publish topology. A replica restarted under load otherwise made its first requests
/// wait on all of that together, up to 2 s (the fault suite's SIGTERM scenario). Bounded, and never fatal: a database or
/// broker that is down must not keep the Api from starting, as it answers 503 or keeps accepting then (SPEC §8).
/// </summary>
public sealed class StartupWarmup(
    ApiKeyStore keys,
    TemplateStore templates,
    CommandPublisher publisher,
    ILogger<StartupWarmup> logger) : IHostedService
{
    /// <summary>The longest the warm-up may delay listening.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(MaxWait);
        try
        {
            // Also cut from outside: Npgsql's connection open does not stop at the token while a server hangs mid-way.
            await Task.WhenAll(WarmDatabaseAsync(bounded.Token), publisher.WarmAsync(bounded.Token))
                .WaitAsync(MaxWait, cancellationToken);
            logger.LogInformation("Warmed up in {Elapsed} ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(exception, "Starting without a full warm-up after {Elapsed} ms",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Lookups that find nothing: they read, and store nothing.
    private async Task WarmDatabaseAsync(CancellationToken cancellationToken)
    {
        await keys.FindAsync("warm-up", cancellationToken);
        await templates.FindGrantedAsync(0, 0, cancellationToken);
    }
}
