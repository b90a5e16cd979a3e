using System.Net;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using GovSg.Dispatcher.Sweeping;

namespace GovSg.Dispatcher.Extensions;

public static class FeatureExtensions
{
    public static IHostApplicationBuilder AddSending(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WhatsAppOptions>().BindConfiguration(WhatsAppOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RetryOptions>().BindConfiguration(RetryOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient<WhatsAppClient>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Connections are recycled so DNS changes on Meta's side are picked up.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = 1_024,
                // An HTTP/2 connection carries a limited number of streams (often 100); more calls in flight than that
                // open further connections instead of queueing into the call's timeout.
                EnableMultipleHttp2Connections = true,
            })
            .ConfigureHttpClient(http =>
            {
                // The client applies its own timeout (WhatsApp:Timeout) to tell "timed out" apart from other failures.
                http.Timeout = Timeout.InfiniteTimeSpan;
                // HTTP/2 where the provider offers it (graph.facebook.com does): hundreds of calls in flight share a
                // few connections. Plain http (the simulator) stays on HTTP/1.1.
                http.DefaultRequestVersion = HttpVersion.Version20;
                http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            });
        builder.Services.AddSingleton<SendStore>();
        builder.Services.AddSingleton<FailurePolicy>();
        builder.Services.AddSingleton<SendOutcomeWriter>();
        builder.Services.AddSingleton<ProviderGate>();
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddHostedService<SendDrain>();
        builder.Services.AddHostedService<ThroughputShare>();
        builder.Services.AddHealthChecks().AddCheck<ProviderGate>("provider", tags: ["ready"]);
        return builder;
    }

    public static IHostApplicationBuilder AddStatuses(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StatusOptions>().BindConfiguration(StatusOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<StatusStore>();
        builder.Services.AddSingleton<StatusApplier>();
        return builder;
    }

    public static IHostApplicationBuilder AddSweeping(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SweepOptions>().BindConfiguration(SweepOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SweepStore>();
        builder.Services.AddSingleton<SendQueueProbe>();
        builder.Services.AddHostedService<Sweeper>();
        return builder;
    }
}
