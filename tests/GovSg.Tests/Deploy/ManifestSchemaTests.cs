using GovSg.Tests.Integration;

namespace GovSg.Tests.Deploy;

/// <summary>
/// SPEC §9.1: with no cluster here, the Kubernetes files are checked against their schemas (kubernetes-models and the
/// KEDA schemas from npm), by tests/manifests/check.sh (which restores them on first use). DeploymentManifestTests
/// checks what the schemas cannot: how the files fit together and with the services.
/// </summary>
[NonParallelizable]
public sealed class ManifestSchemaTests
{
    private static readonly string Manifests = Path.Combine(TestSettings.RepositoryRoot, "deploy", "k8s");

    [Test]
    public async Task EveryManifest_IsValidAgainstTheKubernetesAndKedaSchemas()
    {
        var (code, output) = await CheckAsync(Manifests);

        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("valid  api-deployment.yaml: Deployment/govsg-api")
            .And.Contain("valid  dispatcher-scaledobject.yaml: ScaledObject/govsg-dispatcher")
            .And.Contain("valid  secret.example.yaml: Secret/govsg-secrets"));
    }

    [Test]
    public async Task Check_OfAManifestWithAFieldOfTheWrongType_Fails()
    {
        var broken = Directory.CreateTempSubdirectory("govsg-k8s-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(Manifests))
            {
                File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
            }

            var deployment = Path.Combine(broken, "api-deployment.yaml");
            var text = await File.ReadAllTextAsync(deployment);
            Assert.That(text, Does.Contain("containerPort: 8080"));
            await File.WriteAllTextAsync(deployment, text.Replace("containerPort: 8080", "containerPort: eighty", StringComparison.Ordinal));

            var (code, output) = await CheckAsync(broken);

            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("INVALID  api-deployment.yaml: Deployment/govsg-api").And.Contain("containerPort must be integer"));
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }

    private static Task<(int Code, string Output)> CheckAsync(string folder) =>
        BashScript.RunAsync(Path.Combine(TestSettings.RepositoryRoot, "tests", "manifests", "check.sh"), folder);
}
