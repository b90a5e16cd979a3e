using GovSg.LoadGenerator.Ceilings;
using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Cpu;
using GovSg.LoadGenerator.Pipeline;

namespace GovSg.LoadGenerator.Sending;

/// <summary>The options of <c>send</c>; README.md describes each.</summary>
internal sealed record SendOptions(
    string RunId,
    LoadPlan Plan,
    int Users,
    TimeSpan RequestTimeout,
    DrainTarget Drain,
    TimeSpan DrainTimeout,
    CeilingOptions? Ceilings,
    string PidFolder,
    int History,
    string? CallbackUrl)
{
    public static SendOptions From(CommandLine line, TimeProvider time)
    {
        var rate = line.Int("rate", 1, 1_000_000);
        var concurrency = line.Int("concurrency", 1, 100_000);
        if (rate is null == concurrency is null)
        {
            throw new UsageException("give either --rate <per second> (open loop) or --concurrency <n> (closed loop)");
        }

        var messages = line.Int("messages", 1, int.MaxValue);
        var duration = line.Duration("duration") ?? (messages is null ? TimeSpan.FromSeconds(60) : null);
        var plan = new LoadPlan(rate, concurrency, line.Duration("warmup") ?? TimeSpan.FromSeconds(30), duration, messages,
            line.Int("max-in-flight", 1, 1_000_000) ?? 1_000, line.Int("batch", 1, 1_000) ?? 1);
        var ceilings = new CeilingOptions(
            line.Int("ceiling-concurrency", 1, 1_000) ?? concurrency ?? CeilingOptions.DefaultConcurrency,
            line.Duration("ceiling-duration") ?? CeilingOptions.DefaultDuration);
        return new SendOptions(
            RunIds.From(line, time),
            plan,
            line.Int("users", 1, 10_000) ?? 10,
            line.Duration("request-timeout") ?? TimeSpan.FromSeconds(30),
            DrainTargets.Parse(line.String("drain"), DrainTarget.Read),
            line.Duration("drain-timeout") ?? TimeSpan.FromMinutes(10),
            line.Flag("no-ceilings") ? null : ceilings,
            CpuCommand.PidFolder(line),
            line.Int("history", 0, 100_000_000) ?? 0,
            line.String("callbacks"));
    }
}
