using System.Net;
using System.Net.Sockets;

namespace GovSg.Callbacks;

/// <summary>
/// Where callbacks may go (SPEC §11.1): never to a private, loopback, link-local, CGNAT, unique-local, unspecified or
/// multicast address, IPv4-mapped forms included; loopback only when the local-run setting allows it. The Api applies
/// the rules to a literal address when a URL is set, the Dispatcher to the address each delivery actually connected to.
/// </summary>
internal static class CallbackAddressRules
{
    public const int MaxUrlLength = 2_048;

    public static bool IsAllowed(IPAddress address, bool allowLoopback)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return allowLoopback;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => IsPublicV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => IsPublicV6(address),
            _ => false,
        };
    }

    /// <summary>Checks a callback URL being set; returns the refusal, or null when it may be stored.</summary>
    public static string? CheckUrl(string text, bool allowInsecureLoopback)
    {
        if (text.Length > MaxUrlLength)
        {
            return $"\"url\" length must be less than or equal to {MaxUrlLength} characters long";
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && !(allowInsecureLoopback && uri.Scheme == Uri.UriSchemeHttp)))
        {
            return allowInsecureLoopback
                ? "\"url\" must be a valid uri with a scheme matching the https?|http pattern"
                : "\"url\" must be a valid uri with a scheme matching the https pattern";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "\"url\" must not contain credentials";
        }

        var loopbackName = uri.IdnHost.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                           || uri.IdnHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
        var refused = uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            ? !IsAllowed(IPAddress.Parse(uri.IdnHost.Trim('[', ']')), allowInsecureLoopback)
            : loopbackName && !allowInsecureLoopback;
        return refused ? "\"url\" must not point to a private, loopback or link-local address" : null;
    }

    private static bool IsPublicV4(byte[] b) => !(
        b[0] is 0 or 10 or 127 or >= 224                 // this network, private, loopback, multicast and reserved
        || (b[0] == 100 && (b[1] & 0xC0) == 64)          // CGNAT 100.64/10
        || (b[0] == 169 && b[1] == 254)                  // link-local
        || (b[0] == 172 && (b[1] & 0xF0) == 16)          // private 172.16/12
        || (b[0] == 192 && b[1] == 168));                // private 192.168/16

    private static bool IsPublicV6(IPAddress address) => !(
        address.Equals(IPAddress.IPv6Any)
        || address.IsIPv6LinkLocal
        || address.IsIPv6SiteLocal
        || address.IsIPv6UniqueLocal
        || address.IsIPv6Multicast
        || address.IsIPv4MappedToIPv6);
}
