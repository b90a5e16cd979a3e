using GovSg.Api.Messages;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GovSg.Api.Extensions;

public static class MessagingExtensions
{
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder)
    {
        builder.AddRabbitMq(bus =>
            // The Api must keep accepting while the broker is down (SPEC §8): a broken broker makes it degraded, not
            // unready, so the load balancer keeps sending it traffic. Messages wait as UNSENT and are published later.
            bus.ConfigureHealthCheckOptions(health =>
            {
                health.MinimalFailureStatus = HealthStatus.Degraded;
                health.Tags.Add("ready");
            }));
        builder.Services.AddSingleton<CommandPublisher>();
        return builder;
    }
}
