using GovSg.WhatsAppSimulator.Control;
using GovSg.WhatsAppSimulator.Extensions;
using GovSg.WhatsAppSimulator.Messages;
using GovSg.WhatsAppSimulator.Recipients;
using GovSg.WhatsAppSimulator.Templates;

namespace GovSg.WhatsAppSimulator;

/// <summary>
/// Stands in for Meta's WhatsApp Cloud API in local runs, tests and benchmarks: the send endpoint, signed status
/// webhooks, and a control API under <c>/_sim</c> that scripts failures and reads back what was sent.
/// </summary>
public partial class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.AddSimulator();

        var app = builder.Build();

        app.UseExceptionHandler();
        app.MapSendMessageApi();
        app.MapHealthChecks("/health");

        var control = app.MapGroup("/_sim");
        control.MapRecipientRulesApi();
        control.MapSettingsApi();
        control.MapSendHistoryApi();
        control.MapTemplatesApi();
        control.MapStatsApi();
        control.MapCallbackSinkApi();

        await app.RunAsync();
    }
}
