using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Callbacks;
using GovSg.Api.Database;
using GovSg.Api.Extensions;
using GovSg.Api.Keys;
using GovSg.Contracts;
using GovSg.Hosting;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Admin;

/// <summary>
/// The operator's command line (SPEC §7, §10): <c>migrate</c> and <c>admin ...</c>, verbs of the Api executable, run
/// against the database the Api's configuration names. System.CommandLine parses it: every verb answers
/// <c>--help</c>, and an unknown option or a value out of range is refused (exit 2) before anything touches the
/// database. To add a verb, write a method that returns <see cref="Verb"/> and list it in <see cref="Verbs"/>.
/// </summary>
public static class AdminCommands
{
    /// <summary>A shorter validity would expire messages that wait in an ordinary backlog or for their first retry.</summary>
    private static readonly TimeSpan MinimumValidity = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan MaximumValidity = TimeSpan.FromDays(30);

    /// <summary>A trillion ids: years of sends at the provider's highest rate, and far from a bigint's end.</summary>
    private const long MaximumSkippedIds = 1_000_000_000_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = Verbs().Parse(args);
        var code = await parsed.InvokeAsync();
        // A command line that could not be parsed answers 2, as Unix tools do, apart from a verb that ran and failed (1).
        return parsed.Errors.Count > 0 ? 2 : code;
    }

    private static RootCommand Verbs() => new("Operator verbs of the GovSg Api, run against the database its configuration names.")
    {
        Migrate(),
        new Command("admin", "Manage users, API keys, templates, grants and status callbacks.")
        {
            new Command("user", "Agency users and their limits.") { UserUpsert(), UserList(), UserShow(), UserDisable(), UserEnable() },
            new Command("key", "Users' API keys.")
            {
                KeyCreate(), KeyList(), KeyRevoke(), KeySetDisabled("disable", disabled: true), KeySetDisabled("enable", disabled: false),
            },
            new Command("template", "Templates and which users may send them.") { TemplateImport(), TemplateList(), TemplateGrant(), TemplateRevoke() },
            new Command("callback", "Where a user's status callbacks go (SPEC §11.1).") { CallbackSet(), CallbackShow() },
        },
    };

    private static Command Migrate()
    {
        var skipIds = Checked(new Option<long>("--skip-ids")
        {
            Description = "After a restore from a backup, or a fail-over to a standby that lagged: also move every id sequence on " +
                          "by this many, more than the ids issued since the restored point, so none is issued again [default: 0].",
        }, count => count is >= 0 and <= MaximumSkippedIds, $"must be between 0 and {MaximumSkippedIds}");
        return Verb("migrate", "Apply the numbered SQL migrations not yet applied (forward only: a database a newer build migrated is refused; one runner at a time).",
            [skipIds], async (admin, parsed, token) =>
            {
                var runner = admin.Services.GetRequiredService<MigrationRunner>();
                await runner.MigrateAsync(token);
                if (parsed.GetValue(skipIds) is var count and > 0)
                {
                    foreach (var (sequence, next) in await runner.SkipIdsAsync(count, token))
                    {
                        Console.WriteLine($"{sequence}: the next id is {next}");
                    }
                }

                return 0;
            });
    }

    private static Command UserUpsert()
    {
        var email = Email();
        var agency = Agency("The agency the user sends for [required for a new user].");
        // A token per 10 µs is the finest the buckets keep (PostgreSQL's intervals count microseconds), and far beyond
        // what one WhatsApp number sends; a validity of 30 days is the longest a message is worth sending late.
        var rateLimit = Checked(new Option<int?>("--rate-limit") { Description = "Messages per second, 1 to 100000 [default for a new user: 10]." },
            rate => rate is null or (> 0 and <= 100_000), "must be between 1 and 100000");
        var burst = Checked(new Option<int?>("--burst") { Description = "Messages the user may send at once, 1 to 10000000 [default: 60 × the rate]." },
            tokens => tokens is null or (> 0 and <= 10_000_000), "must be between 1 and 10000000");
        var defaultWait = Checked(new Option<int?>("--default-wait")
        {
            Description = "Seconds a send waits for the provider when it asks no Prefer: wait (nor Prefer: respond-async), 0 to 10 [default for a new user: 0].",
        }, seconds => seconds is null or (>= 0 and <= 10), "must be between 0 and 10");
        var validity = Checked(new Option<TimeSpan?>("--validity")
        {
            Description = "How long a message may wait for the provider, [d.]hh:mm:ss, a minute to 30 days [default for a new user: 1.00:00:00].",
        }, time => time is null || (time >= MinimumValidity && time <= MaximumValidity), "must be between a minute and 30 days");
        return Verb("upsert", "Create a user, or change the given settings of an existing one.",
            [email, agency, rateLimit, burst, defaultWait, validity], async (admin, parsed, token) =>
            {
                var address = parsed.GetRequiredValue(email);
                var userId = await admin.Store.SaveUserAsync(address, parsed.GetValue(agency), parsed.GetValue(rateLimit),
                                 parsed.GetValue(burst), parsed.GetValue(defaultWait), parsed.GetValue(validity), admin.Now, token)
                             ?? throw new ArgumentException($"no user {address}: a new user needs --agency");
                Console.WriteLine($"user {userId} {address}");
                return 0;
            });
    }

    private static Command UserList()
    {
        var agency = Agency("Only the users of this agency.");
        return Verb("list", "List the users: id, email, agency, limits and whether disabled.", [agency], async (admin, parsed, token) =>
        {
            foreach (var user in await admin.Store.ListUsersAsync(parsed.GetValue(agency), token))
            {
                Console.WriteLine(Describe(user));
            }

            return 0;
        });
    }

    private static Command UserShow()
    {
        var email = Email();
        return Verb("show", "Show a user's limits, state and granted templates.", [email], async (admin, parsed, token) =>
        {
            var address = parsed.GetRequiredValue(email);
            var user = await admin.Store.ShowUserAsync(address, token) ?? throw new ArgumentException($"no user {address}");
            Console.WriteLine(Describe(user));
            Console.WriteLine($"templates granted: {(user.Templates.Length == 0 ? "none" : string.Join(", ", user.Templates))}");
            return 0;
        });
    }

    private static string Describe(UserSummary user) =>
        $"user {user.Id} {user.Email}  agency={user.Agency}  rate_limit={user.RateLimitPerSecond}/s  " +
        $"burst={user.RateLimitBurst?.ToString(CultureInfo.InvariantCulture) ?? "60 × the rate"}  " +
        $"default_wait={user.DefaultWaitSeconds}s  validity={user.MessageValidity:c}  created={user.CreatedAt:O}  disabled={user.DisabledAt:O}";

    /// <summary>
    /// Disables the user (their keys answer 403 and no Dispatcher claims their messages); with --cancel-pending, their
    /// messages the provider has not accepted become ERROR <c>cancelled</c>, e.g. after a key was stolen.
    /// </summary>
    private static Command UserDisable()
    {
        var email = Email();
        var cancelPending = new Option<bool>("--cancel-pending")
        {
            Description = "Also end the user's messages the provider has not accepted (ERROR cancelled).",
        };
        return Verb("disable", "Disable a user: their keys stop working and their messages are not sent.", [email, cancelPending],
            async (admin, parsed, token) =>
            {
                var address = parsed.GetRequiredValue(email);
                if (Report(await admin.Store.SetUserDisabledAsync(address, true, admin.Now, token), "user disabled",
                        $"no user {address}") != 0)
                {
                    return 1;
                }

                if (parsed.GetValue(cancelPending))
                {
                    var (cancelled, marked) = await admin.Store.CancelPendingAsync(address, admin.Now, token);
                    Console.WriteLine($"{cancelled} pending message(s) cancelled");
                    if (marked > 0)
                    {
                        Console.WriteLine($"{marked} more in a provider call, or held to reconcile one: each is cancelled " +
                            "when that ends, unless the provider took it");
                    }
                }

                return 0;
            });
    }

    private static Command UserEnable()
    {
        var email = Email();
        return Verb("enable", "Enable a disabled user again; their messages still valid are sent.", [email], async (admin, parsed, token) =>
        {
            var address = parsed.GetRequiredValue(email);
            return Report(await admin.Store.SetUserDisabledAsync(address, false, admin.Now, token), "user enabled", $"no user {address}");
        });
    }

    private static Command KeyCreate()
    {
        var email = Email();
        var label = Checked(new Option<string>("--label") { Description = "What the key is for.", DefaultValueFactory = _ => "default" },
            text => text.Length is >= 1 and <= CreateKeyRequest.MaxLabelLength && !DisplayText.HasControlCharacters(text),
            $"must be 1 to {CreateKeyRequest.MaxLabelLength} characters, none of them control characters");
        var validDays = Checked(new Option<int>("--valid-days")
        {
            Description = $"Days until the key expires, 1 to {CreateKeyRequest.MaxValidDays}.",
            DefaultValueFactory = _ => CreateKeyRequest.DefaultValidDays,
        }, days => days is >= 1 and <= CreateKeyRequest.MaxValidDays, $"must be between 1 and {CreateKeyRequest.MaxValidDays}");
        var type = new Option<string>("--type")
        {
            Description = "live keys send to WhatsApp; test keys never reach it (SPEC §11.2).",
            DefaultValueFactory = _ => KeyType.Live,
        }.AcceptOnlyFromAmong([.. KeyType.All]);
        return Verb("create", "Create an API key for a user and print it, once.", [email, label, validDays, type],
            (admin, parsed, token) => CreateKeyAsync(admin, parsed.GetRequiredValue(email), parsed.GetRequiredValue(label),
                parsed.GetValue(validDays), parsed.GetRequiredValue(type), token));
    }

    private static async Task<int> CreateKeyAsync(Operator admin, string email, string label, int validDays, string type,
        CancellationToken token)
    {
        var userId = await RequireUserAsync(admin, email, token);
        var pepper = admin.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (pepper.KeyPepper.Length < 32)
        {
            throw new ArgumentException("Auth:KeyPepper (env Auth__KeyPepper) must be set to the Api's pepper");
        }

        if (!await admin.Services.GetRequiredService<PepperCheck>().MatchesAsync(token))
        {
            throw new ArgumentException($"{PepperCheck.Mismatch}: a key made with it would never work");
        }

        var (plainText, keyId, hash) = ApiKeys.Generate(pepper.PepperBytes);
        var validUntil = admin.Now.AddDays(validDays);
        await admin.Store.InsertKeyAsync(userId, keyId, hash, ApiKeys.LastFive(plainText), label, type, admin.Now, validUntil, token);
        Console.WriteLine($"key id:      {keyId}");
        Console.WriteLine($"type:        {type}");
        Console.WriteLine($"valid until: {validUntil:O}");
        Console.WriteLine($"api key:     {plainText}");
        Console.WriteLine("The key is shown only once; store it now.");
        return 0;
    }

    private static Command KeyList()
    {
        var email = Email();
        return Verb("list", "List a user's keys (never the keys themselves).", [email], async (admin, parsed, token) =>
        {
            var address = parsed.GetRequiredValue(email);
            await RequireUserAsync(admin, address, token);
            foreach (var key in await admin.Store.ListKeysAsync(address, token))
            {
                // The label is the key holder's text (a key may make keys, SPEC §3.9): last, and as a JSON string, so it
                // cannot pass for fields of its own (a "created=" or "revoked=" of its choosing, found by an outside
                // review) and every character past ASCII shows as its code.
                Console.WriteLine($"{key.KeyId}  type={key.Type}  created={key.CreatedAt:O}  last_used={key.LastUsedAt:O}  " +
                                  $"valid_until={key.ValidUntil:O}  revoked={key.RevokedAt:O}  disabled={key.DisabledAt:O}  " +
                                  $"made_by={key.MadeBy ?? "operator"}  label={JsonSerializer.Serialize(key.Label)}");
            }

            return 0;
        });
    }

    private static Command KeyRevoke()
    {
        var keyId = KeyId();
        var withKeysItMade = new Option<bool>("--with-keys-it-made")
        {
            Description = "Also revoke the keys made with it, and the keys those made (`made_by` in `admin key list`), e.g. after it was stolen.",
        };
        return Verb("revoke", "Revoke a key for good.", [keyId, withKeysItMade], async (admin, parsed, token) =>
        {
            var id = parsed.GetRequiredValue(keyId);
            if (!parsed.GetValue(withKeysItMade))
            {
                return Report(await admin.Store.RevokeKeyAsync(id, admin.Now, token), "key revoked", $"no key {id}");
            }

            var revoked = await admin.Store.RevokeKeyAndItsKeysAsync(id, admin.Now, token);
            foreach (var (revokedId, already) in revoked)
            {
                Console.WriteLine($"{revokedId}  {(already ? "was revoked already" : "revoked")}");
            }

            return Report(revoked.Count, $"{revoked.Count(k => !k.Already)} key(s) revoked", $"no key {id}");
        });
    }

    private static Command KeySetDisabled(string verb, bool disabled)
    {
        var keyId = KeyId();
        return Verb(verb, disabled ? "Disable a key until it is enabled again." : "Enable a disabled key again.", [keyId],
            async (admin, parsed, token) =>
            {
                // A revoked key is revoked for good: enabling (or disabling) it would only say something untrue.
                var id = parsed.GetRequiredValue(keyId);
                return Report(await admin.Store.SetKeyDisabledAsync(id, disabled, admin.Now, token), $"key {verb}d",
                    $"no key {id} that is not revoked");
            });
    }

    private static Command TemplateImport()
    {
        var file = Text("--file", "A JSON file holding an array of templates (see deploy/local/templates.json).");
        return Verb("import", "Create or update templates from a file.", [file], async (admin, parsed, token) =>
        {
            // All or none: a file refused half-way would leave some templates new and the rest old.
            var templates = TemplateDefinition.Load(parsed.GetRequiredValue(file));
            await admin.Store.UpsertTemplatesAsync(templates, admin.Now, token);
            foreach (var template in templates)
            {
                Console.WriteLine($"template {template.Id} {template.WhatsAppTemplateName}");
            }

            return 0;
        });
    }

    private static Command TemplateList() =>
        Verb("list", "List the templates: id, name, WhatsApp name and parameters.", [], async (admin, _, token) =>
        {
            foreach (var template in await admin.Store.ListTemplatesAsync(token))
            {
                Console.WriteLine($"{template.Id}  name={template.Name}  whatsapp={template.WhatsappTemplateName}  " +
                                  $"params=[{string.Join(", ", template.Params)}]  updated={template.UpdatedAt:O}");
            }

            return 0;
        });

    private static Command TemplateGrant()
    {
        var (email, template) = (Email(), TemplateId());
        return Verb("grant", "Let a user send a template.", [email, template], async (admin, parsed, token) =>
        {
            var (address, id) = (parsed.GetRequiredValue(email), parsed.GetValue(template));
            await RequireUserAsync(admin, address, token);
            return Report(await admin.Store.GrantAsync(address, id, admin.Now, token), "granted", $"no template {id}");
        });
    }

    private static Command TemplateRevoke()
    {
        var (email, template) = (Email(), TemplateId());
        return Verb("revoke", "Stop a user sending a template.", [email, template], async (admin, parsed, token) =>
        {
            var (address, id) = (parsed.GetRequiredValue(email), parsed.GetValue(template));
            await RequireUserAsync(admin, address, token);
            return Report(await admin.Store.RevokeGrantAsync(address, id, token), "grant revoked", $"{address} has no grant of template {id}");
        });
    }

    private static Command CallbackSet()
    {
        var email = Email();
        var url = new Option<string?>("--url") { Description = "The https URL status events are POSTed to." };
        var off = new Option<bool>("--off") { Description = "Turn callbacks off (pending events are discarded)." };
        var command = Verb("set", "Set a user's callback URL, or turn callbacks off; prints the signing secret when one is created.",
            [email, url, off], async (admin, parsed, token) =>
            {
                await admin.Services.GetRequiredService<CallbackCommands>().SetAsync(parsed.GetRequiredValue(email),
                    parsed.GetValue(off) ? null : parsed.GetValue(url),
                    admin.Services.GetRequiredService<IOptions<CallbackOptions>>().Value.AllowInsecureLoopback, admin.Now, token);
                return 0;
            });
        command.Validators.Add(result =>
        {
            if (result.GetValue(off) == (result.GetResult(url) is not null))
            {
                result.AddError("give either --url or --off.");
            }
        });
        return command;
    }

    private static Command CallbackShow()
    {
        var email = Email();
        return Verb("show", "Show a user's callback settings (never the secret).", [email], async (admin, parsed, token) =>
        {
            await admin.Services.GetRequiredService<CallbackCommands>().ShowAsync(parsed.GetRequiredValue(email), token);
            return 0;
        });
    }

    /// <summary>
    /// A user's email address, trimmed and in lower case: users are named by it, and one typed differently must not make
    /// a second user (migration 0027 folded the addresses stored before).
    /// </summary>
    private static Option<string> Email() => Checked(new Option<string>("--email")
    {
        Description = "The user's email address (compared in lower case).",
        Required = true,
        CustomParser = result => result.Tokens is [var token] ? token.Value.Trim().ToLowerInvariant() : "",
    }, IsEmailAddress, "must be an email address, such as ops@agency.gov.sg");

    private static Option<string?> Agency(string description) => Checked(new Option<string?>("--agency") { Description = description },
        text => text is null || !string.IsNullOrWhiteSpace(text), "must not be empty");

    private static bool IsEmailAddress(string text) =>
        text.Split('@') is [{ Length: > 0 }, { Length: > 2 } domain] && domain.Trim('.').Contains('.') &&
        domain[0] != '.' && domain[^1] != '.' && !text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    private static Option<string> KeyId() => Text("--key-id", "The key's id, as `admin key list` prints it.");

    private static Option<long> TemplateId() =>
        Checked(new Option<long>("--template") { Description = "The template's id.", Required = true }, id => id > 0, "must be greater than 0");

    private static Option<string> Text(string name, string description) =>
        Checked(new Option<string>(name) { Description = description, Required = true }, text => !string.IsNullOrWhiteSpace(text),
            "must not be empty");

    /// <summary>Refuses the command line when the option is given a value <paramref name="isValid"/> rejects.</summary>
    private static Option<T> Checked<T>(Option<T> option, Func<T, bool> isValid, string requirement)
    {
        option.Validators.Add(result =>
        {
            try
            {
                if (!isValid(result.GetValueOrDefault<T>()))
                {
                    result.AddError($"{option.Name} {requirement}.");
                }
            }
            catch (InvalidOperationException)
            {
                // Not a T at all: the parser reports that itself; validators still run then (dotnet/command-line-api#2645).
            }
        });
        return option;
    }

    /// <summary>
    /// A verb: its options and what it does once the command line is valid. The host (configuration, the data source)
    /// is built only then, so <c>--help</c> and a refused command line need no database.
    /// </summary>
    private static Command Verb(string name, string description, Option[] options,
        Func<Operator, ParseResult, CancellationToken, Task<int>> run)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parsed, token) =>
        {
            try
            {
                using var host = BuildHost();
                var services = host.Services;
                var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.TruncateToMilliseconds();
                return await run(new Operator(services, services.GetRequiredService<AdminStore>(), now), parsed, token);
            }
            catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidOperationException
                                                  or OptionsValidationException or IOException or UnauthorizedAccessException
                                                  or System.Text.Json.JsonException or Npgsql.NpgsqlException or TimeoutException
                                                  or OutcomeUnknownException)
            {
                // An operator's mistake or an unreachable database: what went wrong, with its causes, and no stack trace.
                var causes = new List<string>();
                for (var cause = exception; cause is not null; cause = cause.InnerException)
                {
                    causes.Add(cause.Message);
                }

                await Console.Error.WriteLineAsync($"error: {string.Join(": ", causes.Distinct())}");
                return 1;
            }
        });
        return command;
    }

    private static IHost BuildHost()
    {
        // The settings beside the executable, wherever it is run from (the working directory is the host's default).
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        // A migration or cancelling a large backlog may rightly take longer than a request may.
        builder.Configuration[$"{DatabaseLimitOptions.SectionName}:{nameof(DatabaseLimitOptions.StatementTimeout)}"] ??= "00:00:00";
        builder.AddDatabase();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AdminStore>();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName);
        builder.Services.AddSingleton<PepperCheck>();
        builder.Services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.SectionName);
        builder.Services.AddSingleton<CallbackSettingsStore>();
        builder.Services.AddSingleton<CallbackCommands>();
        return builder.Build();
    }

    /// <summary>Says what was done (exit 0), or, when no row matched, what was not there (exit 1).</summary>
    private static int Report(int rows, string done, string notFound)
    {
        if (rows == 0)
        {
            Console.Error.WriteLine($"error: {notFound}");
            return 1;
        }

        Console.WriteLine(done);
        return 0;
    }

    private static async Task<long> RequireUserAsync(Operator admin, string email, CancellationToken token) =>
        await admin.Store.FindUserIdAsync(email, token) ?? throw new ArgumentException($"no user {email}");

    /// <summary>What a verb works with: the host's services, the operator's store, and the moment the verb runs.</summary>
    private sealed record Operator(IServiceProvider Services, AdminStore Store, DateTime Now);
}
