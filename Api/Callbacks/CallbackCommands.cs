using GovSg.Api.Admin;
using GovSg.Callbacks;

namespace GovSg.Api.Callbacks;

/// <summary>
/// The operator's <c>admin callback set|show</c> (SPEC §11.1): the same settings and rules as the agency routes, for a
/// user named by email.
/// </summary>
public sealed class CallbackCommands(CallbackSettingsStore store, AdminStore admin)
{
    /// <summary>Sets the URL (null turns callbacks off) and prints the settings, with the secret if this created it.</summary>
    public async Task SetAsync(string email, string? url, bool allowInsecureLoopback, DateTime now, CancellationToken token)
    {
        if (url is not null && CallbackAddressRules.CheckUrl(url, allowInsecureLoopback) is { } refusal)
        {
            throw new ArgumentException(refusal);
        }

        var (secret, settings) = await store.SetAsync(await FindUserAsync(email, token), url, now, token);
        Print(settings);
        if (secret is not null)
        {
            Console.WriteLine($"secret={secret}  (shown once)");
        }
    }

    public async Task ShowAsync(string email, CancellationToken token) =>
        Print(await store.GetAsync(await FindUserAsync(email, token), token));

    private static void Print(CallbackSettingsRow settings) =>
        Console.WriteLine($"url={settings.Url}  secret_last_five={settings.SecretLastFive}  pending={settings.Pending}  " +
                          $"last_success={settings.LastSuccessAt:O}  last_failure={settings.LastFailureAt:O}  " +
                          $"last_failure_reason={settings.LastFailureReason}");

    private async Task<long> FindUserAsync(string email, CancellationToken token) =>
        await admin.FindUserIdAsync(email, token) ?? throw new ArgumentException($"no user {email}");
}
