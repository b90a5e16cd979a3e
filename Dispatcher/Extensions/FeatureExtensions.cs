using GovSg.Dispatcher.Callbacks;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using GovSg.Dispatcher.Sweeping;
using GovSg.Dispatcher.TestKeys;
using Microsoft.Extensions.Options;
using Refit;

namespace GovSg.Dispatcher.Extensions;

public static class FeatureExtensions
{
    public static IHostApplicationBuilder AddSending(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WhatsAppOptions>().BindConfiguration(WhatsAppOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RetryOptions>().BindConfiguration(RetryOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRefitGeneratedClient<IWhatsAppCloudApi>(WhatsAppCloudApi.Settings())
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Connections are recycled so DNS changes on Meta's side are picked up.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = 1_024,
                // An HTTP/2 connection carries a limited number of streams (often 100); more calls in flight than that
                // open further connections instead of queueing into the call's timeout.
                EnableMultipleHttp2Connections = true,
            })
            .ConfigureHttpClient((services, http) =>
            {
                http.BaseAddress = services.GetRequiredService<IOptions<WhatsAppOptions>>().Value.BaseUrl;
                // The client applies its own timeout (WhatsApp:Timeout) to tell "timed out" apart from other failures.
                http.Timeout = Timeout.InfiniteTimeSpan;
            });
        builder.Services.AddSingleton<WhatsAppClient>();
        builder.Services.AddSingleton<SendStore>();
        builder.Services.AddSingleton<DisabledUsers>();
        builder.Services.AddSingleton<FailurePolicy>();
        builder.Services.AddSingleton<SendOutcomeWriter>();
        builder.Services.AddSingleton<PaceStore>();
        builder.Services.AddSingleton<ProviderGate>();
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddSingleton<SendBatches>();
        builder.Services.AddHostedService<SendDrain>();
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

    public static IHostApplicationBuilder AddTestKeys(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TestKeyOptions>().BindConfiguration(TestKeyOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TestSender>();
        builder.Services.AddSingleton<SimulatedReceiptStore>();
        builder.Services.AddSingleton<SimulatedReceipts>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SimulatedReceipts>());
        return builder;
    }

    public static IHostApplicationBuilder AddSweeping(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SweepOptions>().BindConfiguration(SweepOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SweepStore>();
        builder.Services.AddSingleton<SweepSchedule>();
        builder.Services.AddSingleton<SendCommandSizes>();
        builder.Services.AddSingleton<SendQueueProbe>();
        builder.Services.AddHostedService<Sweeper>();
        return builder;
    }

    public static IHostApplicationBuilder AddCallbacks(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient<CallbackClient>()
            .ConfigurePrimaryHttpMessageHandler(services => CallbackClient.CreateHandler(
                services.GetRequiredService<IOptions<CallbackOptions>>().Value.AllowInsecureLoopback))
            // The client applies Callbacks:Timeout itself, to tell a timeout apart from other failures.
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton<CallbackStore>();
        builder.Services.AddSingleton(services => new CallbackRetryPolicy(
            services.GetRequiredService<IOptions<CallbackOptions>>(), services.GetRequiredService<TimeProvider>(), Random.Shared));
        builder.Services.AddHostedService<CallbackWorker>();
        return builder;
    }
}
