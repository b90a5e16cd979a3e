using System.ComponentModel.DataAnnotations;

namespace GovSg.Hosting;

public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    [Required] public string Host { get; set; } = "localhost";

    [Range(1, 65535)] public int Port { get; set; } = 5672;

    [Required] public string VirtualHost { get; set; } = "/";

    [Required] public string Username { get; set; } = "guest";

    [Required] public string Password { get; set; } = "guest";

    /// <summary>
    /// The Api only: how long a publish of send commands may wait for the broker's confirm before its commands wait for
    /// the broker's return instead; a batch send's answer waits for its publishes, and with the insert it stays within
    /// the 2 s SPEC §8 allows the broker to cost.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(1);
}
