using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

public sealed class OpenApiTests
{
    [Test]
    public async Task OpenApi_DocumentsEveryRouteWithItsAnswers()
    {
        using var client = TestEnvironment.Current.Client(null);

        var (response, document) = await MessageJson.GetAsync(client, "openapi/v1.json");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var paths = document.GetProperty("paths");
        Assert.That(paths.EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[]
        {
            "/v1/transactional/govsg/send", "/v1/transactional/govsg/{messageId}", "/v1/transactional/govsg",
            "/v1/govsg/templates", "/v1/callback/govsg",
        }));
        var send = paths.GetProperty("/v1/transactional/govsg/send").GetProperty("post");
        Assert.That(send.GetProperty("operationId").GetString(), Is.EqualTo("SendMessage"));
        Assert.That(send.GetProperty("responses").EnumerateObject().Select(r => r.Name),
            Is.SupersetOf(new[] { "201", "400", "401", "404", "413", "415", "422", "429" }));
        var list = paths.GetProperty("/v1/transactional/govsg").GetProperty("get");
        Assert.That(list.GetProperty("parameters").EnumerateArray()
                .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("in").GetString())),
            Is.EqualTo(new[] { "limit", "offset", "status", "created_at[gt]", "created_at[gte]", "created_at[lt]", "created_at[lte]", "sort_by" }
                .Select(name => ((string?)name, (string?)"query"))));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.That(schemas.GetProperty("MessageResponse").GetProperty("properties").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[]
            {
                "id", "recipient", "template_id", "params", "language_code", "created_at", "updated_at", "accepted_at",
                "sent_at", "delivered_at", "read_at", "errored_at", "error_code", "error_description", "status",
            }));
    }

    [Test]
    public async Task OpenApi_DescribesWhatGeneratorsNeed()
    {
        using var client = TestEnvironment.Current.Client(null);

        var (_, document) = await MessageJson.GetAsync(client, "openapi/v1.json");

        Assert.That(document.GetProperty("servers").EnumerateArray().Select(s => s.Str("url")), Is.EqualTo(new[] { "/" }));
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.That(schemes.GetProperty("bearer").Str("scheme"), Is.EqualTo("bearer"));
        var send = document.GetProperty("paths").GetProperty("/v1/transactional/govsg/send").GetProperty("post");
        Assert.That(send.GetProperty("security")[0].TryGetProperty("bearer", out _), Is.True);
        Assert.That(send.GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")),
            Is.EquivalentTo(new[] { "Idempotency-Key", "Prefer" }));
        var created = send.GetProperty("responses").GetProperty("201").GetProperty("headers");
        Assert.That(created.EnumerateObject().Select(h => h.Name), Is.SupersetOf(new[]
        {
            "Location", "Idempotency-Replayed", "Preference-Applied", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
        }));
        Assert.That(send.GetProperty("responses").GetProperty("429").GetProperty("headers").TryGetProperty("Retry-After", out _), Is.True);
        Assert.That(send.GetProperty("responses").GetProperty("503").GetProperty("headers").TryGetProperty("Retry-After", out _), Is.True);
        Assert.That(send.GetProperty("responses").EnumerateObject().Select(r => r.Name),
            Is.SupersetOf(new[] { "400", "401", "403", "404", "405", "413", "415", "422", "429", "500", "503" }));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var body = schemas.GetProperty("SendRequestBody");
        Assert.That(body.GetProperty("required").EnumerateArray().Select(r => r.GetString()), Is.EquivalentTo(new[] { "recipient", "template_id" }));
        Assert.That(body.GetProperty("properties").GetProperty("language_code").Str("default"), Is.EqualTo("en_GB"));
        // The range the send checks: a positive integer a JSON number holds exactly.
        var templateId = body.GetProperty("properties").GetProperty("template_id");
        Assert.That((templateId.GetProperty("minimum").GetInt64(), templateId.GetProperty("maximum").GetInt64()),
            Is.EqualTo((1L, 9_007_199_254_740_991L)));
        // SPEC §3.2: "a JSON number, or a string of digits". Generated clients send the number; the text says the rest.
        Assert.That(templateId.Str("description"), Does.Contain("string of its digits"));
        Assert.That(body.GetProperty("properties").GetProperty("params").TryGetProperty("nullable", out _), Is.False);
        // SPEC §3.2: "\"params.<name>\" is not allowed to be empty".
        Assert.That(body.GetProperty("properties").GetProperty("params").GetProperty("additionalProperties")
            .GetProperty("minLength").GetInt32(), Is.EqualTo(1));
        var message = schemas.GetProperty("MessageResponse").GetProperty("properties");
        Assert.That(message.GetProperty("created_at").Str("format"), Is.EqualTo("date-time"));
        Assert.That(message.GetProperty("status").GetProperty("enum").EnumerateArray().Select(v => v.GetString()),
            Is.EqualTo(new[] { "UNSENT", "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR" }));
        Assert.That(schemas.GetProperty("ErrorBody").GetProperty("properties").GetProperty("code").GetProperty("enum").GetArrayLength(), Is.EqualTo(13));
        Assert.That(schemas.EnumerateObject().Select(s => s.Name), Has.None.EqualTo("JsonElement"));
        // A typed client leaves an unset key type out (the calling key's) only when it may be null; otherwise it sends
        // its enum's first value, "live", which a test key may not ask for.
        var createKey = schemas.GetProperty("CreateKeyRequestBody");
        Assert.That(createKey.GetProperty("required").EnumerateArray().Select(r => r.GetString()), Is.EqualTo(new[] { "label" }));
        Assert.That(createKey.GetProperty("properties").GetProperty("type").GetProperty("nullable").GetBoolean(), Is.True);
        // The deliveries an agency's endpoint receives (SPEC §11.1), as a callback of the operation that sets the URL.
        var set = document.GetProperty("paths").GetProperty("/v1/callback-settings").GetProperty("put");
        Assert.That(schemas.GetProperty("CallbackSettingsRequestBody").GetProperty("properties").GetProperty("url")
            .GetProperty("maxLength").GetInt32(), Is.EqualTo(2048));
        var delivery = set.GetProperty("callbacks").GetProperty("statusEvent").GetProperty("{$request.body#/url}").GetProperty("post");
        Assert.That(delivery.GetProperty("parameters").EnumerateArray().Select(p => (p.Str("name"), p.Str("in"))),
            Is.EquivalentTo(new[] { ("X-GovSg-Signature", "header"), ("X-GovSg-Event-Id", "header"), ("X-GovSg-Key-Type", "header") }));
        var eventSchema = delivery.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.That(eventSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()),
            Is.EquivalentTo(new[] { "id", "type", "created_at", "data" }));
        Assert.That(eventSchema.GetProperty("properties").GetProperty("data").Str("$ref"), Is.EqualTo("#/components/schemas/MessageResponse"));
        Assert.That(eventSchema.GetProperty("properties").GetProperty("type").GetProperty("enum")[0].GetString(),
            Is.EqualTo("message.status_changed"));
        // RateLimit-* only where they are sent: not on answers refused before the limit, nor on 422 (a read token).
        foreach (var route in new[] { "send", "batch" })
        {
            var answers = document.GetProperty("paths").GetProperty($"/v1/transactional/govsg/{route}").GetProperty("post")
                .GetProperty("responses");
            Assert.That(answers.EnumerateObject().Where(a => a.Value.TryGetProperty("headers", out var h) && h.TryGetProperty("RateLimit-Limit", out _))
                    .Select(a => a.Name),
                Is.EquivalentTo(route == "send" ? new[] { "201", "400", "404", "413", "415", "429", "503" } : new[] { "200", "400", "413", "415", "429", "503" }),
                route);
        }
    }

    // README.md: "`Api/Api.http` holds a ready request for every route." Every operation of the served document must
    // have one (the callback-settings routes have none).
    [Test]
    public async Task ApiHttp_HoldsARequestForEveryDocumentedOperation()
    {
        using var client = TestEnvironment.Current.Client(null);
        var (_, document) = await MessageJson.GetAsync(client, "openapi/v1.json");
        var requests = File.ReadAllLines(Path.Combine(TestSettings.RepositoryRoot, "Api", "Api.http"))
            .Select(line => System.Text.RegularExpressions.Regex.Match(line, @"^(GET|POST|PUT|DELETE|PATCH) \{\{baseUrl\}\}([^?\s]*)"))
            .Where(m => m.Success)
            .Select(m => (Method: m.Groups[1].Value, Path: m.Groups[2].Value))
            .ToList();

        var missing = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            var pattern = "^" + System.Text.RegularExpressions.Regex.Replace(
                System.Text.RegularExpressions.Regex.Escape(path.Name), @"\\\{[^}]+}", "[^/]+") + "/?$";
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = operation.Name.ToUpperInvariant();
                if (!requests.Any(r => r.Method == method && System.Text.RegularExpressions.Regex.IsMatch(r.Path, pattern)))
                {
                    missing.Add($"{method} {path.Name}");
                }
            }
        }

        Assert.That(missing, Is.Empty, "operations without a request in Api/Api.http");
    }

    [Test]
    public async Task Docs_ServesTheReferenceFromTheAssembly()
    {
        using var client = TestEnvironment.Current.Client(null);

        var page = await client.GetStringAsync("docs/");
        var script = await client.GetAsync("docs/scalar.js");

        Assert.That(page, Does.Contain("openapi/v1.json"));
        Assert.That(page, Does.Not.Contain("https://"), "no CDN");
        Assert.That(script.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task OpenApi_ServedAgain_IsNotBuiltAgain()
    {
        // Anyone may fetch the document, without a key or a limit, and building it costs about a hundred times what a
        // health probe does (88 KB through every transformer): a document that cannot change while the Api runs is built
        // once, or a few requests a second keep a replica's cores busy for nobody.
        var builds = 0;
        var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?>(), services =>
            services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", options =>
                options.AddDocumentTransformer((_, _, _) =>
                {
                    Interlocked.Increment(ref builds);
                    return Task.CompletedTask;
                })));
        using var client = api.CreateClient();

        // Nor for each query string, Host or Authorization header a caller makes up.
        string[] paths = ["openapi/v1.json", "openapi/v1.json", "openapi/v1.json?x=1", "openapi/v1.json?x=2&y=3"];
        foreach (var (path, i) in paths.Select((path, i) => (path, i)))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = $"host{i}.example";
            request.Headers.Authorization = new("Bearer", $"made-up-{i}");
            using var response = await client.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
        }

        Assert.That(builds, Is.EqualTo(1), "the document was built again for a request");
    }
}
