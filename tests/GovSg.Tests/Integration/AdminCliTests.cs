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
        var (sent, _) = await MessageJson.PostRawAsync(Env.Client(key), """{"recipient":"91234567","template_id":3}""");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            var hash = await connection.ExecuteScalarAsync<byte[]>("SELECT secret_hash FROM api_keys WHERE key_id = @keyId", new { keyId });
            Assert.That(Convert.ToHexStringLower(hash!), Does.Not.Contain(key[21..]), "only a keyed hash is stored");
        }

        Assert.That((await RunAsync("admin", "key", "revoke", "--key-id", keyId)).Code, Is.Zero);
        var (revoked, _) = await MessageJson.PostRawAsync(Env.Client(key), """{"recipient":"91234567","template_id":3}""");
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
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

    /// <summary>Runs a verb of the Api executable with this test system's database; returns its exit code and output.</summary>
    internal static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var console = Console.Out;
        Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", TestSettings.OperatorPostgres);
        Environment.SetEnvironmentVariable("Auth__KeyPepper", TestSettings.Pepper);
        Console.SetOut(output);
        try
        {
            var code = await AdminCommands.RunAsync(args);
            return (code, output.ToString());
        }
        finally
        {
            Console.SetOut(console);
            Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", null);
            Environment.SetEnvironmentVariable("Auth__KeyPepper", null);
        }
    }
}
