using System.Text.Json;
using System.Text.Json.Serialization;
using GovSg.WhatsAppSimulator.Control;
using GovSg.WhatsAppSimulator.Messages;
using GovSg.WhatsAppSimulator.Recipients;
using GovSg.WhatsAppSimulator.Templates;
using GovSg.WhatsAppSimulator.Webhooks;
using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Extensions;

internal static class SimulatorServiceExtensions
{
    public static IHostApplicationBuilder AddSimulator(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.SectionName)
            .PostConfigure<IHostEnvironment>((options, environment) =>
            {
                if (options.TemplatesFile.Length > 0)
                {
                    options.TemplatesFile = Path.GetFullPath(options.TemplatesFile, environment.ContentRootPath);
                }
            })
            .ValidateDataAnnotations()
            .Validate(options => File.Exists(options.TemplatesFile), "Simulator:TemplatesFile must name an existing file.")
            .Validate(
                options => options.WebhookUrl.Length == 0 || SimulationSettings.IsWebhookUrl(options.WebhookUrl),
                "Simulator:WebhookUrl must be empty or an absolute http(s) URL.")
            .ValidateOnStart();

        // Meta's Graph API and the control API both speak snake_case.
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // Meta matches field names exactly; the web defaults would read "TO" as "to".
            options.SerializerOptions.PropertyNameCaseInsensitive = false;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            options.SerializerOptions.Converters.Add(
                new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        });

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SettingsStore>();
        services.AddSingleton<SimulatorStats>();
        services.AddSingleton<CallbackSink>();
        services.AddSingleton<TemplateCatalog>();
        services.AddSingleton<RecipientRules>();
        services.AddSingleton<ThroughputLimiter>();
        services.AddSingleton<SendHistory>();
        services.AddSingleton<WebhookQueue>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<StatusScheduler>();
        services.AddHostedService<WebhookDispatcher>();

        services.AddHttpClient(WebhookSender.HttpClientName)
            .ConfigureHttpClient((provider, client) => client.Timeout = TimeSpan.FromMilliseconds(
                provider.GetRequiredService<IOptions<SimulatorOptions>>().Value.WebhookTimeoutMs));

        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddHealthChecks();

        return builder;
    }
}
