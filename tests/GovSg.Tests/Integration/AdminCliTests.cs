using System.Globalization;
using System.Net;
using Dapper;
using GovSg.Api.Admin;

namespace GovSg.Tests.Integration;

/// <summary>The operator's `admin` verbs, run in-process against the test database.</summary>
[NonParallelizable]
public sealed class AdminCliTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task KeyCreate_PrintsAKeyThatWorksOnce_AndKeyRevokeStopsIt()
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        Assert.That((await RunAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency")).Code, Is.Zero);
        Assert.That((await RunAsync("admin", "template", "grant", "--email", email, "--template", "3")).Code, Is.Zero);

        var (code, output) = await RunAsync("admin", "key", "create", "--email", email, "--label", "booking system");
        var key = output.Split('\n').Single(l => l.StartsWith("api key:", StringComparison.Ordinal))["api key:".Length..].Trim();
        var keyId = output.Split('\n').Single(l => l.StartsWith("key id:", StringComparison.Ordinal))["key id:".Length..].Trim();

        Assert.That(code, Is.Zero);
        var (sent, message) = await MessageJson.PostRawAsync(Env.Client(key), """{"recipient":"91234567","template_id":3}""");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            var hash = await connection.ExecuteScalarAsync<byte[]>("SELECT secret_hash FROM api_keys WHERE key_id = @keyId", new { keyId });
            Assert.That(Convert.ToHexStringLower(hash!), Does.Not.Contain(key[21..]), "only a keyed hash is stored");
            // The defaults: a live key for 180 days (SPEC §3.9); a new user's messages valid for 24 h (SPEC §3.2).
            var (type, keyValidity, messageValidity) = await KeyAndMessageAsync(keyId, message.Str("id"));
            Assert.That(type, Is.EqualTo("live"));
            Assert.That(keyValidity, Is.EqualTo(TimeSpan.FromDays(180)));
            Assert.That(messageValidity, Is.EqualTo(TimeSpan.FromHours(24)));
        }

        Assert.That((await RunAsync("admin", "key", "revoke", "--key-id", keyId)).Code, Is.Zero);
        var (revoked, _) = await MessageJson.PostRawAsync(Env.Client(key), """{"recipient":"91234567","template_id":3}""");
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task KeyCreate_OfATestKey_ForAUserWithItsOwnValidity_StoresWhatWasAskedFor()
    {
        // A test key made as a live one would send an agency's test traffic to real citizens (SPEC §11.2).
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        Assert.That((await RunAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency", "--validity", "02:00:00")).Code,
            Is.Zero);
        Assert.That((await RunAsync("admin", "template", "grant", "--email", email, "--template", "3")).Code, Is.Zero);

        var (code, output) = await RunAsync("admin", "key", "create", "--email", email, "--type", "test", "--valid-days", "7");
        var key = output.Split('\n').Single(l => l.StartsWith("api key:", StringComparison.Ordinal))["api key:".Length..].Trim();
        var keyId = output.Split('\n').Single(l => l.StartsWith("key id:", StringComparison.Ordinal))["key id:".Length..].Trim();
        var (sent, message) = await MessageJson.PostRawAsync(Env.Client(key), """{"recipient":"91234567","template_id":3}""");
        var (type, keyValidity, messageValidity) = await KeyAndMessageAsync(keyId, message.Str("id"));

        Assert.That(code, Is.Zero);
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(type, Is.EqualTo("test"), "the key and its message are a test key's");
        Assert.That(keyValidity, Is.EqualTo(TimeSpan.FromDays(7)));
        Assert.That(messageValidity, Is.EqualTo(TimeSpan.FromHours(2)));
    }

    [Test]
    public async Task KeyList_ShowsALabelThatLooksLikeFields_AsOneJsonStringAtTheEnd()
    {
        // SECURITY.md's answer to a stolen key reads the creation times `admin key list` shows, and a key may make keys
        // with labels of its choosing (SPEC §3.9). An outside review made one whose label showed an older creation and a
        // revocation; and a label ending in U+2800 (a blank braille pattern) looked like one without it.
        var user = await Env.CreateUserAsync();
        const string forged = "ci  created=2025-01-01T00:00:00.0000000Z  revoked=2025-01-02T00:00:00.0000000Z  #\u2800";
        using var made = await user.Client.PostAsync("v1/api-keys", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { label = forged }), System.Text.Encoding.UTF8, "application/json"));
        Assert.That((int)made.StatusCode, Is.EqualTo(201), await made.Content.ReadAsStringAsync());

        var (code, output) = await RunAsync("admin", "key", "list", "--email", user.Email);

        Assert.That(code, Is.Zero);
        var line = output.Split('\n').Single(l => l.Contains('#')).TrimEnd();
        Assert.That(line, Does.EndWith("  label=\"ci  created=2025-01-01T00:00:00.0000000Z  revoked=2025-01-02T00:00:00.0000000Z  #\\u2800\""));
        Assert.That(line[..line.IndexOf("  label=", StringComparison.Ordinal)], Does.Not.Contain("2025-01-0"),
            "the fields before the label are the key's own");
    }

    [Test]
    public async Task KeyRevoke_WithKeysItMade_RevokesTheKeysMadeFromAStolenKey_AndNoOther()
    {
        // A live key can make keys (SPEC §3.9), and so can the keys it made: whoever stole one could hold several more by
        // the time the theft is found. Found by an outside security review: nothing recorded which key made which.
        var user = await Env.CreateUserAsync(grants: [3]);
        var (stolen, stolenId) = await MakeKeyAsync(user.Client, "live");
        var (madeByThief, madeByThiefId) = await MakeKeyAsync(Env.Client(stolen), "live");
        var (testKeyOfThief, testKeyOfThiefId) = await MakeKeyAsync(Env.Client(madeByThief), "test");
        var (sibling, siblingId) = await MakeKeyAsync(user.Client, "live");

        var (listed, list) = await RunAsync("admin", "key", "list", "--email", user.Email);
        var (revoked, output) = await RunAsync("admin", "key", "revoke", "--key-id", stolenId, "--with-keys-it-made");

        Assert.That(listed, Is.Zero);
        Assert.That(MadeBy(list, user.KeyId), Is.EqualTo("operator"));
        Assert.That(MadeBy(list, stolenId), Is.EqualTo(user.KeyId));
        Assert.That(MadeBy(list, madeByThiefId), Is.EqualTo(stolenId));
        Assert.That(MadeBy(list, siblingId), Is.EqualTo(user.KeyId));
        Assert.That(revoked, Is.Zero);
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EquivalentTo(new[]
        {
            $"{stolenId}  revoked", $"{madeByThiefId}  revoked", $"{testKeyOfThiefId}  revoked", "3 key(s) revoked",
        }));
        foreach (var key in new[] { stolen, madeByThief, testKeyOfThief })
        {
            Assert.That((await Env.Client(key).GetAsync("v1/api-keys")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        foreach (var key in new[] { user.Key, sibling })
        {
            Assert.That((await Env.Client(key).GetAsync("v1/api-keys")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var (again, repeated) = await RunAsync("admin", "key", "revoke", "--key-id", stolenId, "--with-keys-it-made");
        Assert.That((again, repeated.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last()), Is.EqualTo((0, "0 key(s) revoked")),
            "a second run says nothing more was revoked");

        static async Task<(string Key, string KeyId)> MakeKeyAsync(HttpClient client, string type)
        {
            using var response = await client.PostAsync("v1/api-keys", new StringContent($$"""{"label":"made","type":"{{type}}"}""",
                System.Text.Encoding.UTF8, "application/json"));
            var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
            return (body.Str("key"), body.Str("id"));
        }

        static string MadeBy(string list, string keyId) =>
            list.Split('\n').Single(line => line.StartsWith(keyId + "  ", StringComparison.Ordinal))
                .Split("  ").Single(field => field.StartsWith("made_by=", StringComparison.Ordinal))["made_by=".Length..];
    }

    [Test]
    public async Task TemplateRevoke_MakesTheTemplateLookMissing_AndGrantRestoresIt()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        const string body = """{"recipient":"91234567","template_id":3}""";

        Assert.That((await RunAsync("admin", "template", "revoke", "--email", user.Email, "--template", "3")).Code, Is.Zero);
        var (revoked, error) = await MessageJson.PostRawAsync(user.Client, body);
        Assert.That((await RunAsync("admin", "template", "grant", "--email", user.Email, "--template", "3")).Code, Is.Zero);
        var (granted, _) = await MessageJson.PostRawAsync(user.Client, body);

        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo("Template with ID 3 not found"));
        Assert.That(granted.StatusCode, Is.EqualTo(HttpStatusCode.Created));
    }

    [Test]
    public async Task TemplateGrant_OfATemplateThatDoesNotExist_SaysWhichIsMissing()
    {
        var user = await Env.CreateUserAsync(grants: []);

        var (code, output, error) = await RunCapturingAsync("admin", "template", "grant", "--email", user.Email, "--template", "999999");

        Assert.That(code, Is.EqualTo(1));
        Assert.That(output, Is.Empty);
        Assert.That(error, Is.EqualTo($"error: no template 999999{Environment.NewLine}"));
    }

    [Test]
    public async Task UserShow_PrintsTheLimitsStateAndGrantsUpsertAndGrantSet()
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        await RunAsync("admin", "user", "upsert", "--email", email, "--agency", "Show Agency", "--rate-limit", "7", "--default-wait", "3",
            "--validity", "02:00:00");
        await RunAsync("admin", "template", "grant", "--email", email, "--template", "3");
        await RunAsync("admin", "template", "grant", "--email", email, "--template", "1");
        await RunAsync("admin", "user", "disable", "--email", email);

        var (code, output) = await RunAsync("admin", "user", "show", "--email", email.ToUpperInvariant());

        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain($"{email}  agency=Show Agency  rate_limit=7/s  burst=60 × the rate  default_wait=3s  validity=02:00:00"));
        Assert.That(output, Does.Match(@"disabled=\d{4}-\d\d-\d\dT"), "disabled, and since when");
        Assert.That(output, Does.Contain("templates granted: 1, 3"));
    }

    [Test]
    public async Task TemplateList_PrintsEachTemplateWithItsWhatsAppNameAndParameters()
    {
        var file = await WriteTemplateAsync("govsg_cli_list_v1", "Hello {{name}}", ["name"], "");
        Assert.That((await RunAsync("admin", "template", "import", "--file", file)).Code, Is.Zero);

        var (code, output) = await RunAsync("admin", "template", "list");

        Assert.That(code, Is.Zero);
        Assert.That(output.Split('\n'), Has.Some.StartsWith("90  name=CLI test  whatsapp=govsg_cli_list_v1  params=[name]  updated="));
        Assert.That(output.Split('\n'), Has.Some.StartsWith("3  name="));
    }

    [TestCase("user", "show")]
    [TestCase("template", "grant", "--template", "3")]
    [TestCase("template", "revoke", "--template", "3")]
    [TestCase("key", "list")]
    [TestCase("user", "disable")]
    [TestCase("callback", "show")]
    public async Task Verb_ForAUserThatDoesNotExist_SaysSoAndFails(params string[] verb)
    {
        const string email = "nobody@agency.gov.sg";

        var (code, output, error) = await RunCapturingAsync(["admin", .. verb[..2], "--email", email, .. verb[2..]]);

        Assert.That((code, output), Is.EqualTo((1, "")));
        Assert.That(error, Does.StartWith("error: no user nobody@agency.gov.sg"));
    }

    [Test]
    public async Task KeyEnable_OfARevokedKey_RefusesAndLeavesItRevoked()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        Assert.That((await RunAsync("admin", "key", "revoke", "--key-id", user.KeyId)).Code, Is.Zero);

        var (code, output, error) = await RunCapturingAsync("admin", "key", "enable", "--key-id", user.KeyId);

        Assert.That((code, output), Is.EqualTo((1, "")));
        Assert.That(error, Does.Contain($"no key {user.KeyId} that is not revoked"));
        var (sent, _) = await MessageJson.PostRawAsync(user.Client, """{"recipient":"91234567","template_id":3}""");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task KeyCreate_WithAnotherPepperThanTheApis_RefusesAndCreatesNoKey()
    {
        // The test system's Api recorded its pepper when it started; this one would make a key it can never verify.
        var user = await Env.CreateUserAsync(grants: []);

        var (code, output, error) = await RunAgainstAsync(TestSettings.OperatorPostgres, "another-pepper-0123456789abcdef0123456789",
            "admin", "key", "create", "--email", user.Email);

        Assert.That((code, output), Is.EqualTo((1, "")));
        Assert.That(error, Does.StartWith("error: Auth:KeyPepper (env Auth__KeyPepper) is not the pepper this database's API keys were made with"));
        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM api_keys WHERE user_id = @Id", new { user.Id }),
            Is.EqualTo(1), "only the key the test user was made with");
    }

    [Test]
    public async Task UserUpsert_WithTheAddressInAnotherCaseOrSpaced_NamesTheSameUser()
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        Assert.That((await RunAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency")).Code, Is.Zero);

        var (code, output) = await RunAsync("admin", "user", "upsert", "--email", $" {email.ToUpperInvariant()} ", "--agency", "CLI Agency",
            "--rate-limit", "7");

        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain(email));
        Assert.That(await UserCountAsync(email), Is.EqualTo(1));
        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("SELECT rate_limit_per_second FROM users WHERE email = @email", new { email }),
            Is.EqualTo(7));
    }

    [Test]
    public async Task UserUpsert_WithoutAnAgency_ChangesOnlyTheSettingsGiven_AndCreatesNoUser()
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        await RunAsync("admin", "user", "upsert", "--email", email, "--agency", "Kept Agency", "--rate-limit", "7");

        var (changed, output) = await RunAsync("admin", "user", "upsert", "--email", email, "--default-wait", "4");
        var (_, shown) = await RunAsync("admin", "user", "show", "--email", email);
        var newEmail = $"cli-{Guid.NewGuid():N}@agency.gov.sg";
        var (refused, _, error) = await RunCapturingAsync("admin", "user", "upsert", "--email", newEmail, "--rate-limit", "7");

        Assert.That(changed, Is.Zero);
        Assert.That(output, Does.Contain(email));
        Assert.That(shown, Does.Contain("agency=Kept Agency  rate_limit=7/s  burst=60 × the rate  default_wait=4s"));
        Assert.That(refused, Is.EqualTo(1));
        Assert.That(error, Is.EqualTo($"error: no user {newEmail}: a new user needs --agency{Environment.NewLine}"));
        Assert.That(await UserCountAsync(newEmail), Is.Zero);
    }

    [Test]
    public async Task UserList_PrintsEveryUser_OrThoseOfOneAgency()
    {
        var agency = $"List Agency {Guid.NewGuid():N}";
        var (first, second) = ($"cli-{Guid.NewGuid():N}@agency.gov.sg", $"cli-{Guid.NewGuid():N}@agency.gov.sg");
        await RunAsync("admin", "user", "upsert", "--email", first, "--agency", agency, "--rate-limit", "3");
        await RunAsync("admin", "user", "upsert", "--email", second, "--agency", "Another Agency");

        var (code, all) = await RunAsync("admin", "user", "list");
        var (_, one) = await RunAsync("admin", "user", "list", "--agency", agency);

        Assert.That(code, Is.Zero);
        Assert.That(all, Does.Contain($"{first}  agency={agency}  rate_limit=3/s").And.Contain($"{second}  agency=Another Agency"));
        Assert.That(one.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Exactly(1).Items);
        Assert.That(one, Does.Contain(first));
    }

    [TestCase("not an email")]
    [TestCase("ops@agency")]
    [TestCase("ops@@agency.gov.sg")]
    [TestCase("@agency.gov.sg")]
    public async Task UserUpsert_WithSomethingThatIsNoEmailAddress_RefusesIt(string email)
    {
        var (code, _, error) = await RunCapturingAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency");

        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--email must be an email address"));
    }

    [Test]
    public async Task Verb_WhenTheDatabaseIsUnreachable_SaysSoInOneLine()
    {
        var (code, output, error) = await RunAgainstAsync(TestSettings.UnreachablePostgres, TestSettings.Pepper, "admin", "key", "list", "--email",
            "ops@agency.gov.sg");

        Assert.That((code, output), Is.EqualTo((1, "")));
        Assert.That(error, Does.StartWith("error: Failed to connect to 127.0.0.1:1"));
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "no stack trace");
    }

    [Test]
    public async Task ApiExecutable_WithAMistypedVerb_IsRefusedByTheVerbsParserNotStartedAsAServer()
    {
        var run = GovSg.Api.Program.Main(["amdin", "key", "list", "--email", "ops@agency.gov.sg"]);

        Assert.That(await run.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(2));
    }

    [Test]
    public async Task TemplateImport_WhenATemplateChanges_LeavesMessagesAlreadyAcceptedAsTheyWere()
    {
        var user = await Env.CreateUserAsync(grants: []);
        var original = await WriteTemplateAsync("govsg_cli_test_v1", "Hello {{name}}", ["name"], "");
        Assert.That((await RunAsync("admin", "template", "import", "--file", original)).Code, Is.Zero);
        await GrantAsync(user, 90);
        var (_, before) = await MessageJson.PostRawAsync(user.Client,
            """{"recipient":"91234567","template_id":90,"params":{"name":"Ann"},"language_code":"en_GB"}""");

        // The operator renames the approved template, reorders its params and adds Malay.
        var changed = await WriteTemplateAsync("govsg_cli_test_v2", "{{greeting}} {{name}}", ["greeting", "name"],
            ""","multilingual_support":[{"language_code":"ms","body":"{{greeting}} {{name}}"}]""");
        Assert.That((await RunAsync("admin", "template", "import", "--file", changed)).Code, Is.Zero);
        var (response, after) = await MessageJson.PostRawAsync(user.Client,
            """{"recipient":"91234567","template_id":90,"params":{"name":"Ann","greeting":"Selamat"},"language_code":"ms"}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), after.ToString());
        await using var connection = await Env.Database.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(string Name, string[] Order)>(
            "SELECT whatsapp_template_name, param_order FROM messages WHERE id = ANY(@ids) ORDER BY id",
            new { ids = new[] { before.Str("id"), after.Str("id") }.Select(id => long.Parse(id, CultureInfo.InvariantCulture)).ToArray() })).ToList();
        Assert.That(rows[0], Is.EqualTo(("govsg_cli_test_v1", new[] { "name" })));
        Assert.That(rows[1], Is.EqualTo(("govsg_cli_test_v2", new[] { "greeting", "name" })));
    }

    [Test]
    public async Task TemplateImport_WhenTheBodyUsesAnUndeclaredParam_RefusesTheFile()
    {
        var file = await WriteTemplateAsync("govsg_cli_bad_v1", "Hello {{name}} {{surname}}", ["name"], "");

        var (code, _) = await RunAsync("admin", "template", "import", "--file", file);

        Assert.That(code, Is.EqualTo(1));
    }

    [Test]
    public async Task TemplateImport_WhenALaterTemplateOfTheFileIsRefused_WritesNoneOfThem()
    {
        // Both templates pass the shape checks; the second names one language twice. Found by an outside review: the
        // first was committed before the second failed.
        var (first, second) = (Random.Shared.NextInt64(1_000_000, 2_000_000), Random.Shared.NextInt64(2_000_000, 3_000_000));
        var file = Path.Combine(Path.GetTempPath(), $"govsg-cli-templates-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$$"""
            [
              {"id": {{{first}}}, "name": "Pair one", "whatsapp_template_name": "govsg_pair_one", "body": "Hi {{name}}",
               "params": ["name"]},
              {"id": {{{second}}}, "name": "Pair two", "whatsapp_template_name": "govsg_pair_two", "body": "Hi {{name}}",
               "params": ["name"],
               "multilingual_support": [{"language_code": "ms", "body": "Hai {{name}}"}, {"language_code": "ms", "body": "Helo {{name}}"}]}
            ]
            """);

        var (code, _, error) = await RunCapturingAsync("admin", "template", "import", "--file", file);

        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain($"Template {second}: language ms is given twice"));
        Assert.That(await connection.QueryAsync<long>("SELECT id FROM templates WHERE id = ANY(@ids)", new { ids = new[] { first, second } }),
            Is.Empty);
    }

    private static readonly string[][] Verbs =
    [
        ["migrate"],
        ["admin", "user", "upsert"], ["admin", "user", "list"], ["admin", "user", "show"], ["admin", "user", "disable"],
        ["admin", "user", "enable"], ["admin", "key", "create"], ["admin", "key", "list"], ["admin", "key", "revoke"], ["admin", "key", "disable"],
        ["admin", "key", "enable"],
        ["admin", "template", "import"], ["admin", "template", "list"], ["admin", "template", "grant"], ["admin", "template", "revoke"],
    ];

    [TestCaseSource(nameof(Verbs))]
    public async Task Help_OnEveryVerb_PrintsItsUsageAndRunsNothing(string[] verb)
    {
        var (code, output, error) = await RunCapturingAsync([.. verb, "--help"]);

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain($"{string.Join(' ', verb)} [options]").And.Contain("--help"));
    }

    [Test]
    public async Task UserUpsert_WhenAnOptionIsMisspelt_RefusesItNamingTheRightOne_AndStoresNothing()
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";

        var (code, output, error) = await RunCapturingAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency",
            "--rate-limt", "5");

        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("Unrecognized command or argument '--rate-limt'."));
        Assert.That(output, Does.Contain("'--rate-limt' was not matched. Did you mean one of the following?\n--rate-limit"));
        Assert.That(await UserCountAsync(email), Is.Zero);
    }

    [TestCase("--validity", "-01:00:00", "--validity must be between a minute and 30 days.")]
    [TestCase("--validity", "00:00:00.001", "--validity must be between a minute and 30 days.")]
    [TestCase("--rate-limit", "0", "--rate-limit must be between 1 and 100000.")]
    [TestCase("--burst", "-5", "--burst must be between 1 and 10000000.")]
    // Upper bounds (found by an outside review): a validity of 4,000,000 days overflowed the expiry of every send, and
    // 100,000,000 a second made a token's interval zero in the bucket statement: each send of the user answered 500.
    [TestCase("--validity", "4000000.00:00:00", "--validity must be between a minute and 30 days.")]
    [TestCase("--validity", "30.00:00:01", "--validity must be between a minute and 30 days.")]
    [TestCase("--rate-limit", "100000000", "--rate-limit must be between 1 and 100000.")]
    [TestCase("--burst", "10000001", "--burst must be between 1 and 10000000.")]
    [TestCase("--default-wait", "11", "--default-wait must be between 0 and 10.")]
    public async Task UserUpsert_WhenAValueIsOutOfRange_RefusesIt_AndStoresNothing(string option, string value, string message)
    {
        var email = $"cli-{Guid.NewGuid():N}@agency.gov.sg";

        var (code, _, error) = await RunCapturingAsync("admin", "user", "upsert", "--email", email, "--agency", "CLI Agency",
            $"{option}={value}");

        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(await UserCountAsync(email), Is.Zero);
    }

    [TestCase("--valid-days", "0", "--valid-days must be between 1 and 365.")]
    [TestCase("--type", "prod", "Argument 'prod' not recognized. Must be one of:")]
    public async Task KeyCreate_WhenAValueIsOutOfRange_RefusesIt_AndCreatesNoKey(string option, string value, string message)
    {
        var user = await Env.CreateUserAsync(grants: []);

        var (code, output, error) = await RunCapturingAsync("admin", "key", "create", "--email", user.Email, option, value);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(output, Does.Not.Contain("api key:"));
    }

    /// <summary>The key's type and validity, and the validity of a message sent with it (of the key's type, too).</summary>
    private static async Task<(string Type, TimeSpan KeyValidity, TimeSpan MessageValidity)> KeyAndMessageAsync(string keyId,
        string messageId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.QuerySingleAsync<(string, TimeSpan, TimeSpan)>("""
            SELECT CASE WHEN k.type = m.key_type THEN k.type END, k.valid_until - k.created_at, m.expires_at - m.created_at
            FROM api_keys k, messages m WHERE k.key_id = @keyId AND m.id = @messageId
            """, new { keyId, messageId = long.Parse(messageId, CultureInfo.InvariantCulture) });
    }

    private static async Task<long> UserCountAsync(string email)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM users WHERE email = @email", new { email });
    }

    private static async Task GrantAsync(TestUser user, long templateId) =>
        Assert.That((await RunAsync("admin", "template", "grant", "--email", user.Email, "--template",
            templateId.ToString(CultureInfo.InvariantCulture))).Code, Is.Zero);

    private static async Task<string> WriteTemplateAsync(string whatsAppName, string body, string[] parameters, string extra)
    {
        var file = Path.Combine(Path.GetTempPath(), $"govsg-template-{Guid.NewGuid():N}.json");
        var paramList = string.Join(",", parameters.Select(p => $"\"{p}\""));
        await File.WriteAllTextAsync(file,
            $$"""[{"id":90,"name":"CLI test","whatsapp_template_name":"{{whatsAppName}}","body":"{{body}}","params":[{{paramList}}]{{extra}}}]""");
        return file;
    }

    [Test]
    public async Task Migrate_WithSkipIds_MovesEverySequencePastTheIdsIssuedBeforeARestore()
    {
        // A database restored from a backup, or a standby promoted before it had the last writes, would issue again the
        // ids given out since: an agency's message id to another message (Meta's late statuses for the first, naming
        // it, would then move the second), a callback event's id to another event (receivers drop repeats by it).
        await using var restored = await ScratchDatabase.CreateAsync("govsg_restored");
        await using var connection = await restored.Owner.OpenConnectionAsync();
        var userId = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO users (email, agency, created_at) VALUES ('restore@agency.gov.sg', 'A', now()) RETURNING id");
        const string Sequences = "SELECT sequencename, COALESCE(last_value, 0) FROM pg_sequences ORDER BY 1";
        var before = (await connection.QueryAsync<(string Name, long Last)>(Sequences)).ToDictionary(s => s.Name, s => s.Last);

        var (code, output, error) = await RunAgainstAsync(restored.As(TestSettings.Postgres), TestSettings.Pepper,
            "migrate", "--skip-ids", "1000000");

        Assert.That((code, error), Is.EqualTo((0, "")));
        var after = (await connection.QueryAsync<(string Name, long Last)>(Sequences)).ToDictionary(s => s.Name, s => s.Last);
        Assert.That(after.Keys, Is.EquivalentTo(before.Keys).And.Contain("messages_id_seq").And.Contain("status_events_id_seq"));
        Assert.That(after.Where(s => s.Value != before[s.Key] + 1_000_000), Is.Empty, "every sequence moved on by the count");
        Assert.That(await connection.ExecuteScalarAsync<long>(
                "INSERT INTO users (email, agency, created_at) VALUES ('after@agency.gov.sg', 'A', now()) RETURNING id"),
            Is.EqualTo(userId + 1_000_001), "the next id comes after the skipped ones");
        Assert.That(output, Does.Contain($"users_id_seq: the next id is {userId + 1_000_001}"));
    }

    /// <summary>Runs a verb of the Api executable with this test system's database; returns its exit code and output.</summary>
    internal static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var (code, output, _) = await RunCapturingAsync(args);
        return (code, output);
    }

    /// <summary>Runs a verb; returns its exit code, its output and its error output.</summary>
    private static Task<(int Code, string Output, string Error)> RunCapturingAsync(params string[] args) =>
        RunAgainstAsync(TestSettings.OperatorPostgres, TestSettings.Pepper, args);

    /// <summary>Runs a verb against the given database, with the given key pepper.</summary>
    private static async Task<(int Code, string Output, string Error)> RunAgainstAsync(string postgres, string pepper,
        params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var (console, consoleError) = (Console.Out, Console.Error);
        Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", postgres);
        Environment.SetEnvironmentVariable("Auth__KeyPepper", pepper);
        // The Api's log levels: the appsettings.json in the test binaries is whichever referenced project's was copied
        // last (the simulator's logs every Npgsql command), and the verbs' output is asserted line by line.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Npgsql", "Warning");
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var code = await AdminCommands.RunAsync(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(console);
            Console.SetError(consoleError);
            Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", null);
            Environment.SetEnvironmentVariable("Auth__KeyPepper", null);
            Environment.SetEnvironmentVariable("Logging__LogLevel__Npgsql", null);
        }
    }
}
