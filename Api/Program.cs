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
        // Operator verbs share the Api image: `migrate` runs as a Kubernetes Job, `admin ...` from a shell. Any other word
        // (a mistyped verb) or a request for help goes to the verbs' parser too, which says what there is; the server
        // starts with no arguments, or only settings (`--urls ...`).
        if (args is [var first, ..] && (!first.StartsWith('-') || first is "-h" or "-?" or "--help"))
        {
            return await AdminCommands.RunAsync(args);
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddDatabase();
        builder.AddMessaging();
        builder.AddApiKeyAuthentication();
        builder.AddFeatures();

        await builder.RunAsync(app =>
        {
            app.UseServiceDefaults();
            app.UseApiKeyAuthentication();
            app.MapGroup("/v1").MapMessages().MapTemplates().MapWebhooks().MapKeys().MapCallbacks();
        });
        return Environment.ExitCode;
    }
}
