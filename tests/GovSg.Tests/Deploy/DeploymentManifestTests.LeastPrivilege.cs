using System.Text.RegularExpressions;

namespace GovSg.Tests.Deploy;

/// <summary>
/// Least privilege in deploy/k8s (SECURITY.md): the namespace enforces the restricted Pod Security Standard, a
/// NetworkPolicy denies by default and allows each pod only what it needs, and each workload logs in to PostgreSQL and
/// RabbitMQ as its own role and user, with the permissions deploy/local/broker-users.sh gives everywhere else.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private const string RabbitMqPods = "govsg-rabbitmq";

    [Test]
    public void Namespace_EnforcesTheRestrictedPodSecurityStandard()
    {
        var labels = Manifests.Value.Single(m => m.Kind == "Namespace").Root["metadata"]["labels"];

        Assert.That(labels["pod-security.kubernetes.io/enforce"].Text, Is.EqualTo("restricted"));
    }

    [Test]
    public void RabbitmqCluster_Pods_MeetTheRestrictedStandard()
    {
        var pod = Manifests.Value.Single(m => m.Kind == "RabbitmqCluster").Root["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"];
        var containers = pod["containers"].Items.Concat(pod["initContainers"].Items).ToList();

        Assert.That(pod["securityContext"]["runAsNonRoot"].Text, Is.EqualTo("true"));
        Assert.That(pod["securityContext"]["seccompProfile"]["type"].Text, Is.EqualTo("RuntimeDefault"));
        Assert.That(containers.Select(c => c["name"].Text), Is.EquivalentTo(new[] { "rabbitmq", "setup-container" }),
            "the operator's container and init container");
        Assert.That(containers.Select(c => c["securityContext"]["allowPrivilegeEscalation"].Text), Is.All.EqualTo("false"));
        Assert.That(containers.Select(c => c["securityContext"]["capabilities"]["drop"].Items.Single().Text), Is.All.EqualTo("ALL"));
    }

    [Test]
    public void NetworkPolicies_DenyEverythingByDefault_AndGiveEveryPodAPolicyOfItsOwn()
    {
        var policies = NetworkPolicies().ToList();
        var denyAll = policies.Where(p => !p.Root["spec"]["podSelector"].Entries.Any()
            && !p.Root["spec"]["ingress"].Exists && !p.Root["spec"]["egress"].Exists).ToList();
        var workloads = Deployments().Concat(Jobs()).ToList();

        Assert.That(denyAll.SelectMany(p => p.Root["spec"]["policyTypes"].Items.Select(t => t.Text)),
            Is.EquivalentTo(new[] { "Ingress", "Egress" }), "one policy selecting every pod, allowing nothing");
        Assert.That(workloads.Where(w => !policies.Any(p => Matches(p.Root["spec"]["podSelector"]["matchLabels"], w))).Select(w => w.Id),
            Is.Empty, "every workload's pods have a policy");
        Assert.That(PolicyFor(RabbitMqPods), Is.Not.Null, "the broker's pods have a policy");
    }

    [Test]
    public void NetworkPolicies_ForEveryPod_AreAppliedWithTheSettings_BeforeAnyWorkload()
    {
        // deploy/k8s/README.md's first install applies the component "config", then "broker" and waits for the cluster,
        // then "migrations". Found by an outside review: the DNS policy had no component, so the broker's nodes, whose
        // own policy allows no DNS, could not resolve each other until the full apply that came after the wait.
        var everyPod = NetworkPolicies().Where(p => !p.Root["spec"]["podSelector"].Entries.Any()).ToList();

        Assert.That(everyPod.Select(p => p.Name), Is.EquivalentTo(new[] { "default-deny", "dns" }));
        Assert.That(everyPod.Select(p => p.Root["metadata"]["labels"]["app.kubernetes.io/component"].Text), Is.All.EqualTo("config"));
    }

    [Test]
    public void BrokerUsers_Secrets_CarryTheLabelTheTopologyOperatorWatches()
    {
        // Topology Operator releases that rotate a user's password when its Secret changes cache only Secrets with this
        // label, and their admission webhook refuses a User whose Secret lacks it: no broker user would be made.
        var example = LoadYaml(RepoPath("deploy", "k8s", SecretExample)).ToDictionary(secret => secret["metadata"]["name"].Text!);
        var imported = Manifests.Value.Where(m => m.Kind == "User")
            .Select(user => user.Root["spec"]["importCredentialsSecret"]["name"].Text!).ToList();

        Assert.That(imported, Has.Count.EqualTo(3));
        Assert.That(imported.Where(name => !example.TryGetValue(name, out var secret)
            || secret["metadata"]["labels"]["rabbitmq.com/topology-operator"].Text != "true"), Is.Empty);
        Assert.That(File.ReadAllText(RepoPath("deploy", "k8s", "README.md")),
            Does.Contain($"label secret {string.Join(' ', imported.Order())} rabbitmq.com/topology-operator=true"),
            "the first install's commands label them");
    }

    [Test]
    public void NetworkPolicies_LetOnlyTheApiAndTheBrokerBeReached()
    {
        var reachable = NetworkPolicies().Where(p => p.Root["spec"]["ingress"].Exists)
            .Select(p => p.Root["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].Text);
        var brokerClients = PolicyFor(RabbitMqPods)!.Root["spec"]["ingress"].Items
            .Where(rule => Ports(rule).Contains(5672))
            .SelectMany(rule => rule["from"].Items.Select(from => from["podSelector"]["matchLabels"]["app.kubernetes.io/name"].Text));

        Assert.That(reachable, Is.EquivalentTo(new[] { ApiDeployment, RabbitMqPods }));
        Assert.That(Ports(PolicyFor(ApiDeployment)!.Root["spec"]["ingress"].Items.Single()), Is.EqualTo(new[] { ContainerPort }));
        Assert.That(brokerClients, Is.EquivalentTo(new[] { ApiDeployment, DispatcherDeployment }));
    }

    [TestCase(ApiDeployment, new[] { 5432, 5672, 5671, 4317, 4318 })]
    [TestCase(DispatcherDeployment, new[] { 5432, 5672, 5671, 4317, 4318 })]
    [TestCase("govsg-migrate", new[] { 5432 })]
    public void NetworkPolicies_LetEachWorkloadOutOnlyToWhatItUses(string workload, int[] ports)
    {
        var rules = PolicyFor(workload)!.Root["spec"]["egress"].Items.ToList();
        var anyPort = rules.Where(AnyTcpPort).ToList();

        Assert.That(rules.Except(anyPort).SelectMany(Ports), Is.EquivalentTo(ports),
            "the Api never calls the provider; the migrations need only PostgreSQL");
        Assert.That(rules.Count(rule => !rule["ports"].Exists), Is.Zero, "every rule names its protocol");
        Assert.That(anyPort, Has.Count.EqualTo(workload == DispatcherDeployment ? 1 : 0),
            "only the Dispatcher calls out on any TCP port (the provider, callbacks)");
    }

    /// <summary>A rule that opens every port of TCP: a protocol with no port.</summary>
    private static bool AnyTcpPort(Node rule) =>
        rule["ports"].Items.Any(p => !p["port"].Exists && p["protocol"].Text == "TCP");

    [Test]
    public void BrokerUsers_AreTheLocalScriptsUsers_WithItsPermissions_AndNoAdministrator()
    {
        var script = File.ReadAllText(RepoPath("deploy", "local", "broker-users.sh"));
        var expected = BrokerUserPattern().Matches(script).ToDictionary(m => m.Groups["name"].Value,
            m => (Tags: m.Groups["tags"].Value.Trim('"'), Configure: m.Groups["configure"].Value, Write: m.Groups["write"].Value,
                Read: m.Groups["read"].Value));
        var users = Manifests.Value.Where(m => m.Kind == "User").ToDictionary(m => m.Name);
        var permissions = Manifests.Value.Where(m => m.Kind == "Permission")
            .ToDictionary(m => m.Root["spec"]["userReference"]["name"].Text!, m => m.Root["spec"]["permissions"]);

        Assert.That(expected.Keys, Is.EquivalentTo(new[] { "govsg-api", "govsg-dispatcher", "govsg-keda" }));
        Assert.That(users.Keys, Is.EquivalentTo(expected.Keys));
        Assert.That(permissions.Keys, Is.EquivalentTo(expected.Keys));
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, want) in expected)
            {
                var granted = permissions[name];
                Assert.That((granted["configure"].Text, granted["write"].Text, granted["read"].Text),
                    Is.EqualTo((want.Configure, want.Write, want.Read)), name);
                Assert.That(string.Join(' ', users[name].Root["spec"]["tags"].Items.Select(t => t.Text)), Is.EqualTo(want.Tags), name);
            }
        }

        Assert.That(expected["govsg-keda"], Is.EqualTo(("monitoring", "^$", "^$", "^$")), "KEDA may read queue lengths, nothing else");
    }

    [TestCase(ApiDeployment, "govsg-postgres-api", "govsg-rabbitmq-api")]
    [TestCase(DispatcherDeployment, "govsg-postgres-dispatcher", "govsg-rabbitmq-dispatcher")]
    public void Deployments_LogInAsTheirOwnDatabaseRoleAndBrokerUser(string deployment, string database, string broker)
    {
        var env = SingleContainer(Deployment(deployment))["env"].Items.ToDictionary(e => e["name"].Text!, e => e["valueFrom"]["secretKeyRef"]);
        var user = Manifests.Value.Single(m => m.Kind == "User" && m.Root["spec"]["importCredentialsSecret"]["name"].Text == broker);

        Assert.That(env["ConnectionStrings__Postgres"]["name"].Text, Is.EqualTo(database));
        Assert.That((env["RabbitMq__Username"]["name"].Text, env["RabbitMq__Username"]["key"].Text), Is.EqualTo((broker, "username")));
        Assert.That((env["RabbitMq__Password"]["name"].Text, env["RabbitMq__Password"]["key"].Text), Is.EqualTo((broker, "password")));
        Assert.That(ExampleSecret(broker)["username"].Text, Is.EqualTo(user.Name), "the Secret names the user it makes");
        Assert.That(ExampleSecret(database)["ConnectionStrings__Postgres"].Text,
            Does.Contain($"Username={(deployment == ApiDeployment ? "govsg_api" : "govsg_dispatcher")};"));
    }

    [Test]
    public void MigrationsJob_RunsAsTheOwnerRole_AndKedaReadsTheQueueAsTheMonitoringUser()
    {
        var migrate = Jobs().Single().PodSpec["containers"].Items.Single()["env"].Items
            .Single(e => e["name"].Text == "ConnectionStrings__Postgres")["valueFrom"]["secretKeyRef"]["name"].Text;
        var trigger = Manifests.Value.Single(m => m.Kind == "ScaledObject").Root["spec"]["triggers"].Items.Single()["metadata"];

        Assert.That(migrate, Is.EqualTo("govsg-postgres-owner"));
        Assert.That(trigger["protocol"].Text, Is.EqualTo("http"), "the management API, which the monitoring tag opens");
        Assert.That(ExampleSecret("govsg-keda-rabbitmq")["host"].Text, Does.StartWith("http://govsg-keda:"));
    }

    [Test]
    public void Compose_EachPart_ConnectsAsItsOwnRoleAndUser_MadeBeforeItStarts()
    {
        var services = Compose.Value["services"];
        var rabbitmq = string.Join(' ', services["rabbitmq"]["healthcheck"]["test"].Items.Select(i => i.Text));

        Assert.That(services["roles"]["volumes"].Items.Select(v => v.Text), Has.Some.StartsWith("./deploy/local/database-roles.sql:"));
        Assert.That(services["migrate"]["depends_on"]["roles"]["condition"].Text, Is.EqualTo("service_completed_successfully"));
        Assert.That(rabbitmq, Does.Contain("broker-users.sh"), "the broker reports healthy once the users are made");
        foreach (var (service, role, user) in new[]
                 {
                     ("migrate", "govsg", null), ("seed", "govsg_operator", null),
                     ("api", "govsg_api", "govsg-api"), ("dispatcher", "govsg_dispatcher", "govsg-dispatcher"),
                 })
        {
            var environment = ComposeEnvironment(services[service]);
            Assert.That(environment["ConnectionStrings__Postgres"], Does.Contain($"Username={role};"), service);
            Assert.That(environment.GetValueOrDefault("RabbitMq__Username"), Is.EqualTo(user), service);
        }
    }

    private static IEnumerable<Manifest> NetworkPolicies() => Manifests.Value.Where(m => m.Kind == "NetworkPolicy");

    private static Manifest? PolicyFor(string name) => NetworkPolicies()
        .SingleOrDefault(p => p.Root["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].Text == name);

    private static IEnumerable<int> Ports(Node rule) => rule["ports"].Items.Select(p => p["port"].Number ?? 0);

    private static Node ExampleSecret(string name) =>
        Manifests.Value.Single(m => m.File == SecretExample && m.Name == name).Root["stringData"];

    [GeneratedRegex(@"^\s*user (?<name>[\w-]+) ""\$\w+"" (?<tags>""[^""]*""|\w+)\s*\\?\s*'(?<configure>[^']*)'\s*\\?\s*'(?<write>[^']*)'\s*\\?\s*'(?<read>[^']*)'",
        RegexOptions.Multiline)]
    private static partial Regex BrokerUserPattern();
}
