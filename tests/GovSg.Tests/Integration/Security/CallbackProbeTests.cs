using System.Net;
using System.Net.Sockets;
using GovSg.Dispatcher.Callbacks;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// An agency's callback URL as a tool for mapping the network the Dispatcher sits in. The Api accepts any host name
/// when the URL is set (SPEC §11.1: "a host name that does not resolve when set is accepted"), so an agency (or whoever
/// holds its key) can name an internal host: a cluster service name (<c>postgres</c>, <c>rabbitmq</c>,
/// <c>kubernetes.default.svc</c>) or a name of its own that resolves to 10.x. Each delivery must refuse such an address
/// (SECURITY.md: "each delivery checks the address it actually connected to"), and the refusal must neither reach the
/// internal service nor tell the agency what it found: the reason of a failed attempt is what
/// <c>GET /v1/callback-settings</c> shows as <c>last_failure_reason</c>.
/// </summary>
public sealed class CallbackProbeTests
{
    private static readonly IOptions<CallbackOptions> Options = Microsoft.Extensions.Options.Options.Create(new CallbackOptions());

    [Test]
    public async Task Delivery_ToANameThatResolvesToARefusedAddress_NeverOpensAConnectionToIt()
    {
        // An internal service: anything listening on a refused address.
        using var service = new TcpListener(IPAddress.Loopback, 0);
        service.Start();
        var port = ((IPEndPoint)service.LocalEndpoint).Port;

        var result = await PostStrictAsync($"https://localhost:{port}/hook");
        var connected = await AcceptsWithinAsync(service, TimeSpan.FromSeconds(1));

        Assert.That(result.StatusCode, Is.Null, "the delivery is refused");
        Assert.That(connected, Is.False,
            "the Dispatcher completed a TCP connection to a loopback service before refusing its address: the check " +
            "must come before the connect (resolve, keep the allowed addresses, connect only to those)");
    }

    [Test]
    public async Task Refusal_TellsTheAgencyNeitherTheInternalAddressNorWhetherItsPortIsOpen()
    {
        using var service = new TcpListener(IPAddress.Loopback, 0);
        service.Start();
        var openPort = ((IPEndPoint)service.LocalEndpoint).Port;
        var closedPort = ClosedPort();

        var open = await PostStrictAsync($"https://localhost:{openPort}/hook");
        var closed = await PostStrictAsync($"https://localhost:{closedPort}/hook");
        // What the agency reads back: the policy stores the attempt's description as last_failure_reason.
        var policy = new CallbackRetryPolicy(Options, TimeProvider.System, new Random(1));
        var shown = policy.Decide(open, 1, DateTime.UtcNow) is DeliveryDecision.RetryAt retry ? retry.Reason : "";

        Assert.Multiple(() =>
        {
            Assert.That(shown, Does.Not.Contain("127.0.0.1"),
                "last_failure_reason shows the agency the internal address its host name resolved to");
            Assert.That(open.Description, Is.EqualTo(closed.Description),
                "an open and a closed port on a refused address read differently: a port scanner of the internal network");
        });
    }

    [Test]
    public async Task Refusal_TellsTheAgencyNothingANameThatDoesNotResolveWouldNot()
    {
        // In a cluster, an internal service name (postgres, vault.secrets.svc.cluster.local) resolves to a refused address
        // and any other name does not resolve at all. If the two read differently, a callback URL enumerates which internal
        // names exist: the map of the Dispatcher's network SECURITY.md says a callback URL cannot draw. localhost stands in
        // for an internal name; .invalid never resolves (RFC 6761).
        var port = ClosedPort();

        var internalName = await PostStrictAsync($"https://localhost:{port}/hook");
        var noSuchName = await PostStrictAsync($"https://no-such-service.invalid:{port}/hook");

        Assert.That((internalName.StatusCode, noSuchName.StatusCode), Is.EqualTo(((int?)null, (int?)null)), "both are failed attempts");
        Assert.That(internalName.Description, Is.EqualTo(noSuchName.Description),
            "last_failure_reason tells a name that resolves to an internal address from one that does not exist");
    }

    private static async Task<AttemptResult> PostStrictAsync(string url)
    {
        var claimed = new ClaimedEvent { Id = 1, UserId = 1, KeyType = "live", Data = "{}", CreatedAt = DateTime.UtcNow, Url = url };
        using var http = new HttpClient(CallbackClient.CreateHandler(allowLoopback: false));
        return await new CallbackClient(http, Options, TimeProvider.System).PostAsync(claimed, ["secret"], CancellationToken.None);
    }

    private static async Task<bool> AcceptsWithinAsync(TcpListener listener, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            using var accepted = await listener.AcceptTcpClientAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
