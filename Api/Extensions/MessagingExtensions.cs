using System.ComponentModel.DataAnnotations;
using GovSg.Api.Messages;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Extensions;

public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    [Required] public string Host { get; set; } = "localhost";

    [Range(1, 65535)] public int Port { get; set; } = 5672;

    [Required] public string VirtualHost { get; set; } = "/";

    [Required] public string Username { get; set; } = "guest";

    [Required] public string Password { get; set; } = "guest";

    /// <summary>
    /// How long a request waits for the broker to confirm its command before leaving it to wait for the broker's return;
    /// with the insert, the request stays within the 2 s SPEC §8 allows the broker to cost.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

public static class MessagingExtensions
{
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit 8 otherwise posts a usage report (versions, time zone, endpoint names) to its vendor's host a
            // few minutes after start: nothing leaves the system unasked (SECURITY.md). Note that the environment
            // variable MASSTRANSIT_USAGE_TELEMETRY=true would turn it back on; deployments never set it.
            bus.DisableUsageTelemetry();
            // The Api must keep accepting while the broker is down (SPEC §8): a broken broker makes it degraded, not
            // unready, so the load balancer keeps sending it traffic. Messages wait as UNSENT and are published later.
            bus.ConfigureHealthCheckOptions(health =>
            {
                health.MinimalFailureStatus = HealthStatus.Degraded;
                health.Tags.Add("ready");
            });
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                rabbit.Host(options.Host, (ushort)options.Port, options.VirtualHost, host =>
                {
                    host.Username(options.Username);
                    host.Password(options.Password);
                });
                // Bodies are just the contract's JSON, with MassTransit's metadata in AMQP headers: a SendMessage is
                // ~30 bytes instead of a ~1 KB envelope, which is most of what the broker writes per message.
                rabbit.UseRawJsonSerializer(isDefault: true);
                // The Api consumes nothing, so without its bus endpoint running the bus would report healthy through a
                // broker outage: the endpoint's connection is what tells CommandPublisher the broker is down, and its
                // return (Ready) when to publish the commands that waited.
                rabbit.AutoStart = true;
                rabbit.ConfigureEndpoints(context);
            });
        });

        // The Api consumes nothing, so stopping the bus has nothing to finish; but against a broker that hangs (one
        // shutting down) it would wait for a goodbye that never comes and sit out the host's whole shutdown timeout.
        builder.Services.Configure<MassTransitHostOptions>(host => host.StopTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton<CommandPublisher>();
        return builder;
    }
}
