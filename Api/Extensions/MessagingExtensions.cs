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
                // Once it has been reached, that is: a broker never reached since the start leaves it unready (Readiness).
                bus.ConfigureHealthCheckOptions(health =>
                {
                    health.MinimalFailureStatus = HealthStatus.Degraded;
                    health.Tags.Add("ready");
                }),
            // The Api consumes nothing, so without its bus endpoint running the bus would report healthy through a
            // broker outage: the endpoint's connection is what tells CommandPublisher the broker is down, and its
            // return (Ready) when to publish the commands that waited.
            rabbit => rabbit.AutoStart = true);

        // The Api consumes nothing, so stopping the bus has nothing to finish; but against a broker that hangs (one
        // shutting down) it would wait for a goodbye that never comes and sit out the host's whole shutdown timeout.
        builder.Services.Configure<MassTransitHostOptions>(host => host.StopTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton<CommandPublisher>();
        // After the bus, so that on shutdown it stops first: it publishes what the last requests left queued.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CommandPublisher>());
        return builder;
    }
}
