using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Records every host name this process resolves, every HTTP request it starts and every socket it connects, from the
/// runtime's own networking events, so a test notices a connection nobody configured. The simulator (the provider) is
/// on loopback; PostgreSQL and RabbitMQ are wherever the test containers publish their ports (loopback, or the Docker
/// bridge's gateway): those are the configured hosts, and anything else is unexpected.
/// </summary>
public sealed class OutboundConnectionMonitor(params string[] configuredHosts) : EventListener
{
    private static readonly string[] Sources = ["System.Net.Http", "System.Net.NameResolution", "System.Net.Sockets"];

    private readonly ConcurrentQueue<string> _targets = new();

    private readonly HashSet<string> _configured = [.. configuredHosts.SelectMany(host =>
        Dns.GetHostAddresses(host).Select(address => address.ToString()).Append(host))];

    public IReadOnlyList<string> Targets => [.. _targets];

    public IReadOnlyList<string> Unexpected => [.. _targets.Where(target => !IsLoopback(target) && !_configured.Contains(target))];

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (Sources.Contains(eventSource.Name))
        {
            EnableEvents(eventSource, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        var target = eventData.EventName switch
        {
            "RequestStart" => Payload(eventData, "host"),
            "ResolutionStart" => Payload(eventData, "hostNameOrAddress"),
            "ConnectStart" => Payload(eventData, "address") is { } address ? SocketAddressText(address) : null,
            _ => null,
        };
        if (target is not null)
        {
            _targets.Enqueue(target);
        }
    }

    private static string? Payload(EventWrittenEventArgs eventData, string name)
    {
        var index = eventData.PayloadNames?.IndexOf(name) ?? -1;
        return index >= 0 ? eventData.Payload?[index]?.ToString() : null;
    }

    private static bool IsLoopback(string target) =>
        target.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(target.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>
    /// The sockets event carries <c>SocketAddress.ToString()</c>, e.g. <c>InterNetwork:16:{0,80,127,0,0,1,...}</c>:
    /// the family, the size and the raw bytes (port first, then the address). Returns the IP address, or the raw text
    /// (which then counts as unexpected) when it is not an IP socket address.
    /// </summary>
    private static string SocketAddressText(string socketAddress)
    {
        var open = socketAddress.IndexOf('{', StringComparison.Ordinal);
        if (open < 0 || !socketAddress.EndsWith('}'))
        {
            return socketAddress;
        }

        var bytes = socketAddress[(open + 1)..^1].Split(',')
            .Select(b => byte.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        return socketAddress.StartsWith("InterNetworkV6:", StringComparison.Ordinal) && bytes.Length >= 22
            ? new IPAddress(bytes.AsSpan(6, 16)).ToString()
            : socketAddress.StartsWith("InterNetwork:", StringComparison.Ordinal) && bytes.Length >= 6
                ? new IPAddress(bytes.AsSpan(2, 4)).ToString()
                : socketAddress;
    }
}
