using System.ComponentModel.DataAnnotations;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Extensions;

public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    [Required] public string Host { get; set; } = "localhost";

    [Range(1, 65535)] public int Port { get; set; } = 5672;

    [Required] public string VirtualHost { get; set; } = "/";

    [Required] public string Username { get; set; } = "guest";

    [Required] public string Password { get; set; } = "guest";
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
            bus.SetKebabCaseEndpointNameFormatter();
            bus.AddConsumer<SendMessageConsumer, SendMessageConsumerDefinition>();
            bus.AddConsumer<SendMessagesConsumer, SendMessagesConsumerDefinition>();
            bus.AddConsumer<ProviderStatusConsumer, ProviderStatusConsumerDefinition>();
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
                rabbit.ConfigureEndpoints(context);
            });
        });
        return builder;
    }
}
