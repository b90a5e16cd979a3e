using System.ComponentModel.DataAnnotations;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GovSg.Hosting;

public sealed class RabbitMqOptions : IValidatableObject
{
    public const string SectionName = "RabbitMq";

    [Required] public string Host { get; set; } = "localhost";

    [Range(1, 65535)] public int Port { get; set; } = 5672;

    [Required] public string VirtualHost { get; set; } = "/";

    // No default: a service started without its broker user would otherwise log in as RabbitMQ's guest (SPEC §9.1).
    [Required(ErrorMessage = "RabbitMq:Username (env RabbitMq__Username) is required.")]
    public string Username { get; set; } = "";

    [Required(ErrorMessage = "RabbitMq:Password (env RabbitMq__Password) is required.")]
    public string Password { get; set; } = "";

    /// <summary>
    /// Connect with TLS (amqps), as managed brokers require; their TLS port is usually 5671. The broker's certificate
    /// must be valid for <see cref="Host"/> and chain to a root the machine trusts, or to <see cref="TlsCaCertificate"/>.
    /// </summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// A PEM file with the certificate authority (or authorities) that signed the broker's certificate, for a broker with
    /// a private CA; trusted for the broker's connections only. Empty: the machine's trusted roots.
    /// </summary>
    public string? TlsCaCertificate { get; set; }

    /// <summary>
    /// The Api only: how long a publish of send commands may wait for the broker's confirm before its commands wait for
    /// the broker's return instead; a batch send's answer waits for its publishes, and with the insert it stays within
    /// the 2 s SPEC §8 allows the broker to cost.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How the broker's certificate is checked: null for the platform's own check (the machine's roots and the host
    /// name); with <see cref="TlsCaCertificate"/>, the same check with that authority as the only trusted root.
    /// </summary>
    public RemoteCertificateValidationCallback? CertificateValidation()
    {
        if (string.IsNullOrEmpty(TlsCaCertificate))
        {
            return null;
        }

        var authorities = Authorities();
        return (_, certificate, chain, errors) =>
        {
            // A name mismatch or no certificate at all is never forgiven; only the chain is built again, on our root.
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null)
            {
                return false;
            }

            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(authorities);
            // A private CA seldom publishes revocation lists; the platform's check of public roots keeps its own policy.
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return custom.Build(presented);
        };
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(TlsCaCertificate))
        {
            yield break;
        }

        if (!UseTls)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(TlsCaCertificate)} is set but {SectionName}:{nameof(UseTls)} is not",
                [nameof(TlsCaCertificate)]);
        }
        else if (!File.Exists(TlsCaCertificate))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(TlsCaCertificate)}: no file at '{TlsCaCertificate}'",
                [nameof(TlsCaCertificate)]);
        }
        else if (ReadableAuthorities() is 0)
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(TlsCaCertificate)}: no PEM certificate could be read from '{TlsCaCertificate}'", [nameof(TlsCaCertificate)]);
        }
    }

    /// <summary>The certificates in <see cref="TlsCaCertificate"/> (validated at start to hold at least one).</summary>
    private X509Certificate2Collection Authorities()
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(TlsCaCertificate!);
        return authorities;
    }

    /// <summary>How many certificates the file holds; 0 when it cannot be read as PEM at all.</summary>
    private int ReadableAuthorities()
    {
        try
        {
            return Authorities().Count;
        }
        catch (Exception exception) when (exception is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
