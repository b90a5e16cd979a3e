using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using GovSg.Contracts;
using GovSg.Dispatcher.Sending;
using GovSg.Tests.Integration;
using MassTransit;
using Microsoft.Extensions.Options;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace GovSg.Tests.Deploy;

/// <summary>
/// Static checks of the deployment files — the Dockerfiles, docker-compose.yml and the Kubernetes manifests under
/// deploy/k8s. No container engine or cluster exists where the suite runs, so these assertions are what catches a
/// wrong probe path, a selector that matches nothing, a literal secret or a setting no app reads before a rollout does.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private const string ApiDeployment = "govsg-api";
    private const string DispatcherDeployment = "govsg-dispatcher";
    private const string Namespace = "govsg";
    private const string SecretExample = "secret.example.yaml";
    private const int ContainerPort = 8080;

    /// <summary>A WhatsApp number's default throughput limit, shared by every Dispatcher (SPEC §5).</summary>
    private const int NumberMessagesPerSecond = 80;

    /// <summary>ASP.NET Core's default host shutdown timeout, which the Api keeps.</summary>
    private const int ApiShutdownSeconds = 30;

    /// <summary>
    /// The project's images, by repository name: the Dockerfile each is built from, and the project folder whose options
    /// the settings of a container running it must belong to.
    /// </summary>
    private static readonly Dictionary<string, (string Dockerfile, string Project)> ProjectImages = new()
    {
        ["govsg/api"] = ("Api/Dockerfile", "Api"),
        ["govsg/dispatcher"] = ("Dispatcher/Dockerfile", "Dispatcher"),
        ["govsg/whatsapp-simulator"] = ("tests/GovSg.WhatsAppSimulator/Dockerfile", "tests/GovSg.WhatsAppSimulator"),
    };

    /// <summary>What each app cannot start or work without (SPEC §9.1, README "Operating it").</summary>
    private static readonly Dictionary<string, string[]> RequiredSettings = new()
    {
        ["Api"] =
        [
            "ConnectionStrings__Postgres", "RabbitMq__Host", "RabbitMq__Username", "RabbitMq__Password", "Auth__KeyPepper",
            "Webhooks__VerifyToken", "Webhooks__AppSecrets__0",
        ],
        ["Dispatcher"] =
        [
            "ConnectionStrings__Postgres", "RabbitMq__Host", "RabbitMq__Username", "RabbitMq__Password",
            "WhatsApp__BaseUrl", "WhatsApp__AccessToken",
        ],
        ["tests/GovSg.WhatsAppSimulator"] =
            ["Simulator__AccessToken", "Simulator__AppSecret", "Simulator__WebhookUrl", "Simulator__TemplatesFile"],
    };

    /// <summary>The assembly each project folder builds, whose options types say which settings it reads.</summary>
    private static readonly Dictionary<string, Assembly> ProjectAssemblies = new()
    {
        ["Api"] = typeof(GovSg.Api.Program).Assembly,
        ["Dispatcher"] = typeof(GovSg.Dispatcher.Program).Assembly,
        ["tests/GovSg.WhatsAppSimulator"] = typeof(GovSg.WhatsAppSimulator.Program).Assembly,
    };

    private static readonly string[] Dockerfiles = [.. ProjectImages.Values.Select(image => image.Dockerfile)];

    private static readonly Dictionary<string, Dictionary<string, HashSet<string>>> OptionsCache = [];
    private static readonly Lazy<IReadOnlyList<Manifest>> Manifests = new(LoadManifests);
    private static readonly Lazy<Node> Compose = new(() => LoadYaml(RepoPath("docker-compose.yml")).Single());
    private static readonly Lazy<Node> Kustomization = new(() => LoadYaml(RepoPath("deploy", "k8s", "kustomization.yaml")).Single());

    // ---- Kubernetes: the set of manifests -------------------------------------------------------------------------

    [Test]
    public void Kustomization_Resources_ListEveryManifestButTheSecretExample()
    {
        var listed = Kustomization.Value["resources"].Items.Select(item => item.Text!).ToList();
        var present = Directory.EnumerateFiles(RepoPath("deploy", "k8s"), "*.y*ml")
            .Select(file => Path.GetFileName(file))
            .Where(name => name is not ("kustomization.yaml" or SecretExample))
            .ToList();

        Assert.That(listed, Is.Unique);
        Assert.That(listed.Where(name => !File.Exists(RepoPath("deploy", "k8s", name))), Is.Empty, "listed but missing");
        Assert.That(listed, Is.EquivalentTo(present), "every manifest is applied, and only the secret example is left out");
        Assert.That(listed, Does.Not.Contain(SecretExample));
    }

    [Test]
    public void Manifests_WhenNamespaced_AreInTheGovSgNamespace()
    {
        Assert.That(Kustomization.Value["namespace"].Text, Is.EqualTo(Namespace));
        Assert.That(Manifests.Value.Where(m => m.Kind == "Namespace").Select(m => m.Name), Is.EqualTo(new[] { Namespace }));
        Assert.That(Manifests.Value.Where(m => m.Kind != "Namespace" && m.Namespace != Namespace).Select(m => m.Id),
            Is.Empty);
    }

    [Test]
    public void DeploymentFiles_SayHowTheyAreChecked()
    {
        // No cluster exists here, so the Kubernetes files are only checked statically; the images and the compose file
        // really run in CI.
        var notes = Directory.EnumerateFiles(RepoPath("deploy", "k8s")).Select(file => (File: file, Note: "statically"))
            .Concat(Dockerfiles.Append("docker-compose.yml").Select(file => (File: RepoPath(file), Note: "tests/compose-smoke.sh")));

        Assert.That(notes.Where(n => !File.ReadAllText(n.File).Contains(n.Note, StringComparison.OrdinalIgnoreCase))
            .Select(n => $"{Path.GetRelativePath(TestSettings.RepositoryRoot, n.File)} does not mention {n.Note}"), Is.Empty);
    }

    // ---- Kubernetes: Deployments ----------------------------------------------------------------------------------

    [Test]
    public void Deployments_AreTheApiAndTheDispatcher()
    {
        Assert.That(Deployments().Select(d => d.Name), Is.EquivalentTo(new[] { ApiDeployment, DispatcherDeployment }));
    }

    [Test]
    public void Deployments_Probes_HitTheHealthEndpointsOnTheContainerPort()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var container = SingleContainer(deployment);
                foreach (var (probe, path) in new[]
                         {
                             ("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live"), ("startupProbe", "/health/live"),
                         })
                {
                    var httpGet = container[probe]["httpGet"];
                    Assert.That(httpGet["path"].Text, Is.EqualTo(path), $"{deployment.Id} {probe}");
                    Assert.That(ResolvePort(container, httpGet["port"]), Is.EqualTo(ContainerPort), $"{deployment.Id} {probe} port");
                }
            }
        }
    }

    [Test]
    public void Deployments_Containers_DeclareRequestsAndLimits()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var resources = SingleContainer(deployment)["resources"];
                foreach (var bound in new[] { "requests", "limits" })
                {
                    Assert.That(resources[bound]["cpu"].Exists, Is.True, $"{deployment.Id} {bound}.cpu");
                    Assert.That(resources[bound]["memory"].Exists, Is.True, $"{deployment.Id} {bound}.memory");
                }
            }
        }
    }

    [Test]
    public void Deployments_Pods_RunAsNonRootOnAReadOnlyRootWithoutCapabilities()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var workload in Deployments().Concat(Jobs()))
            {
                AssertRestrictedPod(workload);
            }
        }
    }

    [Test]
    public void Deployments_RollingUpdate_NeverRemovesAPodBeforeItsReplacementIsReady()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var strategy = deployment.Root["spec"]["strategy"];
                Assert.That(strategy["type"].Text, Is.EqualTo("RollingUpdate"), deployment.Id);
                Assert.That(strategy["rollingUpdate"]["maxUnavailable"].Text, Is.AnyOf("0", "0%"), deployment.Id);
                Assert.That(strategy["rollingUpdate"]["maxSurge"].Text, Is.EqualTo("25%"), deployment.Id);
            }
        }
    }

    [Test]
    public void Deployments_WhenAutoscaled_LeaveTheReplicaCountToTheAutoscaler()
    {
        var autoscaled = Manifests.Value.Where(m => m.Kind is "HorizontalPodAutoscaler" or "ScaledObject")
            .Select(m => m.Root["spec"]["scaleTargetRef"]["name"].Text).ToHashSet();

        Assert.That(autoscaled, Is.EquivalentTo(Deployments().Select(d => d.Name)), "every Deployment is autoscaled");
        Assert.That(Deployments().Where(d => d.Root["spec"]["replicas"].Exists).Select(d => d.Id), Is.Empty,
            "a fixed spec.replicas would reset the autoscaler on every apply");
    }

    [Test]
    public void Deployments_Selectors_MatchTheirOwnPodsOnly()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var selector = deployment.Root["spec"]["selector"]["matchLabels"];
                Assert.That(Matches(selector, deployment), Is.True, $"{deployment.Id} selector");
                Assert.That(Deployments().Where(other => other != deployment && Matches(selector, other)), Is.Empty,
                    $"{deployment.Id} selector also matches another Deployment's pods");
                foreach (var spread in deployment.PodSpec["topologySpreadConstraints"].Items)
                {
                    Assert.That(Matches(spread["labelSelector"]["matchLabels"], deployment), Is.True,
                        $"{deployment.Id} topology spread on {spread["topologyKey"].Text}");
                }
            }
        }
    }

    [Test]
    public void Deployments_EachHaveAPodDisruptionBudgetCoveringTheirPodsOnly()
    {
        var budgets = Manifests.Value.Where(m => m.Kind == "PodDisruptionBudget").ToList();

        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var covering = budgets.Where(b => Matches(b.Root["spec"]["selector"]["matchLabels"], deployment)).ToList();
                Assert.That(covering, Has.Count.EqualTo(1), $"{deployment.Id}: one PodDisruptionBudget");
                if (covering.Count != 1)
                {
                    continue;
                }

                var spec = covering[0].Root["spec"];
                Assert.That(spec["maxUnavailable"].Text == "1" || spec["minAvailable"].Exists, Is.True, $"{covering[0].Id} budget");
                Assert.That(Deployments().Where(other => other != deployment && Matches(spec["selector"]["matchLabels"], other)),
                    Is.Empty, $"{covering[0].Id} covers another Deployment's pods");
            }
        }
    }

    [Test]
    public void Workloads_Images_AreTheProjectsImagesPinnedByTheKustomization()
    {
        var images = Deployments().Concat(Jobs())
            .SelectMany(w => w.PodSpec["containers"].Items.Select(c => (w.Id, Image: c["image"].Text!)))
            .ToList();
        var pinned = Kustomization.Value["images"].Items.Select(image => image["name"].Text!).ToList();

        Assert.That(images.Where(i => !ProjectImages.ContainsKey(Repository(i.Image))), Is.Empty, "images from elsewhere");
        Assert.That(pinned.Where(name => !ProjectImages.ContainsKey(name)), Is.Empty, "kustomization pins a foreign image");
        Assert.That(images.Select(i => Repository(i.Image)).Distinct(), Is.SubsetOf(pinned), "every image is pinned per release");
        Assert.That(Deployments().ToDictionary(d => d.Name, d => Repository(SingleContainer(d)["image"].Text!)),
            Is.EqualTo(new Dictionary<string, string> { [ApiDeployment] = "govsg/api", [DispatcherDeployment] = "govsg/dispatcher" }));
    }

    [Test]
    public void ApiDeployment_WhenStopping_LeavesTheServiceBeforeDrainingRequests()
    {
        var api = Deployment(ApiDeployment);
        var preStop = SingleContainer(api)["lifecycle"]["preStop"];
        var sleep = preStop["sleep"]["seconds"].Number
                    ?? (preStop["exec"]["command"].Items.Select(i => i.Text).ToList() is ["sleep", var seconds]
                        ? int.Parse(seconds!, CultureInfo.InvariantCulture)
                        : 0);

        Assert.That(sleep, Is.GreaterThanOrEqualTo(3), "preStop sleep while the endpoints controller removes the pod");
        Assert.That(api.PodSpec["terminationGracePeriodSeconds"].Number, Is.GreaterThanOrEqualTo(sleep + ApiShutdownSeconds));
    }

    [Test]
    public void DispatcherDeployment_TerminationGrace_OutlastsItsShutdownAndAProviderCall()
    {
        var serviceDefaults = File.ReadAllText(RepoPath("Dispatcher", "Extensions", "ServiceDefaults.cs"));
        var shutdown = ShutdownTimeoutPattern().Match(serviceDefaults);
        Assert.That(shutdown.Success, Is.True, "Dispatcher/Extensions/ServiceDefaults.cs sets HostOptions.ShutdownTimeout");
        var providerTimeout = new GovSg.Dispatcher.Sending.WhatsAppOptions().Timeout;
        var shutdownSeconds = int.Parse(shutdown.Groups["seconds"].Value, CultureInfo.InvariantCulture);

        Assert.That(Deployment(DispatcherDeployment).PodSpec["terminationGracePeriodSeconds"].Number,
            Is.GreaterThanOrEqualTo(shutdownSeconds + (int)providerTimeout.TotalSeconds));
    }

    [Test]
    public void Deployments_Settings_AreOptionsTheirAppReadsAndCoverWhatItRequires()
    {
        var configMaps = Manifests.Value.Where(m => m.Kind == "ConfigMap").ToDictionary(m => m.Name);

        using (Assert.EnterMultipleScope())
        {
            foreach (var deployment in Deployments())
            {
                var container = SingleContainer(deployment);
                if (!ProjectImages.TryGetValue(Repository(container["image"].Text!), out var image))
                {
                    Assert.Fail($"{deployment.Id} runs {container["image"].Text}, not a project image");
                    continue;
                }

                var project = image.Project;
                var own = container["env"].Items.Select(e => e["name"].Text!).ToList();
                var shared = new List<string>();
                foreach (var configMap in container["envFrom"].Items.Select(source => source["configMapRef"]["name"].Text).OfType<string>())
                {
                    Assert.That(configMaps.ContainsKey(configMap), Is.True, $"{deployment.Id} envFrom {configMap}");
                    shared.AddRange(configMaps.TryGetValue(configMap, out var map) ? map.Root["data"].Keys : []);
                }

                // The shared ConfigMap serves both apps (ConfigMaps_HoldNoSecrets_AndOnlySettingsTheAppsRead checks it).
                Assert.That(own.Where(name => !IsOptionOf(project, name)), Is.Empty, $"{deployment.Id}: settings {project} does not read");
                Assert.That(RequiredSettings[project].Except(own.Concat(shared)), Is.Empty, $"{deployment.Id}: required settings missing");
            }
        }
    }

    [Test]
    public void Workloads_Secrets_ComeFromSecretKeyRefsTheSecretExampleDefines()
    {
        var example = LoadYaml(RepoPath("deploy", "k8s", SecretExample))
            .ToDictionary(secret => secret["metadata"]["name"].Text!, secret => secret["stringData"].Keys.ToHashSet());

        using (Assert.EnterMultipleScope())
        {
            foreach (var workload in Deployments().Concat(Jobs()))
            {
                foreach (var env in workload.PodSpec["containers"].Items.SelectMany(c => c["env"].Items))
                {
                    var name = env["name"].Text!;
                    var reference = env["valueFrom"]["secretKeyRef"];
                    if (IsSecretName(name))
                    {
                        Assert.That(env["value"].Exists, Is.False, $"{workload.Id}: {name} is a literal");
                        Assert.That(reference.Exists, Is.True, $"{workload.Id}: {name} comes from a Secret");
                    }

                    // An optional key is absent on purpose most of the time (the second webhook app secret, while rotating).
                    if (reference.Exists && reference["optional"].Text != "true")
                    {
                        var secret = reference["name"].Text!;
                        Assert.That(example.TryGetValue(secret, out var keys) && keys.Contains(reference["key"].Text!), Is.True,
                            $"{workload.Id}: {secret}/{reference["key"].Text} is in {SecretExample}");
                    }
                }
            }
        }
    }

    // ---- Kubernetes: settings and secrets -------------------------------------------------------------------------

    [Test]
    public void ConfigMaps_HoldNoSecrets_AndOnlySettingsTheAppsRead()
    {
        var keys = Manifests.Value.Where(m => m.Kind == "ConfigMap").SelectMany(m => m.Root["data"].Keys).ToList();

        Assert.That(keys, Is.Not.Empty);
        Assert.That(keys.Where(IsSecretName), Is.Empty);
        Assert.That(keys.Where(key => !IsOptionOf("Api", key) && !IsOptionOf("Dispatcher", key)), Is.Empty);
    }

    [Test]
    public void ConfigMap_PhoneNumberIds_NameOneNumber()
    {
        var data = Manifests.Value.Single(m => m.Kind == "ConfigMap").Root["data"];

        Assert.That(data["Webhooks__PhoneNumberId"].Text, Is.Not.Empty.And.EqualTo(data["WhatsApp__PhoneNumberId"].Text));
    }

    [Test]
    public void Secrets_WhenInTheRepository_HoldOnlyPlaceholders()
    {
        var applied = Manifests.Value.Where(m => m.Kind == "Secret" && m.File != SecretExample).Select(m => m.Id);
        var values = Manifests.Value.Where(m => m.Kind == "Secret")
            .SelectMany(m => m.Root["stringData"].Entries.Concat(m.Root["data"].Entries).Select(e => (m.Id, e.Key, e.Value.Text)))
            .ToList();

        Assert.That(applied, Is.Empty, "Secrets are created out of band, never applied from the repository");
        Assert.That(values, Is.Not.Empty);
        Assert.That(values.Where(v => v.Key != "username" && (v.Text is null || !v.Text.Contains("REPLACE_ME", StringComparison.Ordinal))),
            Is.Empty, "only a broker user's name, which rabbitmq-users.yaml also names, is not a placeholder");
        Assert.That(values.Where(v => v.Id.StartsWith("Secret/govsg-secrets ", StringComparison.Ordinal)
                && (!v.Key.Contains("__", StringComparison.Ordinal) || !(IsOptionOf("Api", v.Key) || IsOptionOf("Dispatcher", v.Key)))),
            Is.Empty, "a secret no app reads");
    }

    // ---- Kubernetes: Service, autoscalers, Job, broker ------------------------------------------------------------

    [Test]
    public void Services_Selectors_MatchOneDeploymentAndTargetItsContainerPort()
    {
        var services = Manifests.Value.Where(m => m.Kind == "Service").ToList();

        Assert.That(services.Select(s => s.Name), Is.EqualTo(new[] { ApiDeployment }));
        using (Assert.EnterMultipleScope())
        {
            foreach (var service in services)
            {
                var selected = Deployments().Where(d => Matches(service.Root["spec"]["selector"], d)).ToList();
                Assert.That(selected.Select(d => d.Name), Is.EqualTo(new[] { ApiDeployment }), $"{service.Id} selector");
                var port = service.Root["spec"]["ports"].Items.Single();
                Assert.That(port["port"].Number, Is.EqualTo(80), service.Id);
                Assert.That(selected.Count == 1 ? ResolvePort(SingleContainer(selected[0]), port["targetPort"]) : null,
                    Is.EqualTo(ContainerPort), $"{service.Id} targetPort");
            }
        }
    }

    [Test]
    public void Hpa_ScalesTheApiDeploymentOnCpuFromThreePods()
    {
        var hpa = Manifests.Value.Single(m => m.Kind == "HorizontalPodAutoscaler");
        var spec = hpa.Root["spec"];
        var metric = spec["metrics"].Items.Single();

        Assert.That(hpa.ApiVersion, Is.EqualTo("autoscaling/v2"));
        Assert.That((spec["scaleTargetRef"]["kind"].Text, spec["scaleTargetRef"]["name"].Text), Is.EqualTo(("Deployment", ApiDeployment)));
        Assert.That(spec["minReplicas"].Number, Is.GreaterThanOrEqualTo(3));
        Assert.That(spec["maxReplicas"].Number, Is.EqualTo(20));
        Assert.That((metric["resource"]["name"].Text, metric["resource"]["target"]["type"].Text), Is.EqualTo(("cpu", "Utilization")));
        Assert.That(spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"].Number, Is.GreaterThan(0));
    }

    [Test]
    public void ScaledObject_ScalesTheDispatcherOnTheSendMessageQueueLength()
    {
        var scaledObject = Manifests.Value.Single(m => m.Kind == "ScaledObject");
        var spec = scaledObject.Root["spec"];
        var trigger = spec["triggers"].Items.Single();
        IConsumerDefinition sendDefinition = new SendMessageConsumerDefinition(Options.Create(new WhatsAppOptions()));
        var sendQueue = sendDefinition.GetEndpointName(KebabCaseEndpointNameFormatter.Instance);
        var authentication = Manifests.Value.SingleOrDefault(m =>
            m.Kind == "TriggerAuthentication" && m.Name == trigger["authenticationRef"]["name"].Text);

        Assert.That(scaledObject.ApiVersion, Is.EqualTo("keda.sh/v1alpha1"));
        Assert.That(spec["scaleTargetRef"]["name"].Text, Is.EqualTo(DispatcherDeployment));
        Assert.That(trigger["type"].Text, Is.EqualTo("rabbitmq"));
        Assert.That(trigger["metadata"]["mode"].Text, Is.EqualTo("QueueLength"));
        Assert.That(trigger["metadata"]["queueName"].Text, Is.EqualTo("send-message").And.EqualTo(sendQueue),
            "the queue the Dispatcher's SendMessageConsumerDefinition consumes");
        Assert.That(trigger["metadata"]["host"].Exists, Is.False, "the AMQP URL carries credentials: TriggerAuthentication only");
        Assert.That(spec["minReplicaCount"].Number, Is.GreaterThanOrEqualTo(2), "statuses and the sweeper need a Dispatcher at all times");
        Assert.That(authentication, Is.Not.Null, "authenticationRef names a TriggerAuthentication");
        var host = authentication!.Root["spec"]["secretTargetRef"].Items.Single(r => r["parameter"].Text == "host");
        Assert.That((host["name"].Text, host["key"].Text), Is.EqualTo(("govsg-keda-rabbitmq", "host")));
    }

    /// <remarks>
    /// RabbitMQ 4.x drops a quorum-queue message after 20 failed deliveries, and a Dispatcher that goes away holding
    /// statuses it retries through a database outage fails their delivery; a status dropped is lost (SPEC §8).
    /// </remarks>
    [Test]
    public void BrokerPolicy_LiftsTheRedeliveryLimitOfTheStatusQueue_AndOnlyThere()
    {
        var policies = Manifests.Value.Where(m => m.Kind == "Policy").ToList();
        var spec = policies.Single().Root["spec"];

        Assert.That(policies.Single().ApiVersion, Is.EqualTo("rabbitmq.com/v1beta1"));
        Assert.That(spec["pattern"].Text, Is.EqualTo($"^{QueueNames.ProviderStatus}$"));
        Assert.That(Regex.IsMatch(QueueNames.SendMessage, spec["pattern"].Text!), Is.False);
        Assert.That(spec["definition"]["delivery-limit"].Number, Is.EqualTo(-1));
        Assert.That((spec["vhost"].Text, spec["rabbitmqClusterReference"]["name"].Text), Is.EqualTo(("/", "govsg-rabbitmq")));
    }

    /// <remarks>
    /// WhatsApp:MessagesPerSecond is the number's whole limit, paced as one schedule that every Dispatcher reserves its
    /// calls from (PaceSchedule, provider_pace), so it must be the number's limit however many pods an autoscaler or
    /// compose runs.
    /// </remarks>
    [Test]
    public void DispatcherRate_IsAtMostTheNumbersLimit_WhichTheDispatchersShare()
    {
        var kubernetes = Manifests.Value.Single(m => m.Kind == "ConfigMap").Root["data"]["WhatsApp__MessagesPerSecond"].Number;
        var compose = int.Parse(ComposeEnvironment(Compose.Value["services"]["dispatcher"])["WhatsApp__MessagesPerSecond"],
            CultureInfo.InvariantCulture);
        var simulatorLimit = int.Parse(ComposeEnvironment(Compose.Value["services"]["simulator"])["Simulator__MessagesPerSecond"],
            CultureInfo.InvariantCulture);
        var sharing = File.ReadAllText(RepoPath("Dispatcher", "Sending", "PaceStore.cs"));

        Assert.That(sharing, Does.Contain("WHERE phone_number_id = @number"), "the Dispatchers still pace the number as one");
        Assert.That(kubernetes, Is.LessThanOrEqualTo(NumberMessagesPerSecond), "Kubernetes: a default number's limit");
        Assert.That(compose, Is.LessThanOrEqualTo(simulatorLimit), "compose: the simulator's number's limit");
    }

    [Test]
    public void MigrationsJob_RunsMigrateFromTheApiImageAndCleansUp()
    {
        var job = Jobs().Single();
        var container = job.PodSpec["containers"].Items.Single();

        Assert.That(Repository(container["image"].Text!), Is.EqualTo("govsg/api"));
        Assert.That(container["args"].Items.Select(a => a.Text), Is.EqualTo(new[] { "migrate" }));
        Assert.That(container["command"].Exists, Is.False, "the image's entrypoint (dotnet GovSg.Api.dll) runs the verb");
        Assert.That(job.Root["spec"]["backoffLimit"].Number, Is.Not.Null);
        Assert.That(job.Root["spec"]["ttlSecondsAfterFinished"].Number, Is.GreaterThan(0));
        Assert.That(job.PodSpec["restartPolicy"].Text, Is.AnyOf("Never", "OnFailure"));
        Assert.That(container["env"].Items.Select(e => e["name"].Text), Does.Contain("ConnectionStrings__Postgres"));
    }

    [Test]
    public void RabbitmqCluster_HasThreeNodesOfASupportedVersionWithQuorumQueuesByDefault()
    {
        var cluster = Manifests.Value.Single(m => m.Kind == "RabbitmqCluster");
        var spec = cluster.Root["spec"];

        Assert.That(cluster.ApiVersion, Is.EqualTo("rabbitmq.com/v1beta1"));
        Assert.That(spec["replicas"].Number, Is.EqualTo(3));
        Assert.That(spec["image"].Text, Does.Match(@"^rabbitmq:(3\.13|4\.\d+)(\.\d+)?(-management)?$"));
        Assert.That(spec["rabbitmq"]["additionalConfig"].Text, Does.Match(@"(?m)^\s*default_queue_type\s*=\s*quorum\s*$"));
        Assert.That(Manifests.Value.Single(m => m.Kind == "ConfigMap").Root["data"]["RabbitMq__Host"].Text,
            Does.StartWith($"{cluster.Name}.{Namespace}.svc"), "the apps reach the operator's client Service");
    }

    [Test]
    public void RabbitmqCluster_LosesAtMostOneNodeToADrain_AndPrefersANodeEach()
    {
        // A drain or a cluster upgrade that evicted two of the three at once would leave the quorum queues without a
        // majority: sends would wait as UNSENT and webhooks be answered 503 until a node came back.
        var cluster = Manifests.Value.Single(m => m.Kind == "RabbitmqCluster");
        // The operator labels the cluster's pods with its name.
        var budgets = Manifests.Value.Where(m => m.Kind == "PodDisruptionBudget" && m.Root["spec"]["selector"]["matchLabels"].Entries
            .All(label => (label.Key, label.Value.Text) == ("app.kubernetes.io/name", cluster.Name))).ToList();
        var spread = cluster.Root["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"].Items
            .Select(term => term["podAffinityTerm"]).ToList();

        Assert.That(budgets.Select(b => b.Root["spec"]["maxUnavailable"].Text), Is.EqualTo(new[] { "1" }));
        Assert.That(spread.Select(term => (term["topologyKey"].Text, term["labelSelector"]["matchLabels"]["app.kubernetes.io/name"].Text)),
            Does.Contain(("kubernetes.io/hostname", cluster.Name)));
    }

    // ---- docker-compose.yml ---------------------------------------------------------------------------------------

    [Test]
    public void Compose_Services_BringUpTheWholeStack()
    {
        var services = Compose.Value["services"];

        Assert.That(services.Keys, Is.EquivalentTo(new[] { "postgres", "rabbitmq", "roles", "migrate", "seed", "api", "dispatcher", "simulator" }));
        Assert.That(services["postgres"]["image"].Text, Is.EqualTo("postgres:15"));
        Assert.That(services["postgres"]["healthcheck"]["test"].Items.Select(i => i.Text), Does.Contain("pg_isready"));
        Assert.That(services["rabbitmq"]["image"].Text, Is.EqualTo("rabbitmq:3.13-management"));
        Assert.That(services["rabbitmq"]["healthcheck"]["test"].Exists, Is.True);
        Assert.That(services["api"]["ports"].Items.Select(p => p.Text), Is.EqualTo(new[] { "127.0.0.1:${GOVSG_API_PORT:-8080}:8080" }));
        Assert.That(services["simulator"]["ports"].Items.Select(p => p.Text), Is.EqualTo(new[] { "127.0.0.1:${GOVSG_SIMULATOR_PORT:-8090}:8080" }));
        Assert.That(services["dispatcher"]["deploy"]["replicas"].Number, Is.EqualTo(2));
    }

    [Test]
    public void Compose_Builds_UseTheRepositoryRootAndEachImagesDockerfile()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, service) in Compose.Value["services"].Entries.Where(s => s.Value["build"].Exists))
            {
                var image = Repository(service["image"].Text!);
                Assert.That(ProjectImages.ContainsKey(image), Is.True, $"{name}: {image} is a project image");
                Assert.That(service["build"]["context"].Text, Is.EqualTo("."), $"{name}: the repository root, so ../Contracts resolves");
                Assert.That(service["build"]["dockerfile"].Text, Is.EqualTo(ProjectImages.GetValueOrDefault(image).Dockerfile), name);
            }
        }
    }

    [Test]
    public void Compose_Migrate_RunsMigrateFromTheApiImageOncePostgresIsHealthy()
    {
        var migrate = Compose.Value["services"]["migrate"];

        Assert.That(Repository(migrate["image"].Text!), Is.EqualTo("govsg/api"));
        Assert.That(migrate["command"].Items.Select(c => c.Text), Is.EqualTo(new[] { "migrate" }));
        Assert.That(migrate["depends_on"]["postgres"]["condition"].Text, Is.EqualTo("service_healthy"));
    }

    [Test]
    public void Compose_Seed_CreatesTheDemoUserTemplatesGrantsAndAKey()
    {
        var seed = Compose.Value["services"]["seed"];
        var script = string.Join('\n', seed["command"].Items.Select(c => c.Text));
        var templates = seed["volumes"].Items.Select(v => v.Text!.Split(':'))
            .Single(v => v[0].EndsWith("templates.json", StringComparison.Ordinal));

        Assert.That(Repository(seed["image"].Text!), Is.EqualTo("govsg/api"));
        Assert.That(seed["depends_on"]["migrate"]["condition"].Text, Is.EqualTo("service_completed_successfully"));
        Assert.That(script, Does.Contain("admin user upsert").And.Contain("admin template import").And.Contain("admin template grant")
            .And.Contain("admin key create"));
        Assert.That(script, Does.Contain($"--file {templates[1]}"), "imports the mounted file");
        Assert.That(File.Exists(RepoPath(templates[0])), Is.True, $"{templates[0]} exists");
    }

    [Test]
    public void Compose_AppServices_StartAfterMigrationsAndProbeTheirHealthEndpoints()
    {
        var services = Compose.Value["services"];

        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, path) in new[] { ("api", "/health/ready"), ("dispatcher", "/health/ready"), ("simulator", "/health") })
            {
                var probe = string.Join(' ', services[name]["healthcheck"]["test"].Items.Select(i => i.Text));
                Assert.That(probe, Does.Contain($"GET {path} ").And.Contain($"/{ContainerPort}"), $"{name} healthcheck");
            }

            foreach (var name in new[] { "api", "dispatcher" })
            {
                Assert.That(services[name]["depends_on"]["migrate"]["condition"].Text, Is.EqualTo("service_completed_successfully"), name);
                Assert.That(services[name]["depends_on"]["rabbitmq"]["condition"].Text, Is.EqualTo("service_healthy"), name);
            }
        }
    }

    [Test]
    public void Compose_Services_SetOnlySettingsTheirAppReadsAndWhatItRequires()
    {
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, service) in Compose.Value["services"].Entries.Where(s => s.Value["build"].Exists))
            {
                if (!ProjectImages.TryGetValue(Repository(service["image"].Text!), out var image))
                {
                    Assert.Fail($"{name} builds {service["image"].Text}, not a project image");
                    continue;
                }

                var project = image.Project;
                var settings = ComposeEnvironment(service).Keys.ToList();
                var required = name switch
                {
                    "migrate" => ["ConnectionStrings__Postgres"],
                    "seed" => ["ConnectionStrings__Postgres", "Auth__KeyPepper"],
                    _ => RequiredSettings[project],
                };

                Assert.That(settings.Where(setting => !IsOptionOf(project, setting)), Is.Empty,
                    $"{name}: settings {project} does not read");
                Assert.That(required.Except(settings), Is.Empty, $"{name}: required settings missing");
            }
        }
    }

    [Test]
    public void Compose_Secrets_ComeOnlyFromRequiredVariablesOfTheEnvFile()
    {
        var secrets = Compose.Value["services"].Entries
            .SelectMany(service => ComposeEnvironment(service.Value).Select(e => (Service: service.Key, e.Key, e.Value)))
            .Where(setting => IsSecretName(setting.Key))
            .ToList();

        Assert.That(secrets.Select(s => s.Key), Does.Contain("ConnectionStrings__Postgres").And.Contain("Auth__KeyPepper")
            .And.Contain("WhatsApp__AccessToken").And.Contain("POSTGRES_PASSWORD"));
        Assert.That(secrets.Where(s => !(s.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                ? ConnectionStringPasswordPattern().IsMatch(s.Value)
                : RequiredVariablePattern().IsMatch(s.Value))).Select(s => $"{s.Service}: {s.Key}"),
            Is.Empty, "a secret must be ${NAME:?...} from .env, never a literal or a silent default");
    }

    [Test]
    public void Compose_SharedSecretsAndAddresses_AgreeBetweenServices()
    {
        var services = Compose.Value["services"];
        var api = ComposeEnvironment(services["api"]);
        var dispatcher = ComposeEnvironment(services["dispatcher"]);
        var simulator = ComposeEnvironment(services["simulator"]);

        Assert.That(dispatcher["WhatsApp__AccessToken"], Is.EqualTo(simulator["Simulator__AccessToken"]));
        Assert.That(api["Webhooks__AppSecrets__0"], Is.EqualTo(simulator["Simulator__AppSecret"]));
        Assert.That(ComposeEnvironment(services["seed"])["Auth__KeyPepper"], Is.EqualTo(api["Auth__KeyPepper"]),
            "keys are hashed with the Api's pepper");
        Assert.That(new[] { api["Webhooks__PhoneNumberId"], dispatcher["WhatsApp__PhoneNumberId"] },
            Is.All.EqualTo(simulator["Simulator__PhoneNumberId"]));
        Assert.That(dispatcher["WhatsApp__BaseUrl"], Is.EqualTo($"http://simulator:{ContainerPort}/"));
        Assert.That(simulator["Simulator__WebhookUrl"], Is.EqualTo($"http://api:{ContainerPort}/v1/callback/govsg"));
    }

    // ---- Dockerfiles ----------------------------------------------------------------------------------------------

    [TestCase("Api/Dockerfile", "Api/GovSg.Api.csproj")]
    [TestCase("Dispatcher/Dockerfile", "Dispatcher/GovSg.Dispatcher.csproj")]
    [TestCase("tests/GovSg.WhatsAppSimulator/Dockerfile", "tests/GovSg.WhatsAppSimulator/GovSg.WhatsAppSimulator.csproj")]
    public void Dockerfile_FinalStage_RunsTheProjectsDllAsNonRootOnPort8080(string dockerfile, string project)
    {
        var final = Stages(dockerfile)[^1];
        var environment = final.Where(i => i.Keyword == "ENV").SelectMany(i => ParseEnv(i.Arguments)).ToDictionary();
        var entrypoint = JsonSerializer.Deserialize<string[]>(final.Last(i => i.Keyword == "ENTRYPOINT").Arguments);
        var settings = RepoPath(Path.GetDirectoryName(project)!, "appsettings.json");
        using var appSettings = JsonDocument.Parse(File.ReadAllText(settings));
        var appSettingsBindUrls = appSettings.RootElement.EnumerateObject().Any(p => p.NameEquals("Urls"));

        Assert.That(final[0].Arguments, Does.StartWith("mcr.microsoft.com/dotnet/aspnet:10.0"));
        Assert.That(final.Last(i => i.Keyword == "USER").Arguments, Is.EqualTo("$APP_UID"));
        Assert.That(final.FindLastIndex(i => i.Keyword == "USER"), Is.GreaterThan(final.FindLastIndex(i => i.Keyword is "COPY" or "RUN")),
            "nothing runs as root after USER");
        Assert.That(entrypoint, Is.EqualTo(new[] { "dotnet", $"{AssemblyName(project)}.dll" }));
        Assert.That(environment.GetValueOrDefault("ASPNETCORE_URLS"), Is.EqualTo($"http://+:{ContainerPort}"));
        Assert.That(final.Single(i => i.Keyword == "EXPOSE").Arguments, Is.EqualTo($"{ContainerPort}"));
        Assert.That(appSettingsBindUrls ? environment.GetValueOrDefault("Urls") : $"http://+:{ContainerPort}",
            Is.EqualTo($"http://+:{ContainerPort}"),
            "appsettings.json's Urls outranks ASPNETCORE_URLS; only the Urls variable (environment) overrides it");
    }

    [TestCase("Api/Dockerfile", "Api/GovSg.Api.csproj")]
    [TestCase("Dispatcher/Dockerfile", "Dispatcher/GovSg.Dispatcher.csproj")]
    [TestCase("tests/GovSg.WhatsAppSimulator/Dockerfile", "tests/GovSg.WhatsAppSimulator/GovSg.WhatsAppSimulator.csproj")]
    public void Dockerfile_BuildStage_PublishesReleaseFromTheRepositoryRoot(string dockerfile, string project)
    {
        var stages = Stages(dockerfile);
        var sources = stages.SelectMany(stage => stage)
            .Where(i => i.Keyword == "COPY" && !i.Arguments.Contains("--from", StringComparison.Ordinal))
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where(argument => !argument.StartsWith("--", StringComparison.Ordinal)).SkipLast(1))
            .Select(source => source.TrimEnd('/'))
            .ToList();
        var referenced = ProjectReferences(project).Select(reference => Path.GetDirectoryName(reference)!.Replace('\\', '/')).ToList();

        Assert.That(stages, Has.Count.EqualTo(2), "build and final");
        Assert.That(stages[0][0].Arguments, Does.StartWith("mcr.microsoft.com/dotnet/sdk:10.0"));
        Assert.That(stages[0].Any(i => i.Keyword == "RUN" && PublishReleasePattern().IsMatch(i.Arguments)
                && i.Arguments.Contains(project, StringComparison.Ordinal)),
            Is.True, $"dotnet publish {project} -c Release");
        Assert.That(sources.Where(source => !File.Exists(RepoPath(source)) && !Directory.Exists(RepoPath(source))), Is.Empty,
            "COPY sources are paths from the repository root");
        Assert.That(referenced.Except(sources), Is.Empty, "every referenced project is copied into the build");
        Assert.That(stages.SelectMany(s => s).Where(i => i.Keyword is "ENV" or "ARG").SelectMany(i => ParseEnv(i.Arguments))
            .Where(e => IsSecretName(e.Key)), Is.Empty, "no secret is baked into an image");
    }

    [Test]
    public void DockerIgnore_KeepsBuildOutputLocalStateAndSecretsOutOfTheContext()
    {
        var patterns = File.ReadAllLines(RepoPath(".dockerignore"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Replace("**/", "", StringComparison.Ordinal).TrimEnd('/'))
            .ToHashSet();

        Assert.That(new[] { "bin", "obj", ".local", "TestResults", ".git", ".env" }, Is.SubsetOf(patterns));
    }

    // ---- Helpers --------------------------------------------------------------------------------------------------

    private static void AssertRestrictedPod(Manifest workload)
    {
        var pod = workload.PodSpec["securityContext"];
        Assert.That(pod["runAsNonRoot"].Text, Is.EqualTo("true"), $"{workload.Id} pod runAsNonRoot");
        Assert.That(pod["runAsUser"].Number, Is.Not.Null.And.Not.Zero, $"{workload.Id} pod runAsUser");
        Assert.That(pod["seccompProfile"]["type"].Text, Is.EqualTo("RuntimeDefault"), $"{workload.Id} seccomp");
        foreach (var container in workload.PodSpec["containers"].Items)
        {
            var security = container["securityContext"];
            Assert.That(security["allowPrivilegeEscalation"].Text, Is.EqualTo("false"), $"{workload.Id} allowPrivilegeEscalation");
            Assert.That(security["readOnlyRootFilesystem"].Text, Is.EqualTo("true"), $"{workload.Id} readOnlyRootFilesystem");
            Assert.That(security["capabilities"]["drop"].Items.Select(c => c.Text), Does.Contain("ALL"), $"{workload.Id} capabilities");
            Assert.That(security["runAsUser"].Text, Is.Not.EqualTo("0"), $"{workload.Id} container runAsUser");
        }
    }

    private static IEnumerable<Manifest> Deployments() => Manifests.Value.Where(m => m.Kind == "Deployment");

    private static IEnumerable<Manifest> Jobs() => Manifests.Value.Where(m => m.Kind == "Job");

    private static Manifest Deployment(string name) => Deployments().Single(d => d.Name == name);

    private static Node SingleContainer(Manifest workload)
    {
        var containers = workload.PodSpec["containers"].Items.ToList();
        Assert.That(containers, Has.Count.EqualTo(1), $"{workload.Id} has one container");
        return containers[0];
    }

    /// <summary>A probe's or Service's port, by number or by the container port's name.</summary>
    private static int? ResolvePort(Node container, Node port) =>
        port.Number ?? container["ports"].Items.FirstOrDefault(p => p["name"].Text == port.Text)?["containerPort"].Number;

    /// <summary>True when every label of a selector is on the Deployment's pods.</summary>
    private static bool Matches(Node selector, Manifest deployment)
    {
        var labels = deployment.Root["spec"]["template"]["metadata"]["labels"];
        var entries = selector.Entries.ToList();
        return entries.Count > 0 && entries.All(e => labels[e.Key].Text == e.Value.Text);
    }

    /// <summary>An image's repository: the reference without its tag or digest.</summary>
    private static string Repository(string image)
    {
        var withoutDigest = image.Split('@')[0];
        var colon = withoutDigest.LastIndexOf(':');
        return colon > withoutDigest.LastIndexOf('/') ? withoutDigest[..colon] : withoutDigest;
    }

    private static bool IsSecretName(string name) => SecretNamePattern().IsMatch(name);

    /// <summary>
    /// True when <paramref name="name"/> is an environment variable the project binds (Section__Key, an index after an
    /// array key), or one the host itself reads (ASPNETCORE_*, DOTNET_*, OTEL_*, Urls, Logging__...).
    /// </summary>
    private static bool IsOptionOf(string project, string name)
    {
        var parts = name.Split("__");
        if (parts.Length == 1 || parts[0] is "Logging" or "Kestrel")
        {
            return true;
        }

        return parts.Length <= 3 && (parts.Length == 2 || int.TryParse(parts[2], CultureInfo.InvariantCulture, out _))
            && OptionsOf(project).TryGetValue(parts[0], out var keys) && keys.Contains(parts[1]);
    }

    /// <summary>
    /// The options a project binds: each of its types with a <c>SectionName</c> constant, and that type's properties
    /// (options classes sharing a section, such as the connection strings, are merged).
    /// </summary>
    private static Dictionary<string, HashSet<string>> OptionsOf(string project)
    {
        lock (OptionsCache)
        {
            if (OptionsCache.TryGetValue(project, out var cached))
            {
                return cached;
            }

            var sections = new Dictionary<string, HashSet<string>>();
            foreach (var type in ProjectAssemblies[project].GetTypes())
            {
                if (type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is not { IsLiteral: true } field)
                {
                    continue;
                }

                var section = (string)field.GetRawConstantValue()!;
                var keys = sections.TryGetValue(section, out var existing) ? existing : [];
                keys.UnionWith(type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(property => property.Name));
                sections[section] = keys;
            }

            Assert.That(sections, Is.Not.Empty, $"no options classes found in {project}");
            OptionsCache[project] = sections;
            return sections;
        }
    }

    private static string AssemblyName(string project) =>
        XDocument.Load(RepoPath(project)).Descendants("AssemblyName").FirstOrDefault()?.Value
        ?? Path.GetFileNameWithoutExtension(project);

    /// <summary>Repository-relative paths of the projects a project references, transitively.</summary>
    private static IEnumerable<string> ProjectReferences(string project)
    {
        var directory = Path.GetDirectoryName(RepoPath(project))!;
        foreach (var reference in XDocument.Load(RepoPath(project)).Descendants("ProjectReference"))
        {
            var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
            var path = Path.GetRelativePath(TestSettings.RepositoryRoot, Path.GetFullPath(Path.Combine(directory, include))).Replace('\\', '/');
            yield return path;
            foreach (var transitive in ProjectReferences(path))
            {
                yield return transitive;
            }
        }
    }

    private sealed record Instruction(string Keyword, string Arguments);

    /// <summary>
    /// A Dockerfile's instructions, continuation lines joined and comments dropped, split into stages. The build
    /// arguments declared before the first FROM (the base images) are replaced in FROM by their defaults, the bases a
    /// plain `docker build` uses.
    /// </summary>
    private static List<List<Instruction>> Stages(string dockerfile)
    {
        var stages = new List<List<Instruction>>();
        var baseArguments = new Dictionary<string, string>();
        var logical = "";
        foreach (var line in File.ReadAllLines(RepoPath(dockerfile)).Select(l => l.Trim()).Where(l => !l.StartsWith('#')))
        {
            logical += line.EndsWith('\\') ? line[..^1] + " " : line;
            if (line.EndsWith('\\') || logical.Length == 0)
            {
                continue;
            }

            var parts = logical.Split(' ', 2, StringSplitOptions.TrimEntries);
            var arguments = WhitespacePattern().Replace(parts.ElementAtOrDefault(1) ?? "", " ");
            var instruction = new Instruction(parts[0].ToUpperInvariant(), arguments);
            logical = "";
            if (instruction.Keyword == "ARG" && stages.Count == 0)
            {
                baseArguments[ParseEnv(arguments).Single().Key] = ParseEnv(arguments).Single().Value;
                continue;
            }

            if (instruction.Keyword == "FROM")
            {
                instruction = instruction with
                {
                    Arguments = BuildArgumentPattern().Replace(arguments, reference => baseArguments[reference.Groups["name"].Value]),
                };
                stages.Add([]);
            }

            Assert.That(stages, Is.Not.Empty, $"{dockerfile} starts with FROM");
            stages[^1].Add(instruction);
        }

        return stages;
    }

    /// <summary>The pairs of an ENV or ARG instruction (KEY=value ..., or the legacy KEY value).</summary>
    private static IEnumerable<KeyValuePair<string, string>> ParseEnv(string arguments) =>
        arguments.Contains('=', StringComparison.Ordinal)
            ? arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=', 2))
                .Select(pair => KeyValuePair.Create(pair[0], pair.ElementAtOrDefault(1) ?? ""))
            : [KeyValuePair.Create(arguments.Split(' ', 2)[0], arguments.Split(' ', 2).ElementAtOrDefault(1) ?? "")];

    /// <summary>A compose service's environment, as a map or a list of KEY=value.</summary>
    private static Dictionary<string, string> ComposeEnvironment(Node service)
    {
        var environment = service["environment"];
        return environment.Items.Any()
            ? environment.Items.Select(item => item.Text!.Split('=', 2))
                .ToDictionary(pair => pair[0], pair => pair.ElementAtOrDefault(1) ?? "")
            : environment.Entries.ToDictionary(e => e.Key, e => e.Value.Text ?? "");
    }

    private static string RepoPath(params string[] parts) => Path.Combine([TestSettings.RepositoryRoot, .. parts]);

    private static List<Manifest> LoadManifests() =>
    [
        .. Directory.EnumerateFiles(RepoPath("deploy", "k8s"), "*.y*ml", SearchOption.AllDirectories)
            .Where(file => Path.GetFileName(file) != "kustomization.yaml")
            .SelectMany(file => LoadYaml(file)
                .Select(document => new Manifest(Path.GetRelativePath(RepoPath("deploy", "k8s"), file), document))),
    ];

    /// <summary>Every document of a YAML file (anchors and merge keys resolved), empty documents dropped.</summary>
    private static List<Node> LoadYaml(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var parser = new MergingParser(new Parser(reader));
        var deserializer = new DeserializerBuilder().Build();
        var documents = new List<Node>();
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize<object?>(parser);
            if (document is not null)
            {
                documents.Add(new Node(document));
            }
        }

        return documents;
    }

    private sealed record Manifest(string File, Node Root)
    {
        public string ApiVersion => Root["apiVersion"].Text ?? "";

        public string Kind => Root["kind"].Text ?? "";

        public string Name => Root["metadata"]["name"].Text ?? "";

        public string? Namespace => Root["metadata"]["namespace"].Text;

        public string Id => $"{Kind}/{Name} ({File})";

        /// <summary>The pod spec of a Deployment or Job.</summary>
        public Node PodSpec => Root["spec"]["template"]["spec"];
    }

    /// <summary>A read-only view of a deserialized YAML value; a missing key or index gives an empty node.</summary>
    private sealed class Node(object? value)
    {
        private static readonly Node Missing = new(null);

        public Node this[string key] =>
            value is IDictionary<object, object> map && map.TryGetValue(key, out var child) ? new Node(child) : Missing;

        public bool Exists => value is not null;

        public string? Text => value as string;

        public int? Number => int.TryParse(Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : null;

        public IEnumerable<Node> Items => value is IList<object> list ? list.Select(item => new Node(item)) : [];

        public IEnumerable<KeyValuePair<string, Node>> Entries =>
            value is IDictionary<object, object> map ? map.Select(e => KeyValuePair.Create((string)e.Key, new Node(e.Value))) : [];

        public IEnumerable<string> Keys => Entries.Select(e => e.Key);
    }

    [GeneratedRegex(@"(?i)pass|pepper|secret|token|connectionstrings")]
    private static partial Regex SecretNamePattern();

    [GeneratedRegex(@"\$\{(?<name>\w+)\}")]
    private static partial Regex BuildArgumentPattern();

    [GeneratedRegex(@"^\$\{\w+:\?[^}]+\}$")]
    private static partial Regex RequiredVariablePattern();

    [GeneratedRegex(@"Password=\$\{\w+:\?[^}]+\};")]
    private static partial Regex ConnectionStringPasswordPattern();

    [GeneratedRegex(@"ShutdownTimeout\s*=\s*TimeSpan\.FromSeconds\((?<seconds>\d+)\)")]
    private static partial Regex ShutdownTimeoutPattern();

    [GeneratedRegex(@"\bdotnet\s+publish\b.*\s-c\s+Release\b")]
    private static partial Regex PublishReleasePattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespacePattern();
}
