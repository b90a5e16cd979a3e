using System.Net;
using System.Net.Sockets;
using GovSg.Hosting;

namespace GovSg.Callbacks;

/// <summary>
/// Where callbacks may go (SPEC §11.1): never to a private, loopback, link-local, CGNAT, unique-local, unspecified,
/// multicast or other special-purpose address; loopback only when the local-run setting allows it. An IPv6 address that
/// carries an IPv4 one a network may route to (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that
/// IPv4 address, so <c>[64:ff9b::a9fe:a9fe]</c> is the metadata address it reaches; the rest of ::/16 (unspecified,
/// IPv4-compatible) is refused. The Api applies the rules to a literal address when a URL is set, the Dispatcher to the
/// address each delivery actually connected to.
/// </summary>
internal static class CallbackAddressRules
{
    public const int MaxUrlLength = 2_048;

    public static bool IsAllowed(IPAddress address, bool allowLoopback)
    {
        address = EmbeddedV4(address) ?? address;
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

        if (DisplayText.HasControlCharacters(text))
        {
            return "\"url\" must not contain control characters";
        }

        // Uri forgives surrounding spaces, which would then be stored; port 0 is no port anything listens on.
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || text.Any(char.IsWhiteSpace) || uri.Port == 0
            || (uri.Scheme != Uri.UriSchemeHttps && !(allowInsecureLoopback && uri.Scheme == Uri.UriSchemeHttp)))
        {
            return InvalidUri(allowInsecureLoopback);
        }

        if (uri.UserInfo.Length > 0)
        {
            return "\"url\" must not contain credentials";
        }

        // The host as a resolver reads it: a trailing dot names the same host, and a name that reads as an address is
        // that address.
        var host = uri.IdnHost.TrimEnd('.');
        var loopbackName = host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                           || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
        if (!IPAddress.TryParse(host.Trim('[', ']'), out var literal) && EndsInANumber(host))
        {
            // A URL parser reads such a name as an IPv4 address (WHATWG URL, "ends in a number"); this one is none.
            return InvalidUri(allowInsecureLoopback);
        }

        var refused = literal is not null
            ? !IsAllowed(literal, allowInsecureLoopback)
            : loopbackName && !allowInsecureLoopback;
        return refused ? "\"url\" must not point to a private, loopback or link-local address" : null;
    }

    private static string InvalidUri(bool allowInsecureLoopback) => allowInsecureLoopback
        ? "\"url\" must be a valid uri with a scheme matching the https?|http pattern"
        : "\"url\" must be a valid uri with a scheme matching the https pattern";

    /// <summary>The last label is decimal digits, or 0x and hex digits: the forms an IPv4 address's parts take.</summary>
    private static bool EndsInANumber(string host)
    {
        var last = host[(host.LastIndexOf('.') + 1)..];
        return last.Length > 0 && (char.IsAsciiDigit(last[0]) && last.All(char.IsAsciiDigit)
                                   || last.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && last[2..].All(char.IsAsciiHexDigit));
    }

    /// <summary>The IPv4 address an IPv6 one carries by a standard translation or tunnel, or null.</summary>
    private static IPAddress? EmbeddedV4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        var v4At = b switch
        {
            [0x20, 0x02, ..] => 2,                                                    // 6to4 2002:AABB:CCDD::/48
            [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..] => 12,               // NAT64 64:ff9b::/96
            _ => -1,
        };
        return v4At < 0 ? null : new IPAddress(b.Slice(v4At, 4));
    }

    private static bool IsPublicV4(byte[] b) => !(
        b[0] is 0 or 10 or 127 or >= 224                 // this network, private, loopback, multicast and reserved
        || (b[0] == 100 && (b[1] & 0xC0) == 64)          // CGNAT 100.64/10
        || (b[0] == 169 && b[1] == 254)                  // link-local
        || (b[0] == 172 && (b[1] & 0xF0) == 16)          // private 172.16/12
        || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)  // IETF protocol assignments 192.0.0/24, TEST-NET-1
        || (b[0] == 192 && b[1] == 88 && b[2] == 99)     // 6to4 relay anycast 192.88.99/24
        || (b[0] == 192 && b[1] == 168)                  // private 192.168/16
        || (b[0] == 198 && (b[1] & 0xFE) == 18)          // benchmarking 198.18/15
        || (b[0] == 198 && b[1] == 51 && b[2] == 100)    // TEST-NET-2
        || (b[0] == 203 && b[1] == 0 && b[2] == 113));   // TEST-NET-3

    private static bool IsPublicV6(IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return !(address.IsIPv6LinkLocal
                 || address.IsIPv6SiteLocal
                 || address.IsIPv6UniqueLocal
                 || address.IsIPv6Multicast
                 || b is [0, 0, ..]                                               // ::/16: unspecified, IPv4-compatible
                 || b is [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, ..]                 // local-use NAT64 64:ff9b:1::/48
                 || b is [0x01, 0x00, 0, 0, 0, 0, 0, 0, ..]                       // discard 100::/64
                 || b is [0x20, 0x01, 0x00 or 0x01, ..]                           // IETF protocol assignments 2001::/23:
                                                                                  // Teredo (to any IPv4), benchmarking, ORCHID
                 || b is [0x20, 0x01, 0x0d, 0xb8, ..]                             // documentation 2001:db8::/32
                 || b is [0x3f, 0xff, < 0x10, ..]                                 // documentation 3fff::/20
                 || b is [0x5f, 0x00, ..]);                                       // SRv6 segment identifiers 5f00::/16
    }
}
