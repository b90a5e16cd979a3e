using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GovSg.Tests.Integration;

/// <summary>
/// The OpenAPI document is checked the way agencies use it (SPEC §9.1): clients generated from the live document by
/// NSwag (C#) and openapi-typescript (TypeScript) must compile, and the C# one must work against the running Api.
/// The generators and the lint live in tests/openapi-clients (clients.sh restores them on first use).
/// </summary>
[NonParallelizable]
public sealed class GeneratedClientTests
{
    private static readonly string ClientsFolder = Path.Combine(TestSettings.RepositoryRoot, "tests", "openapi-clients");
    private static readonly string GeneratedFolder = Path.Combine(ClientsFolder, "generated");

    private Assembly _client = null!;

    [OneTimeSetUp]
    public async Task GenerateAsync()
    {
        using var http = TestEnvironment.Current.Client(null);
        Directory.CreateDirectory(GeneratedFolder);
        await File.WriteAllTextAsync(Path.Combine(GeneratedFolder, "openapi.json"), await http.GetStringAsync("openapi/v1.json"));
        await ClientsAsync("restore");
        var generated = Path.Combine(GeneratedFolder, "GovSgClient.cs");
        await ClientsAsync("csharp", generated);
        _client = Compile(generated, Path.Combine(ClientsFolder, "csharp", "ClientScenarios.cs"));
    }

    [Test]
    public async Task TypeScriptClient_CompilesInStrictMode() => await ClientsAsync("typescript");

    [Test]
    public async Task Document_PassesRedoclyRecommendedRules() => await ClientsAsync("lint");

    [TestCase("SendWithoutOptionalFields")]
    [TestCase("SendWithEveryFieldIdempotencyKeyAndPreferWait")]
    [TestCase("GetAndListWithFilters")]
    [TestCase("ListTemplates")]
    [TestCase("CreateKeyWithOnlyALabelThenRevokeIt")]
    [TestCase("CreateKeyWithOnlyALabelFromATestKey")]
    [TestCase("SetCallbackUrlThenTurnCallbacksOff")]
    [TestCase("NotFoundSurfacesAsTypedError")]
    [TestCase("BadRequestSurfacesAsTypedError")]
    public async Task CSharpClient_WorksAgainstTheApi(string scenario)
    {
        var user = await TestEnvironment.Current.CreateUserAsync();
        var (recipient, _) = TestRecipients.Next();
        var run = _client.GetType("GovSg.Generated.ClientScenarios", throwOnError: true)!.GetMethod(scenario)!;

        try
        {
            await (Task)run.Invoke(null, [user.Client, recipient])!;
        }
        catch (TargetInvocationException wrapped) when (wrapped.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(wrapped.InnerException);
        }
    }

    /// <summary>Compiles the sources against what this test process has loaded (the framework, NUnit, Newtonsoft.Json).</summary>
    private static Assembly Compile(params string[] files)
    {
        _ = typeof(Newtonsoft.Json.JsonConvert);
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var usings = CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.Linq; " +
                                                "global using System.Net.Http; global using System.Threading.Tasks;", parse);
        var compilation = CSharpCompilation.Create("GovSg.Generated", [usings, .. files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f))],
            references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.That(errors, Is.Empty, "the generated C# client compiles");
        return Assembly.Load(image.ToArray());
    }

    /// <summary>Runs tests/openapi-clients/clients.sh with the given verb; it must succeed.</summary>
    private static async Task ClientsAsync(params string[] arguments)
    {
        var (code, output) = await BashScript.RunAsync(Path.Combine(ClientsFolder, "clients.sh"), arguments);
        Assert.That(code, Is.Zero, $"clients.sh {string.Join(' ', arguments)}:\n{output}");
    }
}
