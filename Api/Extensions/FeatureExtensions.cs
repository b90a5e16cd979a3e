using GovSg.Api.Callbacks;
using GovSg.Api.Keys;
using GovSg.Api.Messages;
using GovSg.Api.RateLimiting;
using GovSg.Api.Templates;
using GovSg.Api.Webhooks;

namespace GovSg.Api.Extensions;

public static class FeatureExtensions
{
    public static IHostApplicationBuilder AddFeatures(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagesOptions>().BindConfiguration(MessagesOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<MessageStore>();
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddOptions<TemplateOptions>().BindConfiguration(TemplateOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<GrantedTemplates>();
        builder.Services.AddSingleton<SendValidator>();
        builder.Services.AddSingleton<IdempotencyGate>();
        builder.Services.AddSingleton<SendService>();
        builder.Services.AddSingleton<BatchStore>();
        builder.Services.AddSingleton<BatchService>();
        builder.Services.AddSingleton<BatchSlots>();
        builder.Services.AddSingleton<KeyStore>();
        builder.Services.AddSingleton<RateLimitStore>();
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RateLimiting.RateLimiter>();
        builder.Services.AddSingleton<RateLimiting.ReadSlots>();
        builder.Services.AddSingleton<StatusWaiter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StatusWaiter>());
        builder.Services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<CallbackSettingsStore>();
        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<StatusPublisher>();
        builder.Services.AddSingleton<LargeWebhookBodies>();
        // Last, so it runs once everything it uses has started, and before the server listens.
        builder.Services.AddHostedService<StartupWarmup>();
        return builder;
    }
}
