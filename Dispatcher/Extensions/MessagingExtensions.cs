using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using MassTransit;

namespace GovSg.Dispatcher.Extensions;

public static class MessagingExtensions
{
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder)
    {
        builder.AddRabbitMq(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            bus.AddConsumer<SendMessageConsumer, SendMessageConsumerDefinition>();
            bus.AddConsumer<SendMessagesConsumer, SendMessagesConsumerDefinition>();
            bus.AddConsumer<ProviderStatusConsumer, ProviderStatusConsumerDefinition>();
        });
        return builder;
    }
}
