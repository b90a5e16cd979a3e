namespace GovSg.Tests.Deploy;

/// <summary>
/// The NetworkPolicy against what the code accepts and what the README tells an operator
/// to do. A route the policy denies fails only in a cluster, as connection timeouts, which no other test here catches.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    [Test]
    public void NetworkPolicy_LetsTheDispatcherReachEveryCallbackUrlTheApiAccepts()
    {
        // SPEC §11.1 asks for an https URL; the Api stores one on any port, and the Dispatcher POSTs every status event
        // there. An egress of 443 only would time its deliveries out for 24 h, then drop them (an outside review found it).
        const string url = "https://hooks.agency.gov.sg:8443/govsg/status";
        var rules = typeof(GovSg.Api.Program).Assembly.GetType("GovSg.Callbacks.CallbackAddressRules", throwOnError: true)!;
        var refusal = (string?)rules.GetMethod("CheckUrl")!.Invoke(null, [url, false]);

        Assert.That(refusal, Is.Null, "the Api stores the URL");
        var egress = PolicyFor(DispatcherDeployment)!.Root["spec"]["egress"].Items.ToList();
        Assert.That(egress.Any(rule => ReachesOutsideTheCluster(rule) && (AnyTcpPort(rule) || Ports(rule).Contains(8443))), Is.True,
            $"no egress rule of the Dispatcher's policy opens port 8443 (ports opened: {string.Join(", ", egress.SelectMany(Ports))})");
        var anyPort = egress.Single(AnyTcpPort)["to"].Items.Single()["ipBlock"];
        Assert.That(anyPort["except"].Items.Select(range => range.Text),
            Is.SupersetOf(new[] { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10" }),
            "the ranges a delivery refuses anyway are not opened on every port");
    }

    [TestCase(ApiDeployment)]
    [TestCase(DispatcherDeployment)]
    public void NetworkPolicy_LetsTheServicesReachTheManagedBrokerTheReadmeDescribes(string workload)
    {
        // deploy/k8s/README.md: "To use a broker run elsewhere instead (a managed RabbitMQ), drop rabbitmq-cluster.yaml
        // from the kustomization and point RabbitMq__Host in configmap.yaml at it"; configmap.yaml: a broker that requires
        // TLS is "a managed RabbitMQ's amqps port, usually 5671". The policy opens AMQP only to the in-cluster pods on 5672.
        var readme = File.ReadAllText(RepoPath("deploy", "k8s", "README.md"));
        Assert.That(readme, Does.Contain("a managed RabbitMQ"), "the README describes the managed broker");
        var egress = PolicyFor(workload)!.Root["spec"]["egress"].Items.ToList();

        Assert.That(egress.Any(rule => ReachesOutsideTheCluster(rule) && Ports(rule).Contains(5671)), Is.True,
            $"{workload}: no egress to an address outside the cluster on the amqps port 5671");
    }

    /// <summary>True when an egress rule's destinations include addresses outside the cluster (an ipBlock, or no `to`).</summary>
    private static bool ReachesOutsideTheCluster(Node rule) =>
        !rule["to"].Exists || rule["to"].Items.Any(to => to["ipBlock"].Exists);
}
