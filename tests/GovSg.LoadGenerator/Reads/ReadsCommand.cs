using System.Net.Http.Headers;
using GovSg.Api.Admin;
using GovSg.Api.Auth;
using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Measurement;
using GovSg.LoadGenerator.Reporting;
using GovSg.LoadGenerator.Sending;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Reads;

/// <summary>
/// <c>reads</c>: times every documented shape of the list endpoint as the heavy seeded user, first one call at a time,
/// then with concurrent callers; <c>--seed</c> creates (or tops up) the data first.
/// </summary>
internal sealed class ReadsCommand(ReadsCommand.Options options, Connections connections, TimeProvider time) : IBenchmarkCommand
{
    private static readonly TimeSpan KeyValidity = TimeSpan.FromDays(1);

    internal sealed record Options(bool Seed, int SeedMessages, int SeedUsers, int Iterations, int Concurrency, TimeSpan RequestTimeout);

    public static ReadsCommand From(CommandLine line, Connections connections, TimeProvider time) => new(new Options(
        line.Flag("seed"),
        line.Int("seed-messages", 1, 100_000_000) ?? 1_000_000,
        line.Int("seed-users", 1, 10_000) ?? ReadSeeder.DefaultSpreadUsers,
        line.Int("iterations", 1, 1_000_000) ?? 100,
        line.Int("concurrency", 1, 1_000) ?? 8,
        line.Duration("request-timeout") ?? TimeSpan.FromSeconds(30)), connections, time);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var progress = Console.Error;
        await using var dataSource = Database.Create(connections.Postgres, 0);
        var admin = new AdminStore(dataSource);
        SeededUsers? seeded = null;
        if (options.Seed)
        {
            seeded = await new ReadSeeder(dataSource, time, progress).SeedAsync(options.SeedMessages, options.SeedUsers, cancellationToken);
        }

        var userId = seeded?.HeavyUserId ?? await admin.FindUserIdAsync(ReadSeeder.HeavyUserEmail, cancellationToken)
            ?? throw new UsageException("nothing seeded yet: run `reads --seed` first");
        var now = time.GetUtcNow().UtcDateTime;
        var (key, keyId, hash) = ApiKeys.Generate(Pepper.Load());
        await admin.InsertKeyAsync(userId, keyId, hash, ApiKeys.LastFive(key), "loadgen reads", "live", now, now + KeyValidity,
            cancellationToken);

        using var http = SendClient.CreateHttpClient(connections.Api, options.RequestTimeout);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var timer = new ReadTimer(http, time);
        var table = new TextTable("query shape", "rows", "seq p50", "seq p99", "seq max", "conc p50", "conc p99", "conc max", "errors");
        foreach (var shape in ReadShape.All(now))
        {
            await progress.WriteLineAsync($"[reads] {shape.Name}");
            AddRow(table, await timer.MeasureAsync(shape, options.Iterations, options.Concurrency, cancellationToken));
        }

        Console.WriteLine(seeded is null
            ? $"GET /v1/transactional/govsg as {ReadSeeder.HeavyUserEmail}"
            : $"GET /v1/transactional/govsg as {ReadSeeder.HeavyUserEmail} ({seeded.HeavyUserMessages:N0} messages; " +
              $"{seeded.OtherMessages:N0} more over {seeded.OtherUsers} other users)");
        Console.WriteLine($"{options.Iterations} calls per shape one at a time, then {options.Iterations} shared by " +
                          $"{options.Concurrency} concurrent callers; latencies in ms, successful calls only");
        table.WriteTo(Console.Out);
    }

    private static void AddRow(TextTable table, ReadTiming timing)
    {
        var errors = timing.Statuses.Except(200).Select(e => $"{(e.Status == StatusCounts.NoResponse ? "none" : e.Status)}×{e.Count}");
        table.Add(
            timing.Shape.Name,
            timing.Rows?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
            Figures.Milliseconds(timing.Sequential.Percentile(0.50)),
            Figures.Milliseconds(timing.Sequential.Percentile(0.99)),
            Figures.Milliseconds(timing.Sequential.Count > 0 ? timing.Sequential.Max : null),
            Figures.Milliseconds(timing.Concurrent.Percentile(0.50)),
            Figures.Milliseconds(timing.Concurrent.Percentile(0.99)),
            Figures.Milliseconds(timing.Concurrent.Count > 0 ? timing.Concurrent.Max : null),
            string.Join(", ", errors) is { Length: > 0 } text ? text : "none");
    }
}
