using System.Net;
using System.Reflection;

namespace GovSg.Tests.Unit;

/// <summary>
/// SPEC §11.1's refusal of callback URLs that point inside: the Api checks a literal address when a URL is set, the
/// Dispatcher the address each delivery connected to. The rules are compiled into both services (Api/Callbacks), and
/// the integration tests reach them only through the Api's PUT; this checks the edges of each range directly.
/// </summary>
public sealed class CallbackAddressRulesTests
{
    private const string Private = "\"url\" must not point to a private, loopback or link-local address";
    private const string HttpsOnly = "\"url\" must be a valid uri with a scheme matching the https pattern";
    private const string HttpOrHttps = "\"url\" must be a valid uri with a scheme matching the https?|http pattern";

    private static readonly Type Rules =
        typeof(GovSg.Api.Program).Assembly.GetType("GovSg.Callbacks.CallbackAddressRules", throwOnError: true)!;

    private static readonly Func<string, bool, string?> CheckUrl = Rules
        .GetMethod("CheckUrl", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<string, bool, string?>>();

    private static readonly Func<IPAddress, bool, bool> IsAllowed = Rules
        .GetMethod("IsAllowed", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<IPAddress, bool, bool>>();

    [TestCase("0.1.2.3")] // this network
    [TestCase("10.255.255.255")]
    [TestCase("100.64.0.0")] // CGNAT 100.64/10
    [TestCase("100.127.255.255")]
    [TestCase("127.0.0.1")]
    [TestCase("169.254.0.1")]
    [TestCase("172.16.0.1")] // private 172.16/12
    [TestCase("172.31.255.255")]
    [TestCase("192.0.0.8")]
    [TestCase("192.0.2.1")] // TEST-NET-1
    [TestCase("192.88.99.1")]
    [TestCase("192.168.1.1")]
    [TestCase("198.18.0.1")] // benchmarking 198.18/15
    [TestCase("198.19.255.255")]
    [TestCase("198.51.100.7")] // TEST-NET-2
    [TestCase("203.0.113.7")] // TEST-NET-3
    [TestCase("224.0.0.1")] // multicast
    [TestCase("255.255.255.255")]
    [TestCase("::")]
    [TestCase("::1")]
    [TestCase("::ffff:192.168.1.1")] // IPv4-mapped
    [TestCase("::a00:1")] // IPv4-compatible
    [TestCase("64:ff9b::a00:1")] // NAT64 to 10.0.0.1
    [TestCase("64:ff9b:1::1")] // local-use NAT64
    [TestCase("100::1")] // discard
    [TestCase("2001::1")] // Teredo
    [TestCase("2001:1ff::1")]
    [TestCase("2001:db8::1")] // documentation
    [TestCase("2002:c0a8:101::1")] // 6to4 of 192.168.1.1
    [TestCase("3fff:fff::1")]
    [TestCase("5f00::1")]
    [TestCase("fc00::1")] // unique-local
    [TestCase("fe80::1")] // link-local
    [TestCase("fec0::1")] // site-local
    [TestCase("ff02::1")] // multicast
    public void IsAllowed_RefusesAnAddressInsideOrReserved(string address) =>
        Assert.That(IsAllowed(IPAddress.Parse(address), false), Is.False);

    [TestCase("1.1.1.1")]
    [TestCase("9.255.255.255")]
    [TestCase("11.0.0.1")]
    [TestCase("100.63.255.255")] // just below CGNAT
    [TestCase("100.128.0.0")] // just above it
    [TestCase("169.253.1.1")]
    [TestCase("172.15.255.255")] // just below 172.16/12
    [TestCase("172.32.0.0")] // just above it
    [TestCase("192.0.1.1")]
    [TestCase("192.0.3.1")]
    [TestCase("192.88.98.1")]
    [TestCase("192.169.0.1")]
    [TestCase("198.17.255.255")]
    [TestCase("198.20.0.0")]
    [TestCase("198.51.101.1")]
    [TestCase("203.0.114.7")]
    [TestCase("223.255.255.255")] // the last unicast block
    [TestCase("2606:4700:4700::1111")]
    [TestCase("2001:200::1")] // beyond 2001::/23
    [TestCase("2001:db9::1")]
    [TestCase("3fff:1000::1")] // beyond 3fff::/20
    [TestCase("5f01::1")]
    [TestCase("64:ff9b::cb00:7207")] // NAT64 to a public address
    [TestCase("2002:cb00:7207::1")] // 6to4 of a public address
    [TestCase("::ffff:1.1.1.1")]
    [TestCase("8.88.99.1")] // shares one octet with each reserved range, and is in none
    [TestCase("8.51.100.1")]
    [TestCase("8.0.113.1")]
    [TestCase("32.2.10.1")] // an IPv4 address whose bytes start like 6to4's 2002::/16
    public void IsAllowed_AcceptsAPublicAddress(string address) =>
        Assert.That(IsAllowed(IPAddress.Parse(address), false), Is.True);

    [TestCase("127.0.0.1")]
    [TestCase("::1")]
    [TestCase("::ffff:127.0.0.1")]
    public void IsAllowed_Loopback_OnlyWithTheLocalRunSetting(string address)
    {
        Assert.That(IsAllowed(IPAddress.Parse(address), true), Is.True);
        Assert.That(IsAllowed(IPAddress.Parse(address), false), Is.False);
    }

    [Test]
    public void IsAllowed_TheLocalRunSettingAllowsLoopbackOnly() =>
        Assert.That(IsAllowed(IPAddress.Parse("10.0.0.1"), true), Is.False);

    [TestCase("https://hooks.agency.example/status", false, null)]
    [TestCase("https://hooks.agency.example:8443/status", false, null)]
    [TestCase("https://1.1.1.1/status", false, null)]
    [TestCase("https://[2606:4700:4700::1111]/status", false, null)]
    [TestCase("https://198.51.100.7/status", false, Private)]
    [TestCase("https://[fe80::1]/status", false, Private)]
    [TestCase("https://localhost/status", false, Private)]
    [TestCase("https://api.localhost./status", false, Private)]
    [TestCase("https://LOCALHOST/status", false, Private)]
    [TestCase("https://localhost/status", true, null)]
    [TestCase("http://localhost:5080/status", true, null)]
    [TestCase("http://127.0.0.1:5080/status", true, null)]
    [TestCase("http://hooks.agency.example/status", false, HttpsOnly)]
    [TestCase("ftp://hooks.agency.example/status", false, HttpsOnly)]
    [TestCase("ftp://hooks.agency.example/status", true, HttpOrHttps)]
    [TestCase("hooks.agency.example/status", false, HttpsOnly)]
    [TestCase("https://hooks.agency.example:0/status", false, HttpsOnly)]
    [TestCase("https://hooks.agency example/status", false, HttpsOnly)]
    [TestCase("https://user:pass@hooks.agency.example/status", false, "\"url\" must not contain credentials")]
    [TestCase("https://user@hooks.agency.example/status", false, "\"url\" must not contain credentials")]
    [TestCase("https://hooks.agency.1/status", false, HttpsOnly)] // a name that ends in a number reads as an address
    [TestCase("https://hooks.agency.0x1F/status", false, HttpsOnly)]
    [TestCase("https://hooks.agency.0x/status", false, HttpsOnly)]
    [TestCase("https://hooks.1agency/status", false, null)]
    [TestCase("https://hooks.agency.cafe/status", false, null)] // hex digits, but no 0x
    [TestCase(" https://hooks.agency.example/status", false, HttpsOnly)] // Uri forgives the space; it would be stored
    [TestCase("https://hooks.agency.0xg1/status", false, null)]
    public void CheckUrl_AcceptsOnlyAnHttpsUrlOutside(string url, bool allowInsecureLoopback, string? refusal) =>
        Assert.That(CheckUrl(url, allowInsecureLoopback), Is.EqualTo(refusal));

    [Test]
    public void CheckUrl_RefusesControlCharacters() =>
        // Not a test case argument: a name holding a control character is dropped from a filtered run.
        Assert.That(CheckUrl("https://hooks.agency.example/a\u0007b", false), Is.EqualTo("\"url\" must not contain control characters"));

    [Test]
    public void CheckUrl_RefusesAUrlLongerThan2048Characters()
    {
        const string start = "https://hooks.agency.example/";

        Assert.That(CheckUrl(start + new string('a', 2_048 - start.Length), false), Is.Null);
        Assert.That(CheckUrl(start + new string('a', 2_049 - start.Length), false),
            Is.EqualTo("\"url\" length must be less than or equal to 2048 characters long"));
    }
}
