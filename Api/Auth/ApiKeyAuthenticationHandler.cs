using System.Security.Claims;
using System.Text.Encodings.Web;
using GovSg.Api.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Auth;

/// <summary>Bearer API-key authentication; failures answer in the error envelope (401, or 403 when disabled).</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyVerifier verifier) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return AuthenticateResult.NoResult();
        }

        var (caller, error) = await verifier.VerifyAsync(header, Context.RequestAborted);
        if (caller is null)
        {
            return AuthenticateResult.Fail(new ApiKeyRejectedException(error!));
        }

        Context.Features.Set(caller);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, caller.UserId.ToString(
            System.Globalization.CultureInfo.InvariantCulture))], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var error = (result.Failure as ApiKeyRejectedException)?.Error
            ?? ApiError.Unauthenticated("Missing API key: send the header 'Authorization: Bearer <api key>'");
        Response.Headers.WWWAuthenticate = "Bearer";
        await error.ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiError.Unauthorized("Access denied").ExecuteAsync(Context);
}

public sealed class ApiKeyRejectedException(ApiError error) : Exception(error.Body.Message)
{
    public ApiError Error { get; } = error;
}
