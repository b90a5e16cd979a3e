namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// How to load the Api: at a fixed <see cref="Rate"/> (open loop) or with <see cref="Concurrency"/> requests always
/// outstanding (closed loop); for <see cref="Duration"/> after <see cref="Warmup"/>, or until <see cref="Messages"/> have
/// been sent when no duration is given. With a <see cref="BatchSize"/> above 1 each request is a batch send of that
/// many messages (SPEC §3.8) instead of a single send.
/// </summary>
internal sealed record LoadPlan(int? Rate, int? Concurrency, TimeSpan Warmup, TimeSpan? Duration, long? Messages, int MaxInFlight,
    int BatchSize = 1)
{
    public string Describe()
    {
        var shape = Rate is { } rate ? $"open loop at {rate:N0}/s (at most {MaxInFlight:N0} in flight)" : $"closed loop, {Concurrency} concurrent";
        var length = Duration is { } duration ? $"for {duration.TotalSeconds:0.#} s" : $"for {Messages:N0} messages";
        var warmup = Warmup <= TimeSpan.Zero ? "no warm-up"
            : Rate is null ? $"after a {Warmup.TotalSeconds:0.#} s warm-up"
            : $"after a {Warmup.TotalSeconds:0.#} s warm-up ramp";
        var requests = BatchSize > 1 ? $", batches of {BatchSize:N0}" : "";
        return $"{shape}{requests} {length}, {warmup}";
    }
}
