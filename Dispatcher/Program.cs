using GovSg.Dispatcher.Extensions;
using GovSg.Hosting;

namespace GovSg.Dispatcher;

public partial class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddPostgres();
        builder.AddMessaging();
        builder.AddSending();
        builder.AddStatuses();
        builder.AddTestKeys();
        builder.AddSweeping();
        builder.AddCallbacks();

        await builder.RunAsync(app => app.MapServiceDefaults());
    }
}
