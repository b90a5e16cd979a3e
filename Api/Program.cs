using GovSg.Api.Admin;
using GovSg.Api.Callbacks;
using GovSg.Api.Extensions;
using GovSg.Api.Keys;
using GovSg.Api.Messages;
using GovSg.Api.Templates;
using GovSg.Api.Webhooks;
using GovSg.Hosting;

namespace GovSg.Api;

public partial class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Operator verbs share the Api image: `migrate` runs as a Kubernetes Job, `admin ...` from a shell.
        if (args is ["migrate", ..] or ["admin", ..])
        {
            return await AdminCommands.RunAsync(args);
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddDatabase();
        builder.AddMessaging();
        builder.AddApiKeyAuthentication();
        builder.AddFeatures();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGroup("/v1").MapMessages().MapTemplates().MapWebhooks().MapKeys().MapCallbacks();

        await BrokerLoginRefusedObserver.RunAsync(app);
        return Environment.ExitCode;
    }
}
