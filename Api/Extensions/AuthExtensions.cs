using GovSg.Api.Auth;
using GovSg.Api.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace GovSg.Api.Extensions;

public static class AuthExtensions
{
    public static IHostApplicationBuilder AddApiKeyAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<ApiKeyVerifier>();
        builder.Services.AddSingleton<PepperCheck>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PepperCheck>());
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>
    /// Authentication and authorization, with SPEC §3's order for agency requests (authentication, then the transport
    /// checks, 405 among them) kept where routing answers by itself: under <c>/v1</c>, outside Meta's webhook route, a
    /// request that matched no endpoint (an unknown path, or a method its path does not take) is answered 401 or 403 for
    /// its key before 404 or 405.
    /// </summary>
    public static WebApplication UseApiKeyAuthentication(this WebApplication app)
    {
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            var metadata = context.GetEndpoint()?.Metadata;
            if (metadata?.GetMetadata<IAuthorizeData>() is null && metadata?.GetMetadata<IAllowAnonymous>() is null
                && context.Request.Path.StartsWithSegments("/v1") && !context.Request.Path.StartsWithSegments(WebhookEndpoints.Path)
                && context.User.Identity?.IsAuthenticated != true)
            {
                await context.ChallengeAsync();
                return;
            }

            await next(context);
        });
        app.UseAuthorization();
        return app;
    }
}
