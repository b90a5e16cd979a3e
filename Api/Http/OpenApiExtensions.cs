namespace GovSg.Api.Http;

public static class OpenApiExtensions
{
    /// <summary>Documents the error envelope for each status an endpoint can answer with.</summary>
    public static RouteHandlerBuilder ProducesError(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var statusCode in statusCodes)
        {
            builder.Produces<ErrorBody>(statusCode);
        }

        return builder;
    }
}
