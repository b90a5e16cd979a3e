using GovSg.Api.Messages;
using GovSg.Api.Templates;

namespace GovSg.Api.Extensions;

public static class FeatureExtensions
{
    public static IHostApplicationBuilder AddMessageFeatures(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MessageStore>();
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddSingleton<SendService>();
        builder.Services.AddSingleton<StatusWaiter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StatusWaiter>());
        return builder;
    }
}
