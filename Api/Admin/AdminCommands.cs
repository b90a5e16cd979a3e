using System.Globalization;
using GovSg.Api.Auth;
using GovSg.Api.Callbacks;
using GovSg.Api.Database;
using GovSg.Api.Extensions;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Admin;

/// <summary>
/// The operator's command line (SPEC §7, §10): <c>migrate</c> and <c>admin ...</c>, verbs of the Api executable, run
/// against the database the Api's configuration names.
/// </summary>
public static class AdminCommands
{
    private const string Usage = """
        usage:
          migrate
          admin user upsert --email <email> --agency <agency> [--rate-limit <per second>] [--burst <tokens, default 60 × rate>] [--default-wait <0..10 s>] [--validity <hh:mm:ss>]
          admin user disable --email <email> [--cancel-pending]
          admin user enable --email <email>
          admin key create --email <email> [--label <label>] [--valid-days <days, default 180>] [--type live|test]
          admin key list --email <email>
          admin key revoke|disable|enable --key-id <key id>
          admin template import --file <templates.json>
          admin template grant|revoke --email <email> --template <id>
          admin callback set --email <email> (--url <https url> | --off)
          admin callback show --email <email>
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder();
        // A migration or cancelling a large backlog may rightly take longer than a request may.
        builder.Configuration[$"{DatabaseLimitOptions.SectionName}:{nameof(DatabaseLimitOptions.StatementTimeout)}"] ??= "00:00:00";
        builder.AddDatabase();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AdminStore>();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName);
        builder.Services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.SectionName);
        builder.Services.AddSingleton<CallbackSettingsStore>();
        builder.Services.AddSingleton<CallbackCommands>();
        using var host = builder.Build();

        var services = host.Services;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.TruncateToMilliseconds();
        var store = services.GetRequiredService<AdminStore>();
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, _) => cancellation.Cancel();
        var token = cancellation.Token;
        var options = Options(args);
        try
        {
            switch (args)
            {
                case ["migrate"]:
                    await services.GetRequiredService<MigrationRunner>().MigrateAsync(token);
                    return 0;
                case ["admin", "user", "upsert", ..]:
                    var userId = await store.UpsertUserAsync(Required(options, "email"), Required(options, "agency"),
                        OptionalInt(options, "rate-limit"), OptionalInt(options, "burst"), OptionalInt(options, "default-wait"),
                        options.TryGetValue("validity", out var validity) ? TimeSpan.Parse(validity, CultureInfo.InvariantCulture) : null,
                        now, token);
                    Console.WriteLine($"user {userId} {options["email"]}");
                    return 0;
                case ["admin", "user", "disable", ..]:
                    return await DisableUserAsync(store, options, now, token);
                case ["admin", "user", "enable", ..]:
                    return Report(await store.SetUserDisabledAsync(Required(options, "email"), false, now, token), "user enabled");
                case ["admin", "key", "create", ..]:
                    return await CreateKeyAsync(services, store, options, now, token);
                case ["admin", "key", "list", ..]:
                    foreach (var key in await store.ListKeysAsync(Required(options, "email"), token))
                    {
                        Console.WriteLine($"{key.KeyId}  type={key.Type}  label={key.Label}  created={key.CreatedAt:O}  last_used={key.LastUsedAt:O}  " +
                                          $"valid_until={key.ValidUntil:O}  revoked={key.RevokedAt:O}  disabled={key.DisabledAt:O}");
                    }

                    return 0;
                case ["admin", "key", "revoke", ..]:
                    return Report(await store.RevokeKeyAsync(Required(options, "key-id"), now, token), "key revoked");
                case ["admin", "key", var keyVerb and ("disable" or "enable"), ..]:
                    return Report(await store.SetKeyDisabledAsync(Required(options, "key-id"), keyVerb == "disable", now, token), $"key {keyVerb}d");
                case ["admin", "template", "import", ..]:
                    foreach (var template in TemplateDefinition.Load(Required(options, "file")))
                    {
                        await store.UpsertTemplateAsync(template, now, token);
                        Console.WriteLine($"template {template.Id} {template.WhatsAppTemplateName}");
                    }

                    return 0;
                case ["admin", "template", "grant", ..]:
                    return Report(await store.GrantAsync(Required(options, "email"), RequiredLong(options, "template"), now, token), "granted");
                case ["admin", "template", "revoke", ..]:
                    return Report(await store.RevokeGrantAsync(Required(options, "email"), RequiredLong(options, "template"), token), "grant revoked");
                case ["admin", "callback", "set", ..]:
                    await services.GetRequiredService<CallbackCommands>().SetAsync(Required(options, "email"),
                        options.ContainsKey("off") ? null : Required(options, "url"),
                        services.GetRequiredService<IOptions<CallbackOptions>>().Value.AllowInsecureLoopback, now, token);
                    return 0;
                case ["admin", "callback", "show", ..]:
                    await services.GetRequiredService<CallbackCommands>().ShowAsync(Required(options, "email"), token);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync(Usage);
                    return 2;
            }
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidOperationException
                                              or OptionsValidationException or IOException or Npgsql.PostgresException)
        {
            await Console.Error.WriteLineAsync($"error: {exception.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Disables the user (their keys answer 403 and no Dispatcher claims their messages); with --cancel-pending, their
    /// messages the provider has not accepted become ERROR <c>cancelled</c>, e.g. after a key was stolen.
    /// </summary>
    private static async Task<int> DisableUserAsync(AdminStore store, Dictionary<string, string> options, DateTime now,
        CancellationToken token)
    {
        var email = Required(options, "email");
        if (await store.SetUserDisabledAsync(email, true, now, token) == 0)
        {
            return Report(0, "user disabled");
        }

        Console.WriteLine("user disabled");
        if (options.ContainsKey("cancel-pending"))
        {
            Console.WriteLine($"{await store.CancelPendingAsync(email, now, token)} pending message(s) cancelled");
        }

        return 0;
    }

    private static async Task<int> CreateKeyAsync(IServiceProvider services, AdminStore store,
        Dictionary<string, string> options, DateTime now, CancellationToken token)
    {
        var email = Required(options, "email");
        var userId = await store.FindUserIdAsync(email, token) ?? throw new ArgumentException($"no user {email}");
        var pepper = services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (pepper.KeyPepper.Length < 32)
        {
            throw new ArgumentException("Auth:KeyPepper (env Auth__KeyPepper) must be set to the Api's pepper");
        }

        var (plainText, keyId, hash) = ApiKeys.Generate(pepper.PepperBytes);
        var type = options.GetValueOrDefault("type", "live");
        if (type is not ("live" or "test"))
        {
            throw new ArgumentException("--type must be live or test");
        }

        var validUntil = now.AddDays(OptionalInt(options, "valid-days") ?? 180);
        await store.InsertKeyAsync(userId, keyId, hash, ApiKeys.LastFive(plainText), options.GetValueOrDefault("label", "default"),
            type, now, validUntil, token);
        Console.WriteLine($"key id:      {keyId}");
        Console.WriteLine($"type:        {type}");
        Console.WriteLine($"valid until: {validUntil:O}");
        Console.WriteLine($"api key:     {plainText}");
        Console.WriteLine("The key is shown only once; store it now.");
        return 0;
    }

    private static int Report(int rows, string what)
    {
        Console.WriteLine(rows > 0 ? what : "nothing matched");
        return rows > 0 ? 0 : 1;
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                // An option followed by another option (or by nothing) is a flag, such as --cancel-pending.
                var isFlag = i + 1 == args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
                options[args[i][2..]] = isFlag ? "" : args[++i];
            }
        }

        return options;
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new ArgumentException($"--{name} is required");

    private static long RequiredLong(Dictionary<string, string> options, string name) =>
        long.Parse(Required(options, name), CultureInfo.InvariantCulture);

    private static int? OptionalInt(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
