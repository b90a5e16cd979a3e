using System.ComponentModel.DataAnnotations;

namespace GovSg.Dispatcher.Statuses;

public sealed class StatusOptions
{
    public const string SectionName = "Statuses";

    /// <summary>How long a status for a provider id we have not recorded yet is retried before it is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan UnknownMessageRetention { get; set; } = TimeSpan.FromMinutes(10);

    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")] public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(1);
}
