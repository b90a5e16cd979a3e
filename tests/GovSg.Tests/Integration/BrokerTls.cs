using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GovSg.Tests.Integration;

/// <summary>
/// A TLS listener on the tests' broker, as a managed broker has: a certificate authority of the test run's own, which
/// no machine trusts, and a server certificate it signed for the name the tests reach the broker by.
/// </summary>
public sealed class BrokerTls
{
    public const int Port = 5671;

    private const string Directory = "/etc/rabbitmq/tls";

    private BrokerTls(string authorityPem, string certificatePem, string keyPem)
    {
        AuthorityPem = authorityPem;
        CertificatePem = certificatePem;
        KeyPem = keyPem;
    }

    public string AuthorityPem { get; }

    public string CertificatePem { get; }

    public string KeyPem { get; }

    /// <summary>RabbitMQ reads every file of conf.d after its main configuration (3.10 and the official images alike).</summary>
    public IEnumerable<(string Path, string Content)> ContainerFiles() =>
    [
        ($"{Directory}/ca.pem", AuthorityPem),
        ($"{Directory}/server.pem", CertificatePem),
        ($"{Directory}/server.key", KeyPem),
        ("/etc/rabbitmq/conf.d/90-tls.conf", $"""
            listeners.ssl.default = {Port}
            ssl_options.cacertfile = {Directory}/ca.pem
            ssl_options.certfile = {Directory}/server.pem
            ssl_options.keyfile = {Directory}/server.key
            ssl_options.verify = verify_none
            ssl_options.fail_if_no_peer_cert = false

            """),
    ];

    /// <summary>A new authority, and a server certificate it signed that names <paramref name="host"/> alone.</summary>
    public static BrokerTls Create(string host)
    {
        using var authorityKey = RSA.Create(2048);
        var authorityRequest = new CertificateRequest("CN=GovSg test broker CA", authorityKey, HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        using var authority = authorityRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=" + host, serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host, out var address))
        {
            names.AddIpAddress(address);
        }
        else
        {
            names.AddDnsName(host);
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(authority, now.AddMinutes(-5), now.AddDays(2),
            RandomNumberGenerator.GetBytes(16));
        return new BrokerTls(authority.ExportCertificatePem(), server.ExportCertificatePem(), serverKey.ExportPkcs8PrivateKeyPem());
    }
}
