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
    /// The Api only: how long a request waits for the broker to confirm its command before leaving it to wait for the
    /// broker's return; with the insert, the request stays within the 2 s SPEC §8 allows the broker to cost.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(1);
}
