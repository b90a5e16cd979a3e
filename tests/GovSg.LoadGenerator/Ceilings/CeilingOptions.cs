using GovSg.LoadGenerator.Cli;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary>How hard and how long to probe the machine's ceilings.</summary>
internal sealed record CeilingOptions(int Concurrency, TimeSpan Duration)
{
    /// <summary>The figure SPEC §2 quotes for this machine was measured with 16 connections.</summary>
    public const int DefaultConcurrency = 16;

    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(10);

    /// <summary>Connection set-up and the first statements are not the steady state being measured.</summary>
    public static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
}

/// <summary>The machine's ceilings measured in this run, at one concurrency: pgbench INSERTs/s and confirmed publishes/s.</summary>
internal sealed record CeilingResults(int Concurrency, double InsertsPerSecond, double PublishesPerSecond);
